/**
 * CURVE on the edge link, with real sockets and SQLite files: the hub admits
 * only the listed edge public keys (others are refused in the handshake and
 * logged, never reaching a hello), a listed key syncs, and a full + autonomous
 * deployment pair with `edges.curve` / `upstream.curve` syncs from config and
 * key files alone.
 */
import { FileSystem } from "@effect/platform"
import { NodeContext } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import { Chunk, Context, Effect, Layer, Stream } from "effect"
import * as path from "node:path"
import * as zmq from "zeromq"
import * as LocalBroker from "../../../src/components/broker/Local.js"
import * as SqliteStore from "../../../src/components/datastore/Sqlite.js"
import { Hub } from "../../../src/components/edge/Hub.js"
import { upstreamLayer } from "../../../src/components/edge/onSqlite.js"
import { Upstream, type UpstreamCurve } from "../../../src/components/edge/Upstream.js"
import { generateKeys } from "../../../src/components/registry/zmq/keys.js"
import { loadDeployment } from "../../../src/config/load.js"
import * as ComponentManager from "../../../src/modes/ComponentManager.js"
import { EventBroker } from "../../../src/services/EventBroker.js"
import { ExecutionLog } from "../../../src/services/ExecutionLog.js"
import { tempDirectory } from "../datastore/sqlite/tempDatabase.js"
import { deploymentDir, edgeConfig, edgeToken, freeEndpoint, hubServerConfig, serverLayer, waitUntil } from "./harness.js"

/** An edge (its SQLite store and the upstream) connecting with these CURVE keys. */
const curveEdge = (filename: string, endpoint: string, curve: UpstreamCurve) =>
  upstreamLayer(
    { filename },
    {
      endpoint, edgeId: "edge-1", token: edgeToken,
      heartbeatIntervalMs: 200, replyTimeoutMs: 1_000, backoffInitialMs: 20, backoffMaxMs: 200,
      batchSize: 30, pollIntervalMs: 20, trimIntervalMs: 1_000, outbox: { maxRows: null, maxAgeMs: null }, curve
    }
  ).pipe(Layer.provideMerge(SqliteStore.layer({ filename })), Layer.provideMerge(LocalBroker.layer))

describe("edge link with CURVE", () => {
  it.live("a key not on the allow-list is refused in the handshake and logged; the listed key syncs", () =>
    Effect.gen(function* () {
      const dir = yield* tempDirectory
      const endpoint = yield* freeEndpoint(dir)
      const serverKeys = zmq.curveKeyPair()
      const edgeKeys = zmq.curveKeyPair()
      const stranger = zmq.curveKeyPair()
      const logs: Array<string> = []
      const server = yield* Layer.build(
        serverLayer(path.join(dir, "server.db"), endpoint, logs, {
          curve: { secretKey: serverKeys.secretKey, allowedPublicKeys: [edgeKeys.publicKey] }
        })
      )
      const hub = Context.get(server, Hub)

      // the right token with an unlisted key: refused at every reconnect, before any hello
      yield* Effect.scoped(
        Effect.gen(function* () {
          const edge = yield* Layer.build(
            curveEdge(path.join(dir, "stranger.db"), endpoint, { serverPublicKey: serverKeys.publicKey, ...stranger })
          )
          const refusals = () =>
            logs.filter((line) => line.startsWith("edge connection refused: CURVE key not allowed") && line.includes(stranger.publicKey))
          yield* waitUntil(Effect.sync(refusals), (lines) => lines.length >= 2)
          // the edge names why (its first session may end before the handshake, as "no connection")
          const status = yield* waitUntil(Context.get(edge, Upstream).status, (s) => s.lastError?.includes("CURVE") === true)
          expect(status).toMatchObject({ connected: false, lastError: "the server refused this edge's CURVE key" })
          expect(yield* hub.edges).toEqual([])
        })
      )

      const edge = yield* Layer.build(
        curveEdge(path.join(dir, "edge.db"), endpoint, { serverPublicKey: serverKeys.publicKey, ...edgeKeys })
      )
      yield* waitUntil(Context.get(edge, Upstream).status, (status) => status.connected)
      const [node] = yield* waitUntil(hub.edges, (edges) => edges.length === 1)
      expect(node).toMatchObject({ edgeId: "edge-1", status: "online" })
      expect(logs.filter((line) => line.includes(edgeKeys.publicKey))).toEqual([])
    }).pipe(Effect.scoped)
  )

  it.live("full + autonomous deployments with `edges.curve` / `upstream.curve` sync from config and key files", () =>
    Effect.gen(function* () {
      const fs = yield* FileSystem.FileSystem
      // the operator makes the server's pair and the edge's in the server's keys directory (where
      // `edges.curve` looks for keys/pump-7.pub) and ships the edge its pair and the server's public key
      const serverDir = yield* deploymentDir(...hubServerConfig, "  curve: true")
      const keys = yield* generateKeys({ deploymentDir: serverDir, server: true, handlers: ["pump-7"] })
      const serverContext = yield* Layer.build(ComponentManager.layer(yield* loadDeployment(serverDir, { env: {} })))
      const hub = Context.unsafeGet(serverContext, Hub)
      // the wiring of both ends' broker: the edge records its scheduler's start, the server republishes it
      const edgeEvents = yield* Context.unsafeGet(serverContext, EventBroker).subscribe((event) => event._tag === "EdgeEvent")

      const edgeDir = yield* deploymentDir(
        ...edgeConfig(hub.endpoint, "  - { id: read-often, task: read, trigger: { type: interval, seconds: 1 } }"),
        "  curve: true",
        `  server_public_key: "${keys.server!.publicKey}"`
      )
      yield* fs.makeDirectory(path.join(edgeDir, "keys"))
      for (const file of ["pump-7.key", "pump-7.pub"]) yield* fs.copyFile(path.join(serverDir, "keys", file), path.join(edgeDir, "keys", file))
      yield* Layer.build(ComponentManager.layer(yield* loadDeployment(edgeDir, { env: {} })))

      const log = Context.unsafeGet(serverContext, ExecutionLog)
      const page = yield* waitUntil(log.query({ limit: 10 }), (page) => page.entries.length >= 1)
      expect(page.entries[0]).toMatchObject({ handler: "meter", method: "read", outcome: "success" })
      const [node] = yield* hub.edges
      expect(node).toMatchObject({ edgeId: "pump-7", status: "online" })
      const started = Chunk.unsafeHead(yield* Stream.runCollect(Stream.take(edgeEvents, 1)))
      expect(started).toMatchObject({ _tag: "EdgeEvent", edgeId: "pump-7", kind: "scheduler.started" })
    }).pipe(Effect.scoped, Effect.provide(NodeContext.layer))
  )

  it.scoped("bad CURVE config is refused naming the key, and a missing key file naming the file", () =>
    Effect.gen(function* () {
      // hubServerConfig ends with the credentials listing pump-7: list it with a malformed key instead
      const badKeyDir = yield* deploymentDir(
        ...hubServerConfig.slice(0, -2),
        "  curve: true",
        "  credentials:",
        `    pump-7: { token: "sha256:${"0".repeat(64)}", curve_public_key: too-short }`
      )
      const badKey = yield* Effect.flip(loadDeployment(badKeyDir, { env: {} }))
      expect(badKey.message).toContain("edges.credentials.pump-7.curve_public_key: expected a CURVE public key as 40 Z85 characters")

      // curve on, but `keys generate` never ran: the hub does not start, and says which file is missing
      const noKeys = yield* deploymentDir(...hubServerConfig, "  curve: true")
      const failed = yield* Effect.flip(Layer.build(ComponentManager.layer(yield* loadDeployment(noKeys, { env: {} }))))
      expect(String(failed.message)).toMatch(/edge hub.*keys\/server\.key/s)
    }).pipe(Effect.provide(NodeContext.layer))
  )
})
