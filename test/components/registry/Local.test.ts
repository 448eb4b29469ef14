import { describe, expect, it } from "@effect/vitest"
import { Effect, Either, Exit, Fiber, TestClock } from "effect"
import * as LocalRegistry from "../../../src/components/registry/Local.js"
import { HandlerFailed } from "../../../src/domain/errors.js"
import type { HandlerId, JobId, TaskId } from "../../../src/domain/ids.js"
import { Job } from "../../../src/domain/Job.js"
import { Task } from "../../../src/domain/Task.js"
import { HandlerRegistry } from "../../../src/services/HandlerRegistry.js"

class Boom extends Error {
  override name = "Boom"
}

let aborted = false

const math = LocalRegistry.defineLocalHandler({
  id: "math",
  methods: {
    add: ({ args }) => (args as ReadonlyArray<number>).reduce((a, b) => a + b, 0),
    greet: async ({ kwargs }) => `hello ${kwargs.name}`,
    double: ({ args }) => Effect.succeed((args[0] as number) * 2),
    throws: () => {
      throw new Boom("sync failure")
    },
    rejects: async () => {
      throw new TypeError("async failure")
    },
    failsTyped: () => Effect.fail(new HandlerFailed({ tag: "Quota", message: "over quota" })),
    failsPlain: () => Effect.fail({ _tag: "NotReady", message: "warming up" }),
    dies: () => Effect.die(new RangeError("defect")),
    slow: () => Effect.as(Effect.sleep("10 seconds"), "done"),
    waitsForAbort: ({ signal }) =>
      new Promise<never>(() => {
        signal.addEventListener("abort", () => {
          aborted = true
        })
      }),
    seesJob: ({ job, task }) => `${task.method}:${job.attempt}`
  }
})

const task = (method: string, handler = "math") =>
  Task.make({ id: "t" as TaskId, handler: handler as HandlerId, method })
const job = (args: ReadonlyArray<unknown> = [], kwargs: Record<string, unknown> = {}) =>
  Job.make({
    id: "6f1c1d6e-3b8e-4a52-9d1e-2f3a4b5c6d7e" as JobId,
    taskId: "t" as TaskId,
    args,
    kwargs,
    createdAt: new Date(0)
  })

const run = (method: string, args: ReadonlyArray<unknown> = [], kwargs: Record<string, unknown> = {}) =>
  Effect.flatMap(HandlerRegistry, (registry) => registry.run(job(args, kwargs), task(method)))

const failure = (method: string) => Effect.flip(run(method))

describe("local HandlerRegistry", () => {
  const provide = Effect.provide(LocalRegistry.layer([math]))

  it.effect("runs sync, Promise and Effect methods with args, kwargs, job and task", () =>
    Effect.gen(function*() {
      expect(yield* run("add", [1, 2, 3])).toBe(6)
      expect(yield* run("greet", [], { name: "ada" })).toBe("hello ada")
      expect(yield* run("double", [21])).toBe(42)
      expect(yield* run("seesJob")).toBe("seesJob:1")
    }).pipe(provide))

  it.effect("reports unknown handlers and methods with typed errors", () =>
    Effect.gen(function*() {
      const registry = yield* HandlerRegistry
      const noHandler = yield* Effect.flip(registry.run(job(), task("add", "nope")))
      expect(noHandler._tag).toBe("HandlerNotFound")
      expect(noHandler.message).toBe("handler 'nope' is not registered")
      const noMethod = yield* failure("subtract")
      expect(noMethod._tag).toBe("MethodNotFound")
      expect(noMethod.message).toBe("handler 'math' has no method 'subtract'")
      // Inherited object properties are not methods.
      expect((yield* failure("toString"))._tag).toBe("MethodNotFound")
      expect(yield* Effect.either(registry.validate("math", "add"))).toEqual(Either.right(undefined))
      expect((yield* Effect.flip(registry.validate("math", "nope")))._tag).toBe("MethodNotFound")
      expect((yield* Effect.flip(registry.validate("nope", "add")))._tag).toBe("HandlerNotFound")
    }).pipe(provide))

  it.effect("turns exceptions, rejections, typed failures and defects into HandlerFailed", () =>
    Effect.gen(function*() {
      const thrown = yield* failure("throws")
      expect(thrown).toBeInstanceOf(HandlerFailed)
      expect(thrown).toMatchObject({ tag: "Boom", message: "sync failure" })
      expect(yield* failure("rejects")).toMatchObject({ _tag: "HandlerFailed", tag: "TypeError", message: "async failure" })
      expect(yield* failure("failsTyped")).toMatchObject({ tag: "Quota", message: "over quota" })
      expect(yield* failure("failsPlain")).toMatchObject({ tag: "NotReady", message: "warming up" })
      expect(yield* failure("dies")).toMatchObject({ tag: "RangeError", message: "defect" })
    }).pipe(provide))

  it.effect("runs Effect methods on the caller's clock and interrupts them", () =>
    Effect.gen(function*() {
      const fiber = yield* Effect.fork(run("slow"))
      yield* TestClock.adjust("10 seconds")
      expect(yield* Fiber.join(fiber)).toBe("done")
      const interrupted = yield* Effect.fork(run("slow"))
      yield* TestClock.adjust("1 second")
      expect(Exit.isInterrupted(yield* Fiber.interrupt(interrupted))).toBe(true)
    }).pipe(provide))

  it.live("aborts the signal of an interrupted Promise method", () =>
    Effect.gen(function*() {
      aborted = false
      const exit = yield* run("waitsForAbort").pipe(Effect.timeout("20 millis"), Effect.exit)
      expect(Exit.isFailure(exit)).toBe(true)
      expect(aborted).toBe(true)
    }).pipe(provide))

  it.effect("lists handlers and registers more at runtime", () =>
    Effect.gen(function*() {
      const registry = yield* HandlerRegistry
      const local = yield* LocalRegistry.LocalHandlers
      expect(yield* registry.list()).toEqual([
        { id: "math", kind: "local", methods: Object.keys(math.methods), status: "online" }
      ])
      yield* local.register(LocalRegistry.defineLocalHandler({ id: "echo", methods: { echo: ({ args }) => args[0] } }))
      expect(yield* registry.run(job(["hi"]), task("echo", "echo"))).toBe("hi")
      expect(yield* local.unregister("echo")).toBe(true)
      expect((yield* Effect.flip(registry.run(job(), task("echo", "echo"))))._tag).toBe("HandlerNotFound")
    }).pipe(provide))
})
