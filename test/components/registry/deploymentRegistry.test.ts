/** The `handlers.remote` section and the deployment's combined (local + zmq) registry. */
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { describe, expect, it } from "@effect/vitest"
import { Duration, Effect, Either, Fiber, Layer, ParseResult, Schema } from "effect"
import * as LocalBroker from "../../../src/components/broker/Local.js"
import * as Sqlite from "../../../src/components/datastore/Sqlite.js"
import * as DeploymentRegistry from "../../../src/components/registry/deploymentRegistry.js"
import * as LocalRegistry from "../../../src/components/registry/Local.js"
import * as Zmq from "../../../src/components/registry/Zmq.js"
import { RemoteHandlersSection } from "../../../src/config/sections/remoteHandlers.js"
import { defineHandler, runHandler } from "../../../src/handler/index.js"
import { HandlerDirectory } from "../../../src/services/HandlerDirectory.js"
import { HandlerRegistry } from "../../../src/services/HandlerRegistry.js"
import { job, task, token } from "./zmq/fixtures.js"

const decode = Schema.decodeUnknownEither(RemoteHandlersSection, { onExcessProperty: "error" })
const problem = (input: unknown) => {
  const result = decode(input)
  return Either.isLeft(result) ? ParseResult.TreeFormatter.formatErrorSync(result.left) : "decoded"
}

describe("handlers.remote section", () => {
  it("fills defaults and renames snake_case keys", () => {
    expect(decode({})).toEqual(
      Either.right({ endpoint: "tcp://127.0.0.1:4242", allowUnauthenticated: false, curve: false, credentials: {} })
    )
    const full = decode({
      endpoint: "tcp://0.0.0.0:0",
      heartbeat_interval: "500ms",
      missed_heartbeats: 5,
      max_frame_bytes: 65536,
      credentials: { billing: { token: Zmq.hashToken("t"), curve_public_key: "a".repeat(40) } }
    })
    expect(Either.getOrThrow(full)).toMatchObject({
      endpoint: "tcp://0.0.0.0:0",
      heartbeatInterval: Duration.millis(500),
      missedHeartbeats: 5,
      maxFrameBytes: 65536,
      credentials: { billing: { token: Zmq.hashToken("t"), curvePublicKey: "a".repeat(40) } }
    })
  })

  it("names what is wrong", () => {
    expect(problem({ endpoint: "localhost:4242" })).toContain("expected a ZeroMQ endpoint")
    expect(problem({ endpoint: "tcp://127.0.0.1:70000" })).toContain("expected a ZeroMQ endpoint")
    expect(problem({ credentials: { billing: { token: "plain-secret" } } })).toContain("the hash, never the token")
    expect(problem({ credentials: { "bad id!": { token: Zmq.hashToken("t") } } })).toMatch(/\["bad id!"\][\s\S]*is unexpected/)
    expect(problem({ missed_heartbeats: 0 })).toContain("expected a positive integer")
  })
})

const remote = defineHandler({ id: "test", methods: { where: () => "remote" } })
const here = LocalRegistry.defineLocalHandler({ id: "here", methods: { where: () => "local" } })

describe("deployment registry", () => {
  it.scopedLive("runs local ids here and others on remote handlers over CURVE, keys from the deployment's keys/", () =>
    Effect.gen(function*() {
      const deploymentDir = fs.mkdtempSync(path.join(os.tmpdir(), "sz-deployment-"))
      yield* Effect.addFinalizer(() => Effect.sync(() => fs.rmSync(deploymentDir, { recursive: true, force: true })))
      const keys = yield* Zmq.generateKeys({ deploymentDir, server: true, handlers: ["test", "keyed"] })
      // "keyed" has no token: holding keys/keyed.key is its credential.
      const section = Either.getOrThrow(
        decode({
          endpoint: "tcp://127.0.0.1:0",
          heartbeat_interval: "100ms",
          curve: true,
          credentials: { test: { token: Zmq.hashToken(token) }, keyed: {} }
        })
      )
      const filename = path.join(deploymentDir, "data", "sz.db")
      const registryLayer = DeploymentRegistry.layer(LocalRegistry.layer([here]), {
        remote: section,
        deploymentDir,
        sqlite: { filename }
      })
      const context = yield* Layer.build(Layer.merge(registryLayer, Sqlite.layer({ filename }).pipe(Layer.provide(LocalBroker.layer))))
      const registry = Effect.runSync(Effect.provide(HandlerRegistry, context))
      const { endpoint } = Effect.runSync(Effect.provide(Zmq.ZmqRegistry, context))

      const handler = yield* Effect.fork(
        runHandler(remote, {
          endpoint,
          credential: token,
          instanceId: "remote-1",
          curve: { serverPublicKey: keys.server!.publicKey, ...keys.handlers.test! }
        })
      )
      const keyed = yield* Effect.fork(
        runHandler(defineHandler({ id: "keyed", methods: { where: () => "keyed" } }), {
          endpoint,
          instanceId: "keyed-1",
          curve: { serverPublicKey: keys.server!.publicKey, ...keys.handlers.keyed! }
        })
      )
      expect(yield* registry.run(job(), task("where", { handler: "here" }))).toBe("local")
      expect(yield* registry.run(job(), task("where"))).toBe("remote")
      expect(yield* registry.run(job(), task("where", { handler: "keyed" }))).toBe("keyed")
      yield* Fiber.interrupt(keyed)
      yield* registry.validate("here", "where")
      expect((yield* Effect.flip(registry.validate("here", "nope")))._tag).toBe("MethodNotFound")
      expect((yield* Effect.flip(registry.validate("nobody", "where")))._tag).toBe("HandlerNotFound")
      const listed = yield* registry.list()
      expect(listed.map((h) => [h.id, h.kind])).toEqual([["here", "local"], ["test", "remote"], ["keyed", "remote"]])
      expect(listed.find((h) => h.id === "test")?.status).toBe("online")
      const directory = Effect.runSync(Effect.provide(HandlerDirectory, context))
      expect((yield* directory.list()).map((r) => r.instanceId)).toEqual(["keyed-1", "remote-1"])
      yield* Fiber.interrupt(handler)
    }))

  it.live("a credential without a token needs curve on", () =>
    Effect.gen(function*() {
      const section = Either.getOrThrow(decode({ credentials: { keyed: { curve_public_key: "a".repeat(40) } } }))
      const error = yield* Effect.flip(DeploymentRegistry.zmqOptionsOf(section, os.tmpdir()))
      expect(error.message).toContain("'keyed' need a token")
    }))

  it.live("a missing key file stops the registry from starting, naming the file", () =>
    Effect.gen(function*() {
      const deploymentDir = fs.mkdtempSync(path.join(os.tmpdir(), "sz-deployment-"))
      yield* Zmq.generateKeys({ deploymentDir, server: true, handlers: [] })
      const section = Either.getOrThrow(decode({ curve: true, credentials: { test: { token: Zmq.hashToken(token) } } }))
      const error = yield* Effect.flip(DeploymentRegistry.zmqOptionsOf(section, deploymentDir))
      expect(error.message).toContain(path.join(deploymentDir, "keys", "test.pub"))
      fs.rmSync(deploymentDir, { recursive: true, force: true })
    }))
})
