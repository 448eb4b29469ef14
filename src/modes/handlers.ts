/**
 * The deployment's HandlerRegistry: its local handlers, plus the ZeroMQ
 * registry remote handler processes connect to when `handlers.remote` is on
 * (`handlers.remote.enabled`, else the mode's default), which reports where
 * it listens as `zmq_router`.
 */
import type { FileSystem, Path } from "@effect/platform"
import { Effect, Layer } from "effect"
import * as DeploymentRegistry from "../components/registry/deploymentRegistry.js"
import type { LocalHandlers } from "../components/registry/Local.js"
import { ZmqRegistry } from "../components/registry/Zmq.js"
import type { ConfigError } from "../config/ConfigError.js"
import type { Deployment } from "../config/load.js"
import type { HandlerRegistry } from "../services/HandlerRegistry.js"
import { BoundAddresses, fromTcpEndpoint } from "./BoundAddresses.js"
import { component } from "./component.js"
import { localHandlersLayer } from "./localHandlers.js"
import type { ComponentFailed } from "./StartupError.js"
import { sqliteOptionsOf } from "./store.js"

/** Reports a bound ZeroMQ endpoint (ipc:// and inproc:// endpoints have no port and are not reported). */
export const reportEndpoint = (name: string, endpoint: string | null) =>
  Effect.gen(function* () {
    const address = endpoint === null ? undefined : fromTcpEndpoint(endpoint)
    if (address !== undefined) yield* (yield* BoundAddresses).report(name, address)
  })

const reportRouter = Layer.effectDiscard(
  Effect.flatMap(ZmqRegistry, (registry) => reportEndpoint("zmq_router", registry.endpoint))
)

export const handlersLayer = (
  deployment: Deployment,
  remoteByDefault: boolean
): Layer.Layer<
  HandlerRegistry | LocalHandlers,
  ConfigError | ComponentFailed,
  FileSystem.FileSystem | Path.Path | BoundAddresses
> => {
  const { config } = deployment
  const local = localHandlersLayer(deployment)
  if (!(config.handlers.remote.enabled ?? remoteByDefault)) return local
  const registry = component(
    "handlers (local + zmq)",
    DeploymentRegistry.layer(local, {
      remote: config.handlers.remote,
      deploymentDir: deployment.root,
      sqlite: config.store.type === "sqlite" ? sqliteOptionsOf(config.store, deployment) : null
    })
  )
  return Layer.provideMerge(reportRouter, registry)
}
