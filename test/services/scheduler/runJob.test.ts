import { describe, expect, it } from "@effect/vitest"
import { Effect, Exit, Fiber, Layer, Option, Scope } from "effect"
import * as LocalRegistry from "../../../src/components/registry/Local.js"
import { Scheduler } from "../../../src/services/Scheduler.js"
import * as SchedulerLive from "../../../src/services/scheduler/layer.js"
import { advanceUntilDone, countOf, infrastructure, ofTag, recordEvents, settle } from "./harness.js"

const handler = LocalRegistry.defineLocalHandler({
  id: "probe",
  methods: {
    quick: () => "done",
    waitsForAbort: () => new Promise<never>(() => undefined)
  }
})

/** A scheduler over the shared infrastructure, stopped when `scope` closes. */
const startScheduler = (scope: Scope.Scope, options: SchedulerLive.SchedulerOptions) =>
  Effect.flatMap(Layer.buildWithScope(SchedulerLive.layer({ cleanupInterval: null, ...options }), scope), (context) =>
    Effect.provide(Scheduler, context))

/** Stops the schedulers in `scope`, moving the clock through their grace period for the endless jobs. */
const stop = (scope: Scope.CloseableScope) => advanceUntilDone(Scope.close(scope, Exit.void))

describe("runJob waiting", () => {
  it.scoped("returns the result when another scheduler runs the job", () =>
    Effect.gen(function*() {
      const events = yield* recordEvents
      const scope = yield* Scope.make()
      // The caller's scheduler has one slot, taken by an endless job: the other one must run the new job.
      const caller = yield* startScheduler(scope, { id: "caller", maxConcurrentJobs: 1 })
      yield* caller.configureTask({ id: "endless", handler: "probe", method: "waitsForAbort" })
      yield* caller.configureTask({ id: "quick", handler: "probe", method: "quick" })
      yield* caller.addJob({ taskId: "endless" })
      yield* events.waitFor(countOf("JobAcquired", 1))
      yield* startScheduler(scope, { id: "runner" })
      const result = yield* caller.runJob({ taskId: "quick" })
      expect(result).toMatchObject({ outcome: "success", returnValue: "done" })
      const [released] = ofTag(yield* events.waitFor(countOf("JobReleased", 1)), "JobReleased")
      expect(released).toMatchObject({ jobId: result.jobId, schedulerId: "runner" })
      yield* stop(scope)
    }).pipe(Effect.provide(infrastructure([handler]))))

  it.scoped("a job still queued when the scheduler stops fails the wait with SchedulerNotRunning", () =>
    Effect.gen(function*() {
      const events = yield* recordEvents
      const scope = yield* Scope.make()
      const scheduler = yield* startScheduler(scope, { id: "alone", stopGracePeriod: "1 second" })
      yield* scheduler.configureTask({ id: "serial", handler: "probe", method: "waitsForAbort", maxRunningJobs: 1 })
      yield* scheduler.addJob({ taskId: "serial" })
      yield* events.waitFor(countOf("JobAcquired", 1))
      const waiting = yield* Effect.fork(scheduler.runJob({ taskId: "serial" }))
      yield* settle
      expect(Option.isNone(yield* Fiber.poll(waiting))).toBe(true)
      yield* stop(scope)
      const failure = yield* Effect.flip(Fiber.join(waiting))
      expect(failure).toMatchObject({ _tag: "SchedulerNotRunning", state: "stopped" })
    }).pipe(Effect.provide(infrastructure([handler]))))

  it.scoped("a caller's timeout ends the wait and leaves the job to run", () =>
    Effect.gen(function*() {
      const events = yield* recordEvents
      const scope = yield* Scope.make()
      const scheduler = yield* startScheduler(scope, { id: "alone" })
      yield* scheduler.configureTask({ id: "endless", handler: "probe", method: "waitsForAbort" })
      const timedOut = yield* advanceUntilDone(
        Effect.timeout(scheduler.runJob({ taskId: "endless" }), "5 seconds").pipe(Effect.flip)
      )
      expect(timedOut._tag).toBe("TimeoutException")
      const [acquired] = ofTag(yield* events.all, "JobAcquired")
      expect(acquired).toBeDefined()
      expect(ofTag(yield* events.all, "JobReleased")).toEqual([])
      yield* stop(scope)
    }).pipe(Effect.provide(infrastructure([handler]))))
})
