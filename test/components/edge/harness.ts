/**
 * What the edge-sync tests share: a server (SQLite store + hub), a free endpoint, waiting on a condition;
 * deployment directories for a full server and an autonomous edge, and calls to the server's portal.
 */
import { FileSystem } from "@effect/platform"
import { Effect, HashMap, Layer, Logger } from "effect"
import * as path from "node:path"
import * as LocalBroker from "../../../src/components/broker/Local.js"
import * as SqliteStore from "../../../src/components/datastore/Sqlite.js"
import { Hub, type HubOptions } from "../../../src/components/edge/Hub.js"
import { hubLayer } from "../../../src/components/edge/onSqlite.js"
import { tokenHash } from "../../../src/components/portal/security.js"
import { hashToken } from "../../../src/components/registry/zmq/credentials.js"

/** The one edge the test servers know. */
export const edgeToken = "edge-token-1"

/**
 * The server: its SQLite store (for its execution log) and the hub on the same connection; log lines go to `logs`.
 * `hub` overrides hub options (e.g. CURVE).
 */
export const serverLayer = (filename: string, endpoint: string, logs: Array<string> = [], hub: Partial<HubOptions> = {}) =>
  Layer.merge(
    SqliteStore.layer({ filename }),
    hubLayer(
      { filename },
      { endpoint, credentials: { "edge-1": hashToken(edgeToken) }, heartbeatIntervalMs: 200, missedHeartbeats: 3, ...hub }
    )
  ).pipe(
    Layer.provideMerge(LocalBroker.layer),
    Layer.provide(
      Logger.replace(
        Logger.defaultLogger,
        Logger.make(({ message, annotations }) => {
          logs.push(`${String(message)} ${JSON.stringify(Object.fromEntries(HashMap.toEntries(annotations)))}`)
        })
      )
    )
  )

/** A free TCP endpoint: bind a hub on port 0 and stop it (the server is then down). */
export const freeEndpoint = (dir: string) =>
  Effect.scoped(
    Effect.flatMap(Layer.build(serverLayer(path.join(dir, "probe.db"), "tcp://127.0.0.1:0")), (context) =>
      Effect.map(Effect.provide(Hub, context), (hub) => hub.endpoint)
    )
  )

/** Re-runs `effect` every 20 ms until `done` holds (20 s at most); returns that value. */
export const waitUntil = <A, E, R>(effect: Effect.Effect<A, E, R>, done: (a: A) => boolean) =>
  Effect.gen(function* () {
    while (true) {
      const value = yield* effect
      if (done(value)) return value
      yield* Effect.sleep("20 millis")
    }
  }).pipe(Effect.timeoutFail({ duration: "20 seconds", onTimeout: () => new Error("condition not reached in 20 s") }))

/** A deployment directory with the meter handler and this config.yaml, removed with the scope. */
export const deploymentDir = (...configLines: ReadonlyArray<string>) =>
  Effect.gen(function* () {
    const fs = yield* FileSystem.FileSystem
    const dir = yield* fs.makeTempDirectoryScoped({ prefix: "sz-edge-" })
    yield* fs.writeFileString(path.join(dir, "meter.mjs"), meterHandler)
    yield* fs.writeFileString(path.join(dir, "config.yaml"), [...configLines, ""].join("\n"))
    return dir
  })

const meterHandler = `export default { id: "meter", methods: { read: ({ kwargs }) => kwargs.n ?? 0 } }`

export const adminToken = "sz_admin-token-for-tests"
export const viewerToken = "sz_viewer-token-for-tests"

/** A full-mode server: SQLite store, portal on a free port with an admin and a viewer token, the hub knowing pump-7 (token secret-7). */
export const hubServerConfig = [
  "mode: full",
  "store: { type: sqlite }",
  "portal:",
  "  host: 127.0.0.1",
  "  port: 0",
  "  tokens:",
  `    - { name: admin, role: admin, sha256: ${tokenHash(adminToken)} }`,
  `    - { name: viewer, role: viewer, sha256: ${tokenHash(viewerToken)} }`,
  "governor: { enabled: false }",
  "handlers: { remote: { enabled: false } }",
  "edges:",
  "  endpoint: tcp://127.0.0.1:0",
  "  heartbeat_interval: 300ms",
  "  missed_heartbeats: 2",
  "  credentials:",
  `    pump-7: { token: "${hashToken("secret-7")}" }`
]

/** The schedule the assignment tests' edge declares in its own config (the server must not touch it). */
export const ownSchedule = "  - { id: local, task: read, trigger: { type: interval, hours: 1 } }"

/** An autonomous edge (pump-7) with the meter handler, a task, these config schedules, syncing with `hubUrl`. */
export const edgeConfig = (hubUrl: string, ...schedules: ReadonlyArray<string>) => [
  "mode: autonomous",
  "store: { type: sqlite }",
  "handlers: { local: [meter.mjs] }",
  "tasks:",
  "  - { id: read, handler: meter, method: read }",
  ...(schedules.length === 0 ? [] : ["schedules:", ...schedules]),
  "upstream:",
  `  endpoint: ${hubUrl}`,
  "  edge_id: pump-7",
  "  token: secret-7",
  "  heartbeat_interval: 200ms",
  "  backoff_initial: 20ms",
  "  backoff_max: 200ms"
]

export interface Answer {
  readonly status: number
  // biome-ignore lint/suspicious/noExplicitAny: test assertions read the JSON freely
  readonly body: any
}

/** One HTTP request to the portal at `base` with a bearer token; the JSON answer (null for none). */
export const call = (base: string, token: string, method: string, route: string, body?: unknown) =>
  Effect.promise(async (): Promise<Answer> => {
    const response = await fetch(`${base}${route}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body !== undefined && { "content-type": "application/json" }) },
      ...(body !== undefined && { body: JSON.stringify(body) })
    })
    const text = await response.text()
    return { status: response.status, body: text === "" ? null : JSON.parse(text) }
  })
