/**
 * The handler registry of a deployment that serves remote handlers (full
 * mode): its local handlers plus the zmq registry configured by
 * `handlers.remote`, behind one HandlerRegistry, and the HandlerDirectory
 * that remembers remote handlers (in the sqlite store's file, the postgres
 * store's schema, or in memory with the memory store).
 *
 * ```ts
 * const handlers = DeploymentRegistry.layer(localHandlersLayer(deployment), {
 *   remote: config.handlers.remote, deploymentDir: deployment.root,
 *   sqlite: config.store.type === "sqlite" ? sqliteOptionsOf(config.store, deployment) : null,
 *   postgres: null // or the postgres store's options
 * })
 * ```
 */
import * as path from "node:path"
import { Context, Effect, Layer } from "effect"
import type { RemoteHandlersSection } from "../../config/sections/remoteHandlers.js"
import type { HandlerDirectory } from "../../services/HandlerDirectory.js"
import { HandlerRegistry } from "../../services/HandlerRegistry.js"
import type { PostgresOptions } from "../datastore/Postgres.js"
import type { PostgresRefused } from "../datastore/postgres/errors.js"
import type { SqliteOptions } from "../datastore/Sqlite.js"
import type { DatabaseRefused } from "../datastore/sqlite/errors.js"
import * as Combined from "./Combined.js"
import { LocalHandlers } from "./Local.js"
import { type KeyFileError, keysDir, readKey } from "./zmq/keys.js"
import * as MemoryDirectory from "./zmq/MemoryDirectory.js"
import { resolveOptions, ZmqRegistry, ZmqRegistryError, type ZmqRegistryOptions } from "./zmq/options.js"
import { make as makeZmqRegistry } from "./zmq/Server.js"
import * as SqliteDirectory from "./zmq/SqliteDirectory.js"

export interface DeploymentRegistryOptions {
  /** The decoded `handlers.remote` section. */
  readonly remote: RemoteHandlersSection
  /** Absolute deployment directory: CURVE keys are read from its `keys/`. */
  readonly deploymentDir: string
  /** The deployment's sqlite store (the directory joins its file and connection); null with another store. */
  readonly sqlite: SqliteOptions | null
  /** The deployment's postgres store (the directory joins its pool and schema); null with another store. */
  readonly postgres?: PostgresOptions | null
}

/** Where remote handlers are remembered: the deployment's SQL store, else memory. */
const directoryLayer = (
  options: DeploymentRegistryOptions
): Layer.Layer<HandlerDirectory, DatabaseRefused | PostgresRefused> => {
  if (options.sqlite !== null) return SqliteDirectory.layerOnStore(options.sqlite)
  const postgres = options.postgres ?? null
  if (postgres === null) return MemoryDirectory.layer
  // Loaded only for a postgres deployment: the driver is not needed otherwise.
  return Layer.unwrapEffect(
    Effect.map(Effect.promise(() => import("./zmq/PostgresDirectory.js")), (module) => module.layerOnStore(postgres))
  )
}

/**
 * The zmq registry's options from the section. With `curve` on, the server's
 * secret key is `keys/server.key`, and the handlers allowed to connect are
 * those with a configured public key (`curve_public_key`, else
 * `keys/<handler id>.pub`), each bound to its id; `allow_unauthenticated`
 * lets any key connect.
 */
export const zmqOptionsOf = (
  section: RemoteHandlersSection,
  deploymentDir: string
): Effect.Effect<ZmqRegistryOptions, KeyFileError | ZmqRegistryError> =>
  Effect.gen(function*() {
    const tokenless = Object.keys(section.credentials).filter((id) => section.credentials[id]!.token === undefined)
    if (!section.curve && tokenless.length > 0) {
      return yield* new ZmqRegistryError({
        reason: `handlers.remote.credentials of ${tokenless.map((id) => `'${id}'`).join(", ")} need a token (a CURVE key alone needs curve: true)`
      })
    }
    const credentials = Object.fromEntries(
      Object.entries(section.credentials).flatMap(([id, credential]) =>
        credential.token === undefined ? [] : [[id, credential.token]]
      )
    )
    const base: ZmqRegistryOptions = {
      endpoint: section.endpoint,
      credentials,
      allowUnauthenticated: section.allowUnauthenticated,
      ...(section.heartbeatInterval !== undefined && { heartbeatInterval: section.heartbeatInterval }),
      ...(section.missedHeartbeats !== undefined && { missedHeartbeats: section.missedHeartbeats }),
      ...(section.maxFrameBytes !== undefined && { maxFrameBytes: section.maxFrameBytes })
    }
    if (!section.curve) return base
    const dir = keysDir(deploymentDir)
    const secretKey = yield* readKey(path.join(dir, "server.key"))
    // Each configured id's key: admitted to the channel, and bound to the id (a register may prove it instead of a token).
    const curveKeys = Object.fromEntries(
      yield* Effect.forEach(Object.entries(section.credentials), ([id, credential]) =>
        Effect.map(
          credential.curvePublicKey === undefined ? readKey(path.join(dir, `${id}.pub`)) : Effect.succeed(credential.curvePublicKey),
          (key) => [id, key] as const
        ))
    )
    const allowedPublicKeys = section.allowUnauthenticated ? null : Object.values(curveKeys)
    return { ...base, curveKeys, curve: { secretKey, allowedPublicKeys } }
  })

/**
 * Local handlers (from `local`, which also provides LocalHandlers) and remote
 * ones as one HandlerRegistry; also ZmqRegistry (bound endpoint, stats) and
 * HandlerDirectory.
 */
export const layer = <E, R>(
  local: Layer.Layer<HandlerRegistry | LocalHandlers, E, R>,
  options: DeploymentRegistryOptions
): Layer.Layer<
  HandlerRegistry | LocalHandlers | ZmqRegistry | HandlerDirectory,
  E | ZmqRegistryError | KeyFileError | DatabaseRefused | PostgresRefused,
  R
> => {
  const directory = directoryLayer(options)
  const combined = Layer.scopedContext(
    Effect.gen(function*() {
      const localRegistry = yield* HandlerRegistry
      const localHandlers = yield* LocalHandlers
      const zmqOptions = yield* zmqOptionsOf(options.remote, options.deploymentDir)
      const remote = yield* makeZmqRegistry(resolveOptions(zmqOptions))
      return Context.make(HandlerRegistry, Combined.make(localRegistry, localHandlers.has, remote)).pipe(
        Context.add(LocalHandlers, localHandlers),
        Context.add(ZmqRegistry, { endpoint: remote.endpoint, stats: remote.stats })
      )
    })
  )
  return combined.pipe(Layer.provide(local), Layer.provideMerge(directory))
}
