import { describe, expect, it } from "@effect/vitest"
import { Cause, Clock, Duration, Effect, Exit, Fiber, Layer, Scope, TestClock } from "effect"
import * as LocalBroker from "../../../src/components/broker/Local.js"
import * as MemoryStore from "../../../src/components/datastore/Memory.js"
import * as LocalRegistry from "../../../src/components/registry/Local.js"
import { HandlerFailed, JobTimeout } from "../../../src/domain/errors.js"
import type { HandlerId, JobId, SchedulerId, TaskId } from "../../../src/domain/ids.js"
import { Job } from "../../../src/domain/Job.js"
import { RetryPolicy, Task } from "../../../src/domain/Task.js"
import { DataStore, type JobRelease } from "../../../src/services/DataStore.js"
import type { EventBroker } from "../../../src/services/EventBroker.js"
import { Scheduler, type TaskConfig } from "../../../src/services/Scheduler.js"
import { describeFailure } from "../../../src/services/scheduler/Attempt.js"
import * as SchedulerLive from "../../../src/services/scheduler/layer.js"
import { advanceUntilDone, at, clockAtT0, countOf, infrastructure, ofTag, recordEvents, schedulerStack, settle, T0 } from "./harness.js"

/** Handler methods whose behaviour the tests observe. */
const probe = () => {
  const state = { running: 0, maxRunning: 0, calls: 0, aborted: false }
  const handler = LocalRegistry.defineLocalHandler({
    id: "probe",
    methods: {
      noop: () => "ok",
      tenSeconds: () =>
        Effect.gen(function*() {
          state.running++
          state.maxRunning = Math.max(state.maxRunning, state.running)
          yield* Effect.sleep("10 seconds")
        }).pipe(Effect.ensuring(Effect.sync(() => state.running--))),
      fiveSeconds: () => Effect.as(Effect.sleep("5 seconds"), "finished"),
      forever: () => Effect.never,
      flaky: () => {
        state.calls++
        if (state.calls < 3) throw Object.assign(new Error(`failure ${state.calls}`), { name: "Flaky" })
        return `succeeded on call ${state.calls}`
      },
      alwaysFails: () => Effect.fail(new HandlerFailed({ tag: "Broken", message: "always" })),
      waitsForAbort: ({ signal }) =>
        new Promise<never>(() => {
          signal.addEventListener("abort", () => {
            state.aborted = true
          })
        })
    }
  })
  return { state, handler }
}

const configure = (config: Omit<TaskConfig, "handler">) =>
  Effect.flatMap(Scheduler, (scheduler) => scheduler.configureTask({ handler: "probe", ...config }))

const addJobs = (taskId: string, n: number) =>
  Effect.flatMap(Scheduler, (scheduler) =>
    Effect.forEach(Array.from({ length: n }), () => scheduler.addJob({ taskId, resultExpirationTime: 60 })))

describe("job runner", () => {
  it.scoped("max_running_jobs = 1 serialises the task's jobs", () => {
    const { handler, state } = probe()
    return Effect.gen(function*() {
      const events = yield* recordEvents
      yield* configure({ id: "serial", method: "tenSeconds", maxRunningJobs: 1 })
      yield* addJobs("serial", 3)
      const seen = yield* advanceUntilDone(events.waitFor(countOf("JobReleased", 3)))
      expect(state.maxRunning).toBe(1)
      const released = ofTag(seen, "JobReleased")
      expect(released.every((event) => event.outcome === "success")).toBe(true)
      for (let i = 1; i < released.length; i++) {
        expect(released[i]!.startedAt!.getTime()).toBeGreaterThanOrEqual(released[i - 1]!.finishedAt.getTime())
      }
    }).pipe(Effect.provide(schedulerStack([handler])))
  })

  it.scoped("max_running_jobs = 2 runs two at once", () => {
    const { handler, state } = probe()
    return Effect.gen(function*() {
      const events = yield* recordEvents
      yield* configure({ id: "pair", method: "tenSeconds", maxRunningJobs: 2 })
      yield* addJobs("pair", 4)
      yield* advanceUntilDone(events.waitFor(countOf("JobReleased", 4)))
      expect(state.maxRunning).toBe(2)
    }).pipe(Effect.provide(schedulerStack([handler])))
  })

  it.scoped("max_concurrent_jobs bounds the jobs one scheduler runs", () => {
    const { handler, state } = probe()
    return Effect.gen(function*() {
      const events = yield* recordEvents
      yield* configure({ id: "wide", method: "tenSeconds", maxRunningJobs: null })
      yield* addJobs("wide", 7)
      yield* advanceUntilDone(events.waitFor(countOf("JobReleased", 7)))
      expect(state.maxRunning).toBe(3)
    }).pipe(Effect.provide(schedulerStack([handler], { maxConcurrentJobs: 3 })))
  })

  describe("retries", () => {
    it.scoped("a failed attempt is retried with exponential backoff until it succeeds", () => {
      const { handler } = probe()
      return Effect.gen(function*() {
        const scheduler = yield* Scheduler
        const events = yield* recordEvents
        yield* configure({
          id: "flaky",
          method: "flaky",
          retry: { maxAttempts: 5, backoffBaseMs: 1000, backoffCapMs: 60_000, jitter: false }
        })
        const [jobId] = yield* addJobs("flaky", 1)
        const first = ofTag(yield* events.waitFor(countOf("JobReleased", 1)), "JobReleased")[0]!
        expect(first).toMatchObject({
          attempt: 1,
          outcome: "error",
          willRetry: true,
          startedAt: at(0),
          error: { tag: "Flaky", message: "failure 1" }
        })
        // The retry waits exactly base·2^0 = 1 s.
        yield* TestClock.adjust(999)
        yield* settle
        expect(ofTag(yield* events.all, "JobReleased")).toHaveLength(1)
        yield* TestClock.adjust(1)
        const second = ofTag(yield* events.waitFor(countOf("JobReleased", 2)), "JobReleased")[1]!
        expect(second).toMatchObject({ attempt: 2, outcome: "error", willRetry: true, startedAt: at(1000) })
        // Then base·2^1 = 2 s.
        yield* TestClock.adjust(2000)
        const third = ofTag(yield* events.waitFor(countOf("JobReleased", 3)), "JobReleased")[2]!
        expect(third).toMatchObject({ attempt: 3, outcome: "success", willRetry: false, startedAt: at(3000) })
        const result = yield* scheduler.getJobResult(jobId!)
        expect(result).toMatchObject({ outcome: "success", attempt: 3, returnValue: "succeeded on call 3" })
      }).pipe(Effect.provide(schedulerStack([handler])))
    })

    it.scoped("the last attempt's error is the result when attempts run out", () => {
      const { handler } = probe()
      return Effect.gen(function*() {
        const scheduler = yield* Scheduler
        const events = yield* recordEvents
        yield* configure({ id: "broken", method: "alwaysFails", retry: { maxAttempts: 2, backoffBaseMs: 500 } })
        const [jobId] = yield* addJobs("broken", 1)
        const seen = yield* advanceUntilDone(events.waitFor(countOf("JobReleased", 2)), "100 millis")
        expect(ofTag(seen, "JobReleased").map((event) => [event.attempt, event.willRetry])).toEqual([
          [1, true],
          [2, false]
        ])
        const result = yield* scheduler.getJobResult(jobId!)
        expect(result).toMatchObject({ outcome: "error", attempt: 2, error: { tag: "Broken", message: "always" } })
      }).pipe(Effect.provide(schedulerStack([handler])))
    })

    it.scoped("with jitter each delay is drawn in [0, base·2^(n-1)]", () => {
      const { handler } = probe()
      return Effect.gen(function*() {
        const store = yield* DataStore
        const events = yield* recordEvents
        yield* configure({ id: "jittery", method: "alwaysFails", retry: { maxAttempts: 2, backoffBaseMs: 10_000 } })
        const [jobId] = yield* addJobs("jittery", 1)
        const first = ofTag(yield* events.waitFor(countOf("JobReleased", 1)), "JobReleased")[0]!
        const [waiting] = yield* store.getJobs([jobId!])
        const delay = waiting!.availableAt!.getTime() - first.finishedAt.getTime()
        expect(delay).toBeGreaterThanOrEqual(0)
        expect(delay).toBeLessThanOrEqual(10_000)
        expect(waiting!.attempt).toBe(2)
      }).pipe(Effect.provide(schedulerStack([handler])))
    })
  })

  describe("timeouts", () => {
    it.scoped("an attempt past the task's timeout is interrupted and recorded as JobTimeout, then retried", () => {
      const { handler } = probe()
      return Effect.gen(function*() {
        const events = yield* recordEvents
        yield* configure({
          id: "slow",
          method: "tenSeconds",
          timeoutMs: 5000,
          retry: { maxAttempts: 2, backoffBaseMs: 0 }
        })
        const [jobId] = yield* addJobs("slow", 1)
        yield* settle
        yield* TestClock.adjust(5000)
        const first = ofTag(yield* events.waitFor(countOf("JobReleased", 1)), "JobReleased")[0]!
        expect(first).toMatchObject({
          outcome: "error",
          willRetry: true,
          finishedAt: at(5000),
          error: { tag: "JobTimeout", message: `job '${jobId}' timed out after 5000 ms` }
        })
        yield* settle
        yield* TestClock.adjust(5000)
        const second = ofTag(yield* events.waitFor(countOf("JobReleased", 2)), "JobReleased")[1]!
        expect(second).toMatchObject({ attempt: 2, outcome: "error", willRetry: false, error: { tag: "JobTimeout" } })
      }).pipe(Effect.provide(schedulerStack([handler])))
    })

    it.scoped("a timed-out Promise method sees its AbortSignal aborted", () => {
      const { handler, state } = probe()
      return Effect.gen(function*() {
        const events = yield* recordEvents
        yield* configure({ id: "abortable", method: "waitsForAbort", timeoutMs: 1000 })
        yield* addJobs("abortable", 1)
        yield* settle
        yield* TestClock.adjust(1000)
        const [released] = ofTag(yield* events.waitFor(countOf("JobReleased", 1)), "JobReleased")
        expect(released!.error?.tag).toBe("JobTimeout")
        expect(state.aborted).toBe(true)
      }).pipe(Effect.provide(schedulerStack([handler])))
    })
  })

  it("records a defect's name and message, and a typed error's tag", () => {
    expect(describeFailure(Cause.die(new RangeError("bad index")))).toMatchObject({
      tag: "RangeError",
      message: "bad index"
    })
    expect(describeFailure(Cause.die("plain"))).toMatchObject({ tag: "Defect", message: "plain" })
    expect(describeFailure(Cause.fail(new HandlerFailed({ tag: "Quota", message: "over" })))).toMatchObject({
      tag: "Quota",
      message: "over"
    })
    expect(describeFailure(Cause.fail(new JobTimeout({ jobId: "j", timeoutMs: 5 })))).toMatchObject({
      tag: "JobTimeout",
      message: "job 'j' timed out after 5 ms"
    })
  })

  describe("graceful stop", () => {
    it.scoped("running jobs finish within the grace period; the rest are cancelled; queued jobs stay queued", () => {
      const { handler } = probe()
      return Effect.gen(function*() {
        const store = yield* DataStore
        const events = yield* recordEvents
        const scope = yield* Scope.make()
        const context = yield* Layer.buildWithScope(SchedulerLive.layer({ stopGracePeriod: "10 seconds" }), scope)
        const scheduler = yield* Effect.provide(Scheduler, context)
        const provided = Effect.provide(context)
        yield* provided(configure({ id: "short", method: "fiveSeconds", maxRunningJobs: null }))
        yield* provided(configure({ id: "endless", method: "forever", maxRunningJobs: 1 }))
        const [short] = yield* provided(addJobs("short", 1))
        const [endless, queued] = yield* provided(addJobs("endless", 2))
        yield* events.waitFor(countOf("JobAcquired", 2))
        const closing = yield* Effect.fork(Scope.close(scope, Exit.void))
        yield* settle
        expect(yield* scheduler.state).toBe("stopping")
        yield* TestClock.adjust(5000)
        const finished = ofTag(yield* events.waitFor(countOf("JobReleased", 1)), "JobReleased")[0]!
        expect(finished).toMatchObject({ jobId: short, outcome: "success" })
        yield* settle
        expect(ofTag(yield* events.all, "JobReleased")).toHaveLength(1)
        yield* TestClock.adjust(5000)
        yield* Fiber.join(closing)
        const all = yield* events.all
        expect(ofTag(all, "JobReleased")[1]).toMatchObject({ jobId: endless, outcome: "cancelled", finishedAt: at(10_000) })
        expect(all[all.length - 1]).toMatchObject({ _tag: "SchedulerStopped", schedulerId: scheduler.id })
        expect((yield* store.getJobResult(endless!)).pipe((o) => o._tag === "Some" && o.value.outcome)).toBe("cancelled")
        const [stillQueued] = yield* store.getJobs([queued!])
        expect(stillQueued).toMatchObject({ acquiredBy: null, attempt: 1 })
        expect(yield* scheduler.state).toBe("stopped")
        expect((yield* Effect.flip(scheduler.runJob({ taskId: "short" })))._tag).toBe("SchedulerNotRunning")
      }).pipe(Effect.provide(infrastructure([handler])))
    })
  })

  describe("abandoned jobs", () => {
    const leasedJob = (schedulerId: string, retry: Partial<typeof RetryPolicy.Type>) =>
      Effect.gen(function*() {
        const store = yield* DataStore
        yield* store.addTask(
          Task.make({
            id: "t" as TaskId,
            handler: "probe" as HandlerId,
            method: "noop",
            retry: RetryPolicy.make({ backoffBaseMs: 0, ...retry })
          })
        )
        const job = Job.make({
          id: crypto.randomUUID() as JobId,
          taskId: "t" as TaskId,
          createdAt: at(0),
          resultExpirationTime: 60
        })
        yield* store.addJob(job)
        expect(yield* store.acquireJobs(schedulerId as SchedulerId, Duration.seconds(30), 10)).toHaveLength(1)
        return job.id
      })

    it.scoped("a restarted scheduler reaps the jobs still leased to its id", () => {
      const { handler } = probe()
      return Effect.gen(function*() {
        const store = yield* DataStore
        const events = yield* recordEvents
        const jobId = yield* leasedJob("restarting", { maxAttempts: 1 })
        yield* Layer.build(SchedulerLive.layer({ id: "restarting" }))
        const seen = yield* events.waitFor(countOf("SchedulerStarted", 1))
        const released = ofTag(seen, "JobReleased")
        expect(released).toMatchObject([{ jobId, outcome: "abandoned", willRetry: false, schedulerId: "restarting" }])
        // Reaped before the scheduler announced itself.
        expect(seen.findIndex((e) => e._tag === "JobReleased")).toBeLessThan(seen.findIndex((e) => e._tag === "SchedulerStarted"))
        const result = yield* store.getJobResult(jobId)
        expect(result._tag === "Some" && result.value.outcome).toBe("abandoned")
      }).pipe(Effect.provide(infrastructure([handler])))
    })

    it.scoped("another scheduler's periodic cleanup reaps jobs whose lease expired and runs their retry", () => {
      const { handler } = probe()
      return Effect.gen(function*() {
        const events = yield* recordEvents
        const jobId = yield* leasedJob("dead", { maxAttempts: 2 })
        yield* Layer.build(SchedulerLive.layer({ id: "survivor", cleanupInterval: "10 seconds" }))
        yield* TestClock.adjust(29_999)
        yield* settle
        expect(ofTag(yield* events.all, "JobReleased")).toHaveLength(0)
        const seen = yield* advanceUntilDone(events.waitFor(countOf("JobReleased", 2)))
        expect(ofTag(seen, "JobReleased")).toMatchObject([
          { jobId, attempt: 1, outcome: "abandoned", willRetry: true, schedulerId: "dead" },
          { jobId, attempt: 2, outcome: "success", schedulerId: "survivor" }
        ])
      }).pipe(Effect.provide(infrastructure([handler])))
    })

    it.scoped("leases of running jobs are extended, so cleanup never reaps a live job", () => {
      const { handler } = probe()
      return Effect.gen(function*() {
        const scheduler = yield* Scheduler
        const store = yield* DataStore
        const events = yield* recordEvents
        yield* configure({ id: "long", method: "forever" })
        const [jobId] = yield* addJobs("long", 1)
        yield* events.waitFor(countOf("JobAcquired", 1))
        for (let i = 0; i < 12; i++) yield* TestClock.adjust("5 seconds")
        yield* scheduler.cleanup()
        yield* settle
        expect(ofTag(yield* events.all, "JobReleased")).toHaveLength(0)
        const [job] = yield* store.getJobs([jobId!])
        expect(job!.acquiredBy).toBe(scheduler.id)
        expect(job!.acquiredUntil!.getTime()).toBeGreaterThan(T0 + 60_000)
      }).pipe(Effect.provide(schedulerStack([handler], { leaseDuration: "30 seconds", stopGracePeriod: 0 })))
    })
  })
})

describe("stop from an interrupted fiber", () => {
  it.scoped("a scheduler whose owning fiber is interrupted still gives running jobs the grace period and releases every job", () => {
    const { handler } = probe()
    return Effect.gen(function*() {
      const store = yield* DataStore
      const events = yield* recordEvents
      const owner = yield* Effect.fork(
        Effect.scoped(
          Effect.gen(function*() {
            const context = yield* Layer.build(SchedulerLive.layer({ stopGracePeriod: "1 minute" }))
            yield* Effect.provide(configure({ id: "slow", method: "tenSeconds", maxRunningJobs: null }), context)
            yield* Effect.provide(configure({ id: "quick", method: "noop", maxRunningJobs: null }), context)
            yield* Effect.provide(configure({ id: "endless", method: "forever", maxRunningJobs: null }), context)
            yield* Effect.provide(addJobs("slow", 2), context)
            yield* Effect.provide(addJobs("endless", 1), context)
            yield* Effect.provide(addJobs("quick", 3), context)
            return yield* Effect.never
          })
        )
      )
      yield* events.waitFor(countOf("JobReleased", 3))
      const stopping = yield* Effect.fork(Fiber.interrupt(owner))
      yield* settle
      yield* TestClock.adjust("10 seconds")
      expect(ofTag(yield* events.waitFor(countOf("JobReleased", 5)), "JobReleased")).toHaveLength(5)
      yield* TestClock.adjust("50 seconds")
      yield* Fiber.join(stopping)
      const released = ofTag(yield* events.all, "JobReleased")
      expect(released.map((event) => event.outcome)).toEqual(["success", "success", "success", "success", "success", "cancelled"])
      expect(released[5]!.finishedAt).toEqual(at(60_000))
      expect(yield* store.getJobs()).toEqual([])
    }).pipe(Effect.provide(infrastructure([handler])))
  })
})

describe("job releases at a store's pace (a store that sets streamPaceMs)", () => {
  const paceMs = 10
  /** The memory store presenting a pace, with each releaseJobs call's time and jobs recorded. */
  const pacedStore = () => {
    const writes: Array<{ readonly atMs: number; readonly jobIds: ReadonlyArray<JobId> }> = []
    const layer = Layer.effect(
      DataStore,
      Effect.map(DataStore, (store) => ({
        ...store,
        streamPaceMs: paceMs,
        releaseJobs: (schedulerId: SchedulerId, releases: ReadonlyArray<JobRelease>) =>
          Effect.zipRight(
            Effect.map(Clock.currentTimeMillis, (atMs) => writes.push({ atMs, jobIds: releases.map((r) => r.job.id) })),
            store.releaseJobs(schedulerId, releases)
          )
      }))
    ).pipe(Layer.provideMerge(MemoryStore.layer), Layer.provideMerge(LocalBroker.layer))
    return { writes, layer }
  }
  const stack = (handler: LocalRegistry.LocalHandler, layer: Layer.Layer<DataStore | EventBroker>) =>
    SchedulerLive.layer({}).pipe(
      Layer.provideMerge(Layer.mergeAll(layer, LocalRegistry.layer([handler])).pipe(Layer.provide(clockAtT0)))
    )
  const sleeper = LocalRegistry.defineLocalHandler({
    id: "probe",
    methods: {
      sleepMs: ({ args }) => Effect.sleep(Duration.millis(args[0] as number)),
      noop: () => "ok"
    }
  })

  /** Each job's write time after its end: within the pace; and writes at most once per pace. */
  const expectPaced = (
    writes: ReadonlyArray<{ readonly atMs: number; readonly jobIds: ReadonlyArray<JobId> }>,
    released: ReadonlyArray<{ readonly jobId: JobId; readonly finishedAt: Date }>
  ) => {
    const writtenAt = new Map(writes.flatMap((write) => write.jobIds.map((id) => [id, write.atMs] as const)))
    for (const event of released) {
      const lagMs = writtenAt.get(event.jobId)! - event.finishedAt.getTime()
      expect([event.jobId, lagMs >= 0 && lagMs <= paceMs]).toEqual([event.jobId, true])
    }
    for (let i = 1; i < writes.length; i++) expect(writes[i]!.atMs - writes[i - 1]!.atMs).toBeGreaterThanOrEqual(paceMs)
  }

  it.scoped("jobs ending a few ms apart are written together, none later than the pace after its end", () => {
    const { layer, writes } = pacedStore()
    return Effect.gen(function*() {
      const scheduler = yield* Scheduler
      const events = yield* recordEvents
      yield* scheduler.configureTask({ id: "stream", handler: "probe", method: "sleepMs", maxRunningJobs: null })
      const ends = [1, 2, 3, 4, 5, 13, 40]
      for (const ms of ends) yield* scheduler.addJob({ taskId: "stream", args: [ms] })
      const released = ofTag(
        yield* advanceUntilDone(events.waitFor(countOf("JobReleased", ends.length)), "1 millis"),
        "JobReleased"
      )
      expect(released.map((event) => event.finishedAt)).toEqual(ends.map(at))
      // The first at once, the next four a pace after it, the one at 13 a pace after that; the
      // last at its end (a pace had passed).
      expect(writes.map((write) => write.atMs - T0)).toEqual([1, 11, 21, 40])
      expectPaced(writes, released)
    }).pipe(Effect.provide(stack(sleeper, layer)))
  })

  it.scoped("jobs done as they start (synchronous handlers) are written at the pace too", () => {
    const { layer, writes } = pacedStore()
    return Effect.gen(function*() {
      const scheduler = yield* Scheduler
      const events = yield* recordEvents
      yield* scheduler.configureTask({ id: "quick", handler: "probe", method: "noop", maxRunningJobs: null })
      yield* scheduler.addJob({ taskId: "quick" })
      yield* events.waitFor(countOf("JobReleased", 1))
      for (let i = 0; i < 3; i++) yield* scheduler.addJob({ taskId: "quick" })
      yield* settle
      // Ended within the pace of the first write: held until it passed.
      expect(ofTag(yield* events.all, "JobReleased")).toHaveLength(1)
      const released = ofTag(yield* advanceUntilDone(events.waitFor(countOf("JobReleased", 4)), "1 millis"), "JobReleased")
      expect(writes.map((write) => [write.atMs - T0, write.jobIds.length])).toEqual([[0, 1], [paceMs, 3]])
      expectPaced(writes, released)
    }).pipe(Effect.provide(stack(sleeper, layer)))
  })
})
