/** The handler SDK against a real registry: method kinds, graceful stop, restart memory. */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Fiber, Layer } from "effect"
import * as Zmq from "../../src/components/registry/Zmq.js"
import { defineHandler, HandlerRejected, InvalidInstanceId, runHandler } from "../../src/handler/index.js"
import { HandlerDirectory } from "../../src/services/HandlerDirectory.js"
import { type HandlerInfo, HandlerRegistry } from "../../src/services/HandlerRegistry.js"
import { job, registryLayer, task, token } from "../components/registry/zmq/fixtures.js"

/** How many `slow` runs have started in this process (the stop test waits for the handler to have one). */
let slowStarted = 0

const handler = defineHandler({
  id: "test",
  concurrency: 4,
  methods: {
    value: () => 1,
    promise: async () => 2,
    effect: () => Effect.succeed(3),
    slow: {
      params: { type: "object" },
      run: () => Effect.as(Effect.zipRight(Effect.sync(() => slowStarted++), Effect.sleep("300 millis")), "finished")
    },
    bigint: () => 10n
  }
})

const testInfo = Effect.flatMap(HandlerRegistry, (r) => Effect.map(r.list(), (list) => list.find((h) => h.id === "test")))

const waitFor = (done: (info: HandlerInfo | undefined) => boolean) =>
  Effect.gen(function*() {
    while (!done(yield* testInfo)) yield* Effect.sleep("10 millis")
  })

const online = (info: HandlerInfo | undefined) => info?.status === "online"

describe("runHandler", () => {
  it.live("methods may return a value, a Promise or an Effect; unencodable values are typed errors", () =>
    Effect.gen(function*() {
      const { endpoint } = yield* Zmq.ZmqRegistry
      const registry = yield* HandlerRegistry
      const fiber = yield* Effect.fork(runHandler(handler, { endpoint, credential: token }))
      yield* waitFor(online)
      expect(yield* registry.run(job(), task("value"))).toBe(1)
      expect(yield* registry.run(job(), task("promise"))).toBe(2)
      expect(yield* registry.run(job(), task("effect"))).toBe(3)
      expect(yield* Effect.flip(registry.run(job(), task("bigint")))).toMatchObject({ tag: "SerializationFailed" })
      yield* Fiber.interrupt(fiber)
    }).pipe(Effect.provide(registryLayer())))

  it.live("stopping finishes running jobs and sends their results before leaving", () =>
    Effect.gen(function*() {
      const { endpoint } = yield* Zmq.ZmqRegistry
      const registry = yield* HandlerRegistry
      const fiber = yield* Effect.fork(runHandler(handler, { endpoint, credential: token }))
      yield* waitFor(online)
      const startedBefore = slowStarted
      const running = yield* Effect.fork(registry.run(job(), task("slow")))
      // Running on the handler, not only sent: a run still on its way when the handler
      // has finished stopping is refused (HandlerStopping).
      while (slowStarted === startedBefore) yield* Effect.sleep("5 millis")
      yield* Fiber.interrupt(fiber)
      expect(yield* Fiber.join(running)).toBe("finished")
      // Deregistered once its last result was in.
      yield* waitFor((info) => info?.status === "offline")
    }).pipe(Effect.provide(registryLayer())))

  it.live("a rejected handler fails with HandlerRejected", () =>
    Effect.gen(function*() {
      const { endpoint } = yield* Zmq.ZmqRegistry
      const error = yield* Effect.flip(runHandler(handler, { endpoint, credential: "wrong" }))
      expect(error).toBeInstanceOf(HandlerRejected)
      expect(error.reason).toBe("bad_credential")
    }).pipe(Effect.provide(registryLayer())))

  it.live("an instance id that cannot be a routing id fails with InvalidInstanceId naming it", () =>
    Effect.gen(function*() {
      for (const instanceId of ["", "\u0000zero-first", "é".repeat(128)]) {
        const error = yield* Effect.flip(runHandler(handler, { endpoint: "tcp://127.0.0.1:1", instanceId }))
        expect(error).toBeInstanceOf(InvalidInstanceId)
        expect(error.message).toContain(JSON.stringify(instanceId))
      }
    }))

  it.live("a restarted registry lists handlers it knew as offline, and runs for them wait until one registers", () =>
    Effect.gen(function*() {
      const directory = Layer.succeed(HandlerDirectory, Zmq.MemoryDirectory.make())
      const registryWith = (endpoint: string) =>
        Zmq.layer({ endpoint, heartbeatInterval: "100 millis", allowUnauthenticated: true }).pipe(Layer.provide(directory))
      const bound = yield* Effect.scoped(Effect.gen(function*() {
        const { endpoint } = yield* Zmq.ZmqRegistry
        const fiber = yield* Effect.fork(runHandler(handler, { endpoint }))
        yield* waitFor(online)
        yield* Fiber.interrupt(fiber)
        return endpoint
      }).pipe(Effect.provide(registryWith("tcp://127.0.0.1:0"))))
      yield* Effect.scoped(Effect.gen(function*() {
        const registry = yield* HandlerRegistry
        const info = yield* testInfo
        expect(info?.status).toBe("offline")
        expect(info?.methods).toEqual(["bigint", "effect", "promise", "slow", "value"])
        expect((yield* Effect.flip(registry.validate("test", "nope")))._tag).toBe("MethodNotFound")
        const waiting = yield* Effect.fork(registry.run(job(), task("value")))
        yield* Effect.sleep("200 millis")
        expect(waiting.unsafePoll()).toBeNull()
        const fiber = yield* Effect.fork(runHandler(handler, { endpoint: bound }))
        expect(yield* Fiber.join(waiting)).toBe(1)
        yield* Fiber.interrupt(fiber)
      }).pipe(Effect.provide(registryWith(bound))))
    }))

  it.live("a run waiting for an offline handler gives up at the job's start deadline", () =>
    Effect.gen(function*() {
      const registry = yield* HandlerRegistry
      const error = yield* Effect.flip(registry.run(job({ startDeadline: new Date(Date.now() + 100) }), task("value")))
      expect(error._tag).toBe("HandlerOffline")
    }).pipe(Effect.provide(registryLayer())))
})
