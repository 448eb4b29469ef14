/**
 * Jobs started through the registry's callback form (remote handlers): no fiber
 * waits on them, yet timeouts, cancellation, retries and the graceful stop
 * behave as for a job running in a fiber. The registry here is a stand-in
 * whose runs the test finishes by hand.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Exit, Fiber, Layer, Option, Scope, TestClock } from "effect"
import { HandlerFailed, HandlerLost } from "../../../src/domain/errors.js"
import type { Job } from "../../../src/domain/Job.js"
import { DataStore } from "../../../src/services/DataStore.js"
import { HandlerRegistry, type HandlerRegistryShape, type RunError } from "../../../src/services/HandlerRegistry.js"
import { Scheduler, type TaskConfig } from "../../../src/services/Scheduler.js"
import * as SchedulerLive from "../../../src/services/scheduler/layer.js"
import { at, clockAtT0, countedMemoryStore, countOf, ofTag, recordEvents, settle } from "./harness.js"

interface FakeRun {
  readonly job: Job
  readonly onDone: (exit: Exit.Exit<unknown, RunError>) => void
  open: boolean
  cancelled: boolean
}

/** A remote registry whose runs stay open until the test finishes them; `log` tells what the "worker" saw. */
const fakeRemote = () => {
  const runs = new Map<string, FakeRun>()
  const log: Array<string> = []
  const registry: HandlerRegistryShape = {
    validate: () => Effect.void,
    run: () => Effect.dieMessage("the callback form always starts"),
    startCallback: (job, _task, onDone) => {
      const run: FakeRun = { job, onDone, open: true, cancelled: false }
      runs.set(`${job.id}/${job.attempt}`, run)
      log.push(`start ${job.attempt}`)
      return {
        cancel: () => {
          if (!run.open) return false
          if (!run.cancelled) log.push(`cancel ${job.attempt}`)
          run.cancelled = true
          return true
        }
      }
    },
    list: () => Effect.succeed([])
  }
  /** Ends the oldest open run as the worker would. */
  const finish = (exit: Exit.Exit<unknown, RunError>) =>
    Effect.sync(() => {
      const run = Array.from(runs.values()).find((candidate) => candidate.open)
      if (run === undefined) throw new Error("no open run")
      run.open = false
      log.push(`end ${run.job.attempt}`)
      run.onDone(exit)
    })
  // The store the scheduler sees counts the job loop's store rounds.
  const { layer: counted, rounds } = countedMemoryStore()
  const infrastructure = Layer.mergeAll(
    counted,
    Layer.succeed(HandlerRegistry, registry)
  ).pipe(Layer.provide(clockAtT0))
  return { log, finish, infrastructure, rounds }
}

const configure = (config: Omit<TaskConfig, "handler" | "method">) =>
  Effect.flatMap(Scheduler, (scheduler) => scheduler.configureTask({ handler: "remote", method: "work", ...config }))

const addJob = (taskId: string) =>
  Effect.flatMap(Scheduler, (scheduler) => scheduler.addJob({ taskId, resultExpirationTime: 60 }))

describe("job runner: callback runs", () => {
  it.scoped("a run's value becomes the job's result", () => {
    const remote = fakeRemote()
    return Effect.gen(function*() {
      const events = yield* recordEvents
      yield* configure({ id: "t" })
      const jobId = yield* addJob("t")
      yield* events.waitFor(countOf("JobAcquired", 1))
      yield* settle
      yield* remote.finish(Exit.succeed({ rows: 3 }))
      yield* events.waitFor(countOf("JobReleased", 1))
      const result = yield* Effect.flatMap(DataStore, (store) => store.getJobResult(jobId))
      expect(Option.getOrThrow(result)).toMatchObject({ outcome: "success", returnValue: { rows: 3 } })
    }).pipe(Effect.provide(SchedulerLive.layer().pipe(Layer.provideMerge(remote.infrastructure))))
  })

  it.scoped("a failure is retried per the task's policy; a lost handler's run is abandoned", () => {
    const remote = fakeRemote()
    return Effect.gen(function*() {
      const events = yield* recordEvents
      yield* configure({ id: "t", retry: { maxAttempts: 3, backoffBaseMs: 0 } })
      yield* addJob("t")
      yield* events.waitFor(countOf("JobAcquired", 1))
      yield* settle
      yield* remote.finish(Exit.fail(new HandlerFailed({ tag: "Broken", message: "no" })))
      yield* events.waitFor(countOf("JobAcquired", 2))
      yield* settle
      yield* remote.finish(Exit.fail(new HandlerLost({ handler: "remote", instanceId: "i", jobId: "j" })))
      yield* events.waitFor(countOf("JobAcquired", 3))
      yield* settle
      yield* remote.finish(Exit.succeed(1))
      const released = ofTag(yield* events.waitFor(countOf("JobReleased", 3)), "JobReleased")
      expect(released.map((event) => [event.attempt, event.outcome, event.willRetry, event.error?.tag ?? null])).toEqual([
        [1, "error", true, "Broken"],
        [2, "abandoned", true, "HandlerLost"],
        [3, "success", false, null]
      ])
    }).pipe(Effect.provide(SchedulerLive.layer().pipe(Layer.provideMerge(remote.infrastructure))))
  })

  it.scoped("past its timeout a run is cancelled on the worker, and the retry starts only once it has ended", () => {
    const remote = fakeRemote()
    return Effect.gen(function*() {
      const events = yield* recordEvents
      yield* configure({ id: "slow", timeoutMs: 5000, retry: { maxAttempts: 2, backoffBaseMs: 0 } })
      const jobId = yield* addJob("slow")
      yield* events.waitFor(countOf("JobAcquired", 1))
      yield* settle
      yield* TestClock.adjust(4999)
      expect(remote.log).toEqual(["start 1"])
      yield* TestClock.adjust(1)
      expect(remote.log).toEqual(["start 1", "cancel 1"])
      // The worker takes 2 s to stop: no second attempt meanwhile.
      yield* TestClock.adjust(2000)
      expect(remote.log).toEqual(["start 1", "cancel 1"])
      yield* remote.finish(Exit.fail(new HandlerFailed({ tag: "Cancelled", message: "stopped" })))
      const [first] = ofTag(yield* events.waitFor(countOf("JobReleased", 1)), "JobReleased")
      expect(first).toMatchObject({
        outcome: "error",
        willRetry: true,
        finishedAt: at(7000),
        error: { tag: "JobTimeout", message: `job '${jobId}' timed out after 5000 ms` }
      })
      yield* events.waitFor(countOf("JobAcquired", 2))
      yield* settle
      expect(remote.log).toEqual(["start 1", "cancel 1", "end 1", "start 2"])
      yield* remote.finish(Exit.succeed("done"))
      const second = ofTag(yield* events.waitFor(countOf("JobReleased", 2)), "JobReleased")[1]
      expect(second).toMatchObject({ attempt: 2, outcome: "success" })
      // The second run ended before its deadline: nothing more is cancelled.
      yield* TestClock.adjust(10_000)
      expect(remote.log).toEqual(["start 1", "cancel 1", "end 1", "start 2", "end 2"])
    }).pipe(Effect.provide(SchedulerLive.layer().pipe(Layer.provideMerge(remote.infrastructure))))
  })

  it.scoped("cancelJob cancels the run on the worker and records it cancelled, whatever the worker answers", () => {
    const remote = fakeRemote()
    return Effect.gen(function*() {
      const scheduler = yield* Scheduler
      const events = yield* recordEvents
      yield* configure({ id: "t", retry: { maxAttempts: 3, backoffBaseMs: 0 } })
      const jobId = yield* addJob("t")
      yield* events.waitFor(countOf("JobAcquired", 1))
      yield* settle
      const cancelling = yield* Effect.fork(scheduler.cancelJob(jobId, { reason: "operator" }))
      yield* settle
      expect(remote.log).toEqual(["start 1", "cancel 1"])
      yield* remote.finish(Exit.succeed("finished anyway"))
      yield* Fiber.join(cancelling)
      const [released] = ofTag(yield* events.waitFor(countOf("JobReleased", 1)), "JobReleased")
      expect(released).toMatchObject({ outcome: "cancelled", willRetry: false })
      yield* settle
      expect(remote.log).toEqual(["start 1", "cancel 1", "end 1"])
    }).pipe(Effect.provide(SchedulerLive.layer().pipe(Layer.provideMerge(remote.infrastructure))))
  })

  it.scoped("runJob with free slots starts the run from the caller's fiber and writes its release there: the job loop makes no store round for it", () => {
    const remote = fakeRemote()
    return Effect.gen(function*() {
      const scheduler = yield* Scheduler
      const events = yield* recordEvents
      yield* configure({ id: "t", maxRunningJobs: null })
      yield* settle
      const before = { ...remote.rounds }
      const running = yield* Effect.fork(scheduler.runJob({ taskId: "t" }))
      yield* settle
      expect(remote.log).toEqual(["start 1"])
      yield* remote.finish(Exit.succeed({ rows: 3 }))
      const result = yield* Fiber.join(running)
      expect(result).toMatchObject({ outcome: "success", attempt: 1, returnValue: { rows: 3 } })
      yield* settle
      // One acquisition (the caller's) and two reads of what is next (after the start, after the release).
      expect(remote.rounds).toEqual({ acquire: before.acquire + 1, next: before.next + 2 })
      const all = yield* events.all
      expect([countOf("JobAcquired", 2)(all), countOf("JobReleased", 2)(all)]).toEqual([false, false])
      expect(ofTag(all, "JobReleased")).toMatchObject([{ jobId: result.jobId, outcome: "success", willRetry: false }])
    }).pipe(Effect.provide(SchedulerLive.layer().pipe(Layer.provideMerge(remote.infrastructure))))
  })

  it.scoped("runJob: a run that fails into a retry ends through the job loops; the caller gets the final result", () => {
    const remote = fakeRemote()
    return Effect.gen(function*() {
      const scheduler = yield* Scheduler
      const events = yield* recordEvents
      yield* configure({ id: "t", retry: { maxAttempts: 2, backoffBaseMs: 0 } })
      const running = yield* Effect.fork(scheduler.runJob({ taskId: "t" }))
      yield* settle
      yield* remote.finish(Exit.fail(new HandlerFailed({ tag: "Broken", message: "no" })))
      yield* events.waitFor(countOf("JobAcquired", 2))
      yield* settle
      yield* remote.finish(Exit.succeed("second"))
      expect(yield* Fiber.join(running)).toMatchObject({ outcome: "success", attempt: 2, returnValue: "second" })
    }).pipe(Effect.provide(SchedulerLive.layer().pipe(Layer.provideMerge(remote.infrastructure))))
  })

  it.scoped("runJob interrupted while its run is out: the run still ends and is released", () => {
    const remote = fakeRemote()
    return Effect.gen(function*() {
      const scheduler = yield* Scheduler
      const events = yield* recordEvents
      yield* configure({ id: "t" })
      const running = yield* Effect.fork(scheduler.runJob({ taskId: "t" }))
      yield* settle
      yield* Fiber.interrupt(running)
      yield* remote.finish(Exit.succeed("anyway"))
      const [released] = ofTag(yield* events.waitFor(countOf("JobReleased", 1)), "JobReleased")
      const result = yield* Effect.flatMap(DataStore, (store) => store.getJobResult(released!.jobId))
      expect(Option.getOrThrow(result)).toMatchObject({ outcome: "success", returnValue: "anyway" })
    }).pipe(Effect.provide(SchedulerLive.layer().pipe(Layer.provideMerge(remote.infrastructure))))
  })

  const slotCases = [
    { held: "every slot taken (one at a time)", schedulerOptions: { maxConcurrentJobs: 1 }, maxRunningJobs: null },
    { held: "its task at its limit", schedulerOptions: {}, maxRunningJobs: 1 }
  ]
  for (const { held, maxRunningJobs, schedulerOptions } of slotCases) {
    it.scoped(`runJob with ${held} leaves the job to the job loop, which starts it once a slot frees`, () => {
      const remote = fakeRemote()
      return Effect.gen(function*() {
        const scheduler = yield* Scheduler
        yield* configure({ id: "t", maxRunningJobs })
        const first = yield* Effect.fork(scheduler.runJob({ taskId: "t", args: [1] }))
        yield* settle
        const second = yield* Effect.fork(scheduler.runJob({ taskId: "t", args: [2] }))
        yield* settle
        expect(remote.log).toEqual(["start 1"])
        yield* remote.finish(Exit.succeed("one"))
        yield* settle
        expect(remote.log).toEqual(["start 1", "end 1", "start 1"])
        yield* remote.finish(Exit.succeed("two"))
        expect([(yield* Fiber.join(first)).returnValue, (yield* Fiber.join(second)).returnValue]).toEqual(["one", "two"])
      }).pipe(Effect.provide(SchedulerLive.layer(schedulerOptions).pipe(Layer.provideMerge(remote.infrastructure))))
    })
  }

  it.scoped("a stop gives runs the grace period, then cancels them and waits for the worker to end them", () => {
    const remote = fakeRemote()
    return Effect.gen(function*() {
      const events = yield* recordEvents
      const scope = yield* Scope.make()
      const context = yield* Layer.buildWithScope(SchedulerLive.layer({ stopGracePeriod: "10 seconds" }), scope)
      const provided = Effect.provide(context)
      yield* provided(configure({ id: "t", maxRunningJobs: null }))
      yield* provided(addJob("t"))
      yield* provided(addJob("t"))
      yield* events.waitFor(countOf("JobAcquired", 2))
      yield* settle
      const closing = yield* Effect.fork(Scope.close(scope, Exit.void))
      yield* settle
      yield* TestClock.adjust(3000)
      yield* remote.finish(Exit.succeed("in time"))
      yield* TestClock.adjust(7000)
      expect(remote.log.filter((line) => line.startsWith("cancel"))).toHaveLength(1)
      expect(Option.isNone(yield* Fiber.poll(closing))).toBe(true)
      yield* remote.finish(Exit.fail(new HandlerFailed({ tag: "Cancelled", message: "stopped" })))
      yield* Fiber.join(closing)
      const released = ofTag(yield* events.all, "JobReleased")
      expect(released.map((event) => [event.outcome, event.finishedAt])).toEqual([
        ["success", at(3000)],
        ["cancelled", at(10_000)]
      ])
    }).pipe(Effect.provide(remote.infrastructure))
  })
})
