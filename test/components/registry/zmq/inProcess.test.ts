import { describe, expect, it } from "@effect/vitest"
import { Effect, Exit, Fiber } from "effect"
import { ZmqRegistry } from "../../../../src/components/registry/Zmq.js"
import { defineHandler, runHandler } from "../../../../src/handler/index.js"
import { HandlerRegistry } from "../../../../src/services/HandlerRegistry.js"
import { job, registryLayer, task, token } from "./fixtures.js"

const handler = defineHandler({
  id: "test",
  concurrency: 4,
  methods: {
    echo: ({ args }) => args,
    wait: ({ kwargs }) => Effect.as(Effect.sleep(Number(kwargs.ms)), "done"),
    boom: () => {
      throw Object.assign(new Error("nope"), { name: "Kaput" })
    }
  }
})

const onlineHandlers = Effect.gen(function*() {
  const registry = yield* HandlerRegistry
  while (true) {
    const list = yield* registry.list()
    const test = list.find((h) => h.id === "test")
    if (test?.status === "online") return test
    yield* Effect.sleep("10 millis")
  }
})

describe("zmq registry with an in-process handler", () => {
  it.live("registers, runs, reports results and typed errors", () =>
    Effect.gen(function*() {
      const { endpoint } = yield* ZmqRegistry
      expect(endpoint).toMatch(/^tcp:\/\/127\.0\.0\.1:\d+$/)
      expect(endpoint.endsWith(":0")).toBe(false)
      const registry = yield* HandlerRegistry
      const handlerFiber = yield* Effect.fork(runHandler(handler, { endpoint, credential: token, instanceId: "in-proc-1" }))
      const info = yield* onlineHandlers
      expect(info.methods).toEqual(["boom", "echo", "wait"])
      expect(info.instances?.[0]?.capacity).toBe(4)
      expect(yield* registry.run(job({ args: [1, "a"] }), task("echo"))).toEqual([1, "a"])
      const failed = yield* Effect.flip(registry.run(job(), task("boom")))
      expect(failed).toMatchObject({ _tag: "HandlerFailed", tag: "Kaput", message: "nope" })
      expect((yield* Effect.flip(registry.run(job(), task("missing"))))._tag).toBe("MethodNotFound")
      expect((yield* Effect.flip(registry.validate("nobody", "x")))._tag).toBe("HandlerNotFound")
      const many = yield* Effect.all(Array.from({ length: 50 }, (_, i) => registry.run(job({ args: [i] }), task("echo"))), { concurrency: "unbounded" })
      expect(many).toEqual(Array.from({ length: 50 }, (_, i) => [i]))
      yield* Fiber.interrupt(handlerFiber)
    }).pipe(Effect.provide(registryLayer())))

  it.live("interrupting a run cancels it on the handler and waits for the confirmation", () =>
    Effect.gen(function*() {
      const { endpoint } = yield* ZmqRegistry
      const registry = yield* HandlerRegistry
      const handlerFiber = yield* Effect.fork(runHandler(handler, { endpoint, credential: token }))
      yield* onlineHandlers
      const exit = yield* registry.run(job({ kwargs: { ms: 5000 } }), task("wait")).pipe(Effect.timeout("100 millis"), Effect.exit)
      expect(Exit.isFailure(exit)).toBe(true)
      const info = (yield* registry.list()).find((h) => h.id === "test")
      expect(info?.instances?.[0]?.inFlight).toBe(0)
      yield* Fiber.interrupt(handlerFiber)
    }).pipe(Effect.provide(registryLayer())))
})
