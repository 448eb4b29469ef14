/**
 * CURVE on the edge link, with real sockets and SQLite files: the hub admits
 * only the listed edge public keys (others are refused in the handshake and
 * logged, never reaching a hello), a listed key syncs, and a full + autonomous
 * deployment pair with `edges.curve` / `upstream.curve` syncs from config and
 * key files alone. A key bound to an edge id stands in for its token when the
 * hello proves it; another admitted key, or a forged proof, is refused.
 */
import { FileSystem } from "@effect/platform"
import { NodeContext } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import { Chunk, Context, Effect, Either, Layer, Stream } from "effect"
import * as path from "node:path"
import * as zmq from "zeromq"
import * as LocalBroker from "../../../src/components/broker/Local.js"
import * as SqliteStore from "../../../src/components/datastore/Sqlite.js"
import { Hub, type HubOptions } from "../../../src/components/edge/Hub.js"
import { upstreamLayer } from "../../../src/components/edge/onSqlite.js"
import { decodeHubMessage, encodeEdgeMessage } from "../../../src/components/edge/protocol.js"
import { Upstream, type UpstreamCurve } from "../../../src/components/edge/Upstream.js"
import { generateKeys } from "../../../src/components/registry/zmq/keys.js"
import { loadDeployment } from "../../../src/config/load.js"
import { makeKeyProof, makeProof } from "../../../src/protocol/keyProof.js"
import * as ComponentManager from "../../../src/modes/ComponentManager.js"
import { EventBroker } from "../../../src/services/EventBroker.js"
import { ExecutionLog } from "../../../src/services/ExecutionLog.js"
import { tempDirectory } from "../datastore/sqlite/tempDatabase.js"
import { deploymentDir, edgeConfig, edgeToken, freeEndpoint, hubServerConfig, serverLayer, waitUntil } from "./harness.js"

/** An edge (its SQLite store and the upstream) connecting with these CURVE keys (and the token, unless null). */
const curveEdge = (filename: string, endpoint: string, curve: UpstreamCurve, token: string | null = edgeToken) =>
  upstreamLayer(
    { filename },
    {
      endpoint, edgeId: "edge-1", token,
      heartbeatIntervalMs: 200, replyTimeoutMs: 1_000, backoffInitialMs: 20, backoffMaxMs: 200,
      batchSize: 30, pollIntervalMs: 20, trimIntervalMs: 1_000, outbox: { maxRows: null, maxAgeMs: null }, curve
    }
  ).pipe(Layer.provideMerge(SqliteStore.layer({ filename })), Layer.provideMerge(LocalBroker.layer))

/** A hub with CURVE on a free endpoint (options from the key pairs: the server's, edge-1's, another's); its log lines. */
const curveServer = (hubOptions: (keys: Record<"server" | "edge" | "other", ReturnType<typeof zmq.curveKeyPair>>) => Partial<HubOptions>) =>
  Effect.gen(function* () {
    const dir = yield* tempDirectory
    const endpoint = yield* freeEndpoint(dir)
    const keys = { server: zmq.curveKeyPair(), edge: zmq.curveKeyPair(), other: zmq.curveKeyPair() }
    const logs: Array<string> = []
    const server = yield* Layer.build(serverLayer(path.join(dir, "server.db"), endpoint, logs, hubOptions(keys)))
    return { dir, endpoint, keys, logs, hub: Context.get(server, Hub) }
  })

describe("edge link with CURVE", () => {
  it.live("a key not on the allow-list is refused in the handshake and logged; the listed key syncs", () =>
    Effect.gen(function* () {
      const { dir, endpoint, keys, logs, hub } = yield* curveServer(({ server, edge }) => ({
        curve: { secretKey: server.secretKey, allowedPublicKeys: [edge.publicKey] }
      }))
      const { server: serverKeys, edge: edgeKeys, other: stranger } = keys

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

  it.live("a key bound to the edge id stands in for the token; another admitted key claiming the id is refused and logged", () =>
    Effect.gen(function* () {
      // no tokens at all: each edge id is tied to its key; both keys may connect
      const { dir, endpoint, keys, logs, hub } = yield* curveServer(({ server, edge, other }) => ({
        credentials: {},
        curve: {
          secretKey: server.secretKey,
          allowedPublicKeys: [edge.publicKey, other.publicKey],
          edgeKeys: { "edge-1": edge.publicKey, "edge-2": other.publicKey }
        }
      }))
      const { server: serverKeys, edge: edgeKeys, other: otherKeys } = keys

      // edge-2's key, admitted to the link, with a valid proof of itself, but claiming edge-1
      yield* Effect.scoped(
        Effect.gen(function* () {
          const edge = yield* Layer.build(
            curveEdge(path.join(dir, "impostor.db"), endpoint, { serverPublicKey: serverKeys.publicKey, ...otherKeys }, null)
          )
          const status = yield* waitUntil(Context.get(edge, Upstream).status, (s) => s.lastError?.includes("refused") === true)
          expect(status).toMatchObject({ connected: false, lastError: "refused by the server: unknown edge id or wrong key proof" })
          const refused = logs.filter((line) => line.startsWith("edge refused: unknown edge id or wrong key proof"))
          expect(refused.some((line) => line.includes('"edgeId":"edge-1"') && line.includes(otherKeys.publicKey))).toBe(true)
          expect(yield* hub.edges).toEqual([])
        })
      )

      const edge = yield* Layer.build(
        curveEdge(path.join(dir, "edge.db"), endpoint, { serverPublicKey: serverKeys.publicKey, ...edgeKeys }, null)
      )
      yield* waitUntil(Context.get(edge, Upstream).status, (status) => status.connected)
      const [node] = yield* waitUntil(hub.edges, (edges) => edges.length === 1)
      expect(node).toMatchObject({ edgeId: "edge-1", status: "online" })
    }).pipe(Effect.scoped)
  )

  it.live("a forged proof is refused: wrong secret, another label, or another key than the one sent", () =>
    Effect.gen(function* () {
      const { endpoint, keys, logs } = yield* curveServer(({ server, edge, other }) => ({
        credentials: {},
        curve: { secretKey: server.secretKey, allowedPublicKeys: [edge.publicKey, other.publicKey], edgeKeys: { "edge-1": edge.publicKey } }
      }))
      const { server: serverKeys, edge: edgeKeys, other: otherKeys } = keys
      // a raw DEALER holding edge-1's admitted key pair sends hellos by hand
      const dealer = yield* Effect.acquireRelease(
        Effect.sync(() => {
          const socket = new zmq.Dealer({
            linger: 0, curveServerKey: serverKeys.publicKey, curvePublicKey: edgeKeys.publicKey, curveSecretKey: edgeKeys.secretKey
          })
          socket.connect(endpoint)
          return socket
        }),
        (socket) => Effect.sync(() => socket.close())
      )
      const hello = (ref: number, credential: { readonly curveKey: string; readonly proof: string }) =>
        Effect.promise(async () => {
          await dealer.send(
            encodeEdgeMessage({
              _tag: "hello", ref, edgeId: "edge-1", ...credential, sentAt: Date.now(), backlog: 0, dropped: 0, applied: 0, rejected: []
            })
          )
          return decodeHubMessage(await dealer.receive())
        })
      const server = { serverPublicKey: serverKeys.publicKey }
      const forged = [
        // signed with another secret key, sent with the bound key
        makeProof({ ...server, secretKey: otherKeys.secretKey }, "sz-edge-hello|edge-1"),
        // the right key, but the handler register's label
        makeKeyProof({ ...server, secretKey: edgeKeys.secretKey }, "edge-1", "sz-edge-hello"),
        // the right key over another edge id
        makeProof({ ...server, secretKey: edgeKeys.secretKey }, "sz-edge-hello|edge-2")
      ]
      for (const [i, proof] of forged.entries()) {
        const answer = yield* hello(i + 1, { curveKey: edgeKeys.publicKey, proof: proof! })
        expect(answer).toEqual(Either.right({ _tag: "refused", ref: i + 1, reason: "unknown edge id or wrong key proof" }))
      }
      // a valid proof, but of a key other than the one the hello names
      const otherProof = makeProof({ ...server, secretKey: otherKeys.secretKey }, "sz-edge-hello|edge-1")!
      const mismatched = yield* hello(4, { curveKey: otherKeys.publicKey, proof: otherProof })
      expect(mismatched).toMatchObject(Either.right({ _tag: "refused" }))
      expect(logs.filter((line) => line.startsWith("edge refused: unknown edge id or wrong key proof"))).toHaveLength(4)
      // the real proof is welcomed on the same connection
      const real = makeProof({ ...server, secretKey: edgeKeys.secretKey }, "sz-edge-hello|edge-1")!
      const welcome = yield* hello(5, { curveKey: edgeKeys.publicKey, proof: real })
      expect(welcome).toMatchObject(Either.right({ _tag: "welcome", ref: 5 }))
    }).pipe(Effect.scoped)
  )

  it.live("full + autonomous deployments with `edges.curve` / `upstream.curve` sync from config and key files, no token", () =>
    Effect.gen(function* () {
      const fs = yield* FileSystem.FileSystem
      // the operator makes the server's pair and the edge's in the server's keys directory (where
      // `edges.curve` looks for keys/pump-7.pub) and ships the edge its pair and the server's public key
      // and neither end holds a token: pump-7's key, bound to its id, stands in for it
      const serverDir = yield* deploymentDir(...hubServerConfig.slice(0, -1), "    pump-7: {}", "  curve: true")
      const keys = yield* generateKeys({ deploymentDir: serverDir, server: true, handlers: ["pump-7"] })
      const serverContext = yield* Layer.build(ComponentManager.layer(yield* loadDeployment(serverDir, { env: {} })))
      const hub = Context.unsafeGet(serverContext, Hub)
      // the wiring of both ends' broker: the edge records its scheduler's start, the server republishes it
      const edgeEvents = yield* Context.unsafeGet(serverContext, EventBroker).subscribe((event) => event._tag === "EdgeEvent")

      const edgeDir = yield* deploymentDir(
        ...edgeConfig(hub.endpoint, "  - { id: read-often, task: read, trigger: { type: interval, seconds: 1 } }").filter(
          (line) => !line.includes("token:")
        ),
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

      // a tokenless edge needs curve on (its key stands in); without it, load names the missing key
      const tokenless = ["  credentials:", "    pump-7: {}"]
      const noCredential = yield* Effect.flip(loadDeployment(yield* deploymentDir(...hubServerConfig.slice(0, -2), ...tokenless), { env: {} }))
      expect(noCredential.message).toContain("edges.credentials.pump-7.token: missing")
      const keyOnly = yield* loadDeployment(yield* deploymentDir(...hubServerConfig.slice(0, -2), "  curve: true", ...tokenless), { env: {} })
      expect(keyOnly.config.edges.credentials["pump-7"]).toEqual({})
      const edgeNoToken = edgeConfig("tcp://127.0.0.1:4250").filter((line) => !line.includes("token:"))
      const upstreamNoToken = yield* Effect.flip(loadDeployment(yield* deploymentDir(...edgeNoToken), { env: {} }))
      expect(upstreamNoToken.message).toContain("upstream.token: missing")

      // curve on, but `keys generate` never ran: the hub does not start, and says which file is missing
      const noKeys = yield* deploymentDir(...hubServerConfig, "  curve: true")
      const failed = yield* Effect.flip(Layer.build(ComponentManager.layer(yield* loadDeployment(noKeys, { env: {} }))))
      expect(String(failed.message)).toMatch(/edge hub.*keys\/server\.key/s)
    }).pipe(Effect.provide(NodeContext.layer))
  )
})
