/**
 * CURVE keys bound to handler ids: a handler process proves in its register
 * that it holds the key configured for the id (no token needed); a process
 * with another admitted key cannot take that id, nor can one that only knows
 * the public key.
 */
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { beforeAll, describe, expect, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import * as zmq from "zeromq"
import * as Zmq from "../../../../src/components/registry/Zmq.js"
import { keyProofMatches, makeKeyProof, z85Decode, z85Encode } from "../../../../src/protocol/keyProof.js"
import { HandlerRegistry } from "../../../../src/services/HandlerRegistry.js"
import { buildExamples, spawnHandler } from "../../../handler/processes.js"
import { job, task } from "./fixtures.js"

beforeAll(buildExamples, 300_000)

describe("key proofs", () => {
  it("a proof made with the handler's secret and the server's public key checks out on the server, for that id only", () => {
    const server = zmq.curveKeyPair()
    const handler = zmq.curveKeyPair()
    const other = zmq.curveKeyPair()
    expect(z85Encode(z85Decode(handler.publicKey)!)).toBe(handler.publicKey)
    expect(z85Decode("not z85 ~~~")).toBeUndefined()
    const proof = makeKeyProof({ secretKey: handler.secretKey, serverPublicKey: server.publicKey }, "billing", "b-1")!
    expect(keyProofMatches(server.secretKey, handler.publicKey, proof, "billing", "b-1")).toBe(true)
    expect(keyProofMatches(server.secretKey, handler.publicKey, proof, "billing", "b-2")).toBe(false)
    expect(keyProofMatches(server.secretKey, handler.publicKey, proof, "reports", "b-1")).toBe(false)
    expect(keyProofMatches(server.secretKey, other.publicKey, proof, "billing", "b-1")).toBe(false)
    // Knowing only public keys is not enough.
    const forged = makeKeyProof({ secretKey: other.secretKey, serverPublicKey: server.publicKey }, "billing", "b-1")!
    expect(keyProofMatches(server.secretKey, handler.publicKey, forged, "billing", "b-1")).toBe(false)
    expect(keyProofMatches(server.secretKey, handler.publicKey, "zz", "billing", "b-1")).toBe(false)
  })
})

describe("CURVE keys bound to handler ids", () => {
  it.scopedLive("a process holding the id's key registers without a token; one with another admitted key is rejected", () =>
    Effect.gen(function*() {
      const deploymentDir = fs.mkdtempSync(path.join(os.tmpdir(), "sz-keys-"))
      yield* Effect.addFinalizer(() => Effect.sync(() => fs.rmSync(deploymentDir, { recursive: true, force: true })))
      const keys = yield* Zmq.generateKeys({ deploymentDir, server: true, handlers: ["test", "other"] })
      const server = keys.server!
      const envFor = (keyOf: "test" | "other", instanceId: string) => ({
        SZ_INSTANCE_ID: instanceId,
        SZ_HANDLER_ID: "test",
        SZ_CURVE_SERVER_KEY: server.publicKey,
        SZ_CURVE_PUBLIC_KEY: keys.handlers[keyOf]!.publicKey,
        SZ_CURVE_SECRET_KEY: keys.handlers[keyOf]!.secretKey
      })
      const registryLayer = Zmq.layer({
        endpoint: "tcp://127.0.0.1:0",
        heartbeatInterval: "100 millis",
        curveKeys: { test: keys.handlers.test!.publicKey, other: keys.handlers.other!.publicKey },
        curve: {
          secretKey: server.secretKey,
          allowedPublicKeys: [keys.handlers.test!.publicKey, keys.handlers.other!.publicKey]
        }
      }).pipe(Layer.provide(Zmq.MemoryDirectory.layer))

      yield* Effect.gen(function*() {
        const { endpoint, stats } = yield* Zmq.ZmqRegistry
        const registry = yield* HandlerRegistry
        // "other"'s key is admitted on the channel, but it is not the key of id "test".
        const intruder = yield* spawnHandler({ SZ_ENDPOINT: endpoint, ...envFor("other", "intruder") })
        const exitCode = yield* Effect.promise(() => intruder.exited)
        expect(exitCode).not.toBe(0)
        expect(intruder.output()).toContain("bad_credential")
        expect((yield* stats).rejected).toBe(1)

        yield* spawnHandler({ SZ_ENDPOINT: endpoint, ...envFor("test", "owner") })
        expect(yield* registry.run(job({ args: ["bound"] }), task("echo"))).toMatchObject({ args: ["bound"] })
        const info = (yield* registry.list()).find((h) => h.id === "test")
        expect(info?.instances?.map((i) => i.instanceId)).toEqual(["owner"])
      }).pipe(Effect.provide(registryLayer))
    }))

  it.scopedLive("a register claiming the id's public key without its secret is rejected", () =>
    Effect.gen(function*() {
      const server = zmq.curveKeyPair()
      const bound = zmq.curveKeyPair()
      const impostor = zmq.curveKeyPair()
      const { endpoint } = yield* Effect.provide(
        Zmq.ZmqRegistry,
        yield* Layer.build(
          Zmq.layer({ endpoint: "tcp://127.0.0.1:0", curveKeys: { test: bound.publicKey }, curve: { secretKey: server.secretKey } })
            .pipe(Layer.provide(Zmq.MemoryDirectory.layer))
        )
      )
      // Its own key on the channel; in the register, the bound key with a proof it could only forge.
      const dealer = yield* Effect.acquireRelease(
        Effect.sync(() => {
          const socket = new zmq.Dealer({
            linger: 0,
            curveServerKey: server.publicKey,
            curvePublicKey: impostor.publicKey,
            curveSecretKey: impostor.secretKey
          })
          socket.connect(endpoint)
          return socket
        }),
        (socket) => Effect.sync(() => socket.close())
      )
      const register = {
        type: "register",
        protocol: 2,
        handlerId: "test",
        instanceId: "impostor",
        methods: [{ name: "echo" }],
        concurrency: 1,
        credential: null,
        curvePublicKey: bound.publicKey,
        keyProof: makeKeyProof({ secretKey: impostor.secretKey, serverPublicKey: server.publicKey }, "test", "impostor")
      }
      yield* Effect.promise(() => dealer.send(["SZ2", JSON.stringify([register])]))
      const [, answer] = yield* Effect.promise(() => dealer.receive())
      expect(JSON.parse(String(answer))).toMatchObject({ type: "rejected", reason: "bad_credential" })
    }))

  it.live("binding keys to ids with CURVE off stops the registry from starting", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(
        Layer.build(Zmq.layer({ endpoint: "tcp://127.0.0.1:0", curveKeys: { test: zmq.curveKeyPair().publicKey } })).pipe(
          Effect.provide(Zmq.MemoryDirectory.layer),
          Effect.scoped
        )
      )
      expect(error.message).toContain("CURVE is off")
    }))
})
