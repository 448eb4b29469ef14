/** What the edge-sync tests share: a server (SQLite store + hub), a free endpoint, waiting on a condition. */
import { Effect, HashMap, Layer, Logger } from "effect"
import * as path from "node:path"
import * as LocalBroker from "../../../src/components/broker/Local.js"
import * as SqliteStore from "../../../src/components/datastore/Sqlite.js"
import { Hub, type HubOptions } from "../../../src/components/edge/Hub.js"
import { hubLayer } from "../../../src/components/edge/onSqlite.js"
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
