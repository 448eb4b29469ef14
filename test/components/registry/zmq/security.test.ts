/** CURVE encryption of the channel, key files, and token hashing. */
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Fiber, Layer, Logger } from "effect"
import * as Zmq from "../../../../src/components/registry/Zmq.js"
import { parseTokenHash, tokenMatches } from "../../../../src/components/registry/zmq/credentials.js"
import { defineHandler, runHandler } from "../../../../src/handler/index.js"
import { HandlerRegistry } from "../../../../src/services/HandlerRegistry.js"
import { job, task, token } from "./fixtures.js"

const handler = defineHandler({ id: "test", methods: { echo: ({ args }) => args } })

describe("credentials", () => {
  it("stores only a sha256 of the token and matches it", () => {
    const { token: fresh, hash } = Zmq.generateToken()
    expect(hash).toMatch(/^sha256:[0-9a-f]{64}$/)
    expect(hash).not.toContain(fresh)
    const digest = parseTokenHash(hash)!
    expect(tokenMatches(fresh, digest)).toBe(true)
    expect(tokenMatches(fresh + "x", digest)).toBe(false)
    expect(parseTokenHash("plain-token")).toBeUndefined()
  })

  it.live("a malformed stored hash stops the registry from starting, naming the handler", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(
        Layer.build(Zmq.layer({ endpoint: "tcp://127.0.0.1:0", credentials: { bad: "secret" } })).pipe(
          Effect.provide(Zmq.MemoryDirectory.layer),
          Effect.scoped
        )
      )
      expect(error.message).toContain("handler 'bad'")
    }))
})

describe("CURVE", () => {
  it.live("generates key files and runs jobs over an encrypted channel; a plain client gets nothing", () =>
    Effect.gen(function*() {
      const deploymentDir = fs.mkdtempSync(path.join(os.tmpdir(), "sz-keys-"))
      const keys = yield* Zmq.generateKeys({ deploymentDir, server: true, handlers: ["test"] })
      expect(keys.dir).toBe(path.join(deploymentDir, "keys"))
      expect(fs.statSync(path.join(keys.dir, "server.key")).mode & 0o777).toBe(0o600)
      const serverSecret = yield* Zmq.readKey(path.join(keys.dir, "server.key"))
      const serverPublic = yield* Zmq.readKey(path.join(keys.dir, "server.pub"))
      const handlerKeys = {
        publicKey: yield* Zmq.readKey(path.join(keys.dir, "test.pub")),
        secretKey: yield* Zmq.readKey(path.join(keys.dir, "test.key"))
      }
      expect((yield* Effect.flip(Zmq.generateKeys({ deploymentDir, server: true, handlers: [] }))).message).toContain("already exists")

      yield* Effect.gen(function*() {
        const { endpoint, stats } = yield* Zmq.ZmqRegistry
        const registry = yield* HandlerRegistry
        // Without the server key the handshake never completes: no register arrives.
        const plain = yield* Effect.fork(runHandler(handler, { endpoint, credential: token, instanceId: "plain" }))
        const curve = yield* Effect.fork(
          runHandler(handler, { endpoint, credential: token, instanceId: "curve", curve: { serverPublicKey: serverPublic, ...handlerKeys } })
        )
        const result = yield* registry.run(job({ args: ["secret"] }), task("echo"))
        expect(result).toEqual(["secret"])
        const info = (yield* registry.list()).find((h) => h.id === "test")
        expect(info?.instances?.map((i) => i.instanceId)).toEqual(["curve"])
        expect((yield* stats).droppedTotal).toBe(0)
        yield* Fiber.interrupt(plain)
        yield* Fiber.interrupt(curve)
      }).pipe(
        Effect.provide(
          Zmq.layer({
            endpoint: "tcp://127.0.0.1:0",
            heartbeatInterval: "100 millis",
            credentials: { test: Zmq.hashToken(token) },
            curve: { secretKey: serverSecret }
          }).pipe(Layer.provide(Zmq.MemoryDirectory.layer))
        )
      )
    }))

  it.live("with an allow-list, a handler whose public key is not configured is refused at the handshake and logged", () =>
    Effect.gen(function*() {
      const deploymentDir = fs.mkdtempSync(path.join(os.tmpdir(), "sz-keys-"))
      const keys = yield* Zmq.generateKeys({ deploymentDir, server: true, handlers: ["known", "stranger"] })
      const server = keys.server!
      const clientKeys = (name: "known" | "stranger") => ({ serverPublicKey: server.publicKey, ...keys.handlers[name]! })
      const warnings: Array<string> = []
      const capture = Logger.replace(
        Logger.defaultLogger,
        Logger.make(({ annotations, logLevel, message }) => {
          if (logLevel._tag === "Warning") warnings.push(`${String(message)} ${JSON.stringify(Object.fromEntries(annotations))}`)
        })
      )
      yield* Effect.gen(function*() {
        const { endpoint, stats } = yield* Zmq.ZmqRegistry
        const registry = yield* HandlerRegistry
        const stranger = yield* Effect.fork(
          runHandler(handler, { endpoint, credential: token, instanceId: "stranger", curve: clientKeys("stranger") })
        )
        const known = yield* Effect.fork(
          runHandler(handler, { endpoint, credential: token, instanceId: "known", curve: clientKeys("known") })
        )
        expect(yield* registry.run(job({ args: ["ok"] }), task("echo"))).toEqual(["ok"])
        while ((yield* stats).refusedConnections === 0) yield* Effect.sleep("10 millis")
        const info = (yield* registry.list()).find((h) => h.id === "test")
        expect(info?.instances?.map((i) => i.instanceId)).toEqual(["known"])
        const refusal = warnings.find((line) => line.includes("CURVE key not allowed"))
        expect(refusal).toContain(keys.handlers.stranger!.publicKey)
        expect(refusal).toContain("127.0.0.1")
        yield* Fiber.interrupt(stranger)
        yield* Fiber.interrupt(known)
      }).pipe(
        Effect.provide(
          Zmq.layer({
            endpoint: "tcp://127.0.0.1:0",
            heartbeatInterval: "100 millis",
            credentials: { test: Zmq.hashToken(token) },
            curve: { secretKey: server.secretKey, allowedPublicKeys: [keys.handlers.known!.publicKey] }
          }).pipe(Layer.provide(Zmq.MemoryDirectory.layer))
        ),
        Effect.provide(capture)
      )
    }))
})
