import { describe, expect, it } from "@effect/vitest"
import { Duration, Effect, Layer, TestClock } from "effect"
import * as LocalRegistry from "../../../src/components/registry/Local.js"
import type { HandlerId, JobId, SchedulerId, TaskId } from "../../../src/domain/ids.js"
import { Job } from "../../../src/domain/Job.js"
import { RetryPolicy, Task } from "../../../src/domain/Task.js"
import { DataStore } from "../../../src/services/DataStore.js"
import { Scheduler, type SchedulerShape } from "../../../src/services/Scheduler.js"
import * as SchedulerLive from "../../../src/services/scheduler/layer.js"
import { advanceUntilDone, at, countOf, infrastructure, ofTag, recordEvents, schedulerStack, settle } from "./harness.js"

const probe = () => {
  const state = { aborted: 0, ran: 0 }
  const handler = LocalRegistry.defineLocalHandler({
    id: "probe",
    methods: {
      noop: () => {
        state.ran++
        return "done"
      },
      waitsForAbort: ({ signal }) => {
        state.ran++
        return new Promise<never>(() => {
          signal.addEventListener("abort", () => {
            state.aborted++
          })
        })
      }
    }
  })
  return { state, handler }
}

const startScheduler = (id: string) =>
  Effect.flatMap(Layer.build(SchedulerLive.layer({ id, cleanupInterval: null })), (context) =>
    Effect.provide(Scheduler, context))

const addJob = (scheduler: SchedulerShape, taskId: string) =>
  scheduler.addJob({ taskId, resultExpirationTime: 60 })

describe("cancelling jobs", () => {
  it.scoped("a queued job is removed without running; its result says cancelled", () => {
    const { handler, state } = probe()
    return Effect.gen(function*() {
      const scheduler = yield* Scheduler
      const store = yield* DataStore
      const events = yield* recordEvents
      yield* scheduler.configureTask({ id: "serial", handler: "probe", method: "waitsForAbort", maxRunningJobs: 1 })
      const running = yield* addJob(scheduler, "serial")
      const queued = yield* addJob(scheduler, "serial")
      yield* events.waitFor(countOf("JobAcquired", 1))
      yield* TestClock.adjust(1000)
      const cancelled = yield* scheduler.cancelJob(queued, { reason: "obsolete" })
      expect(cancelled).toMatchObject({
        _tag: "Cancelled",
        wasRunning: false,
        result: { jobId: queued, outcome: "cancelled", startedAt: null, error: { tag: "JobCancelled", message: "obsolete" } }
      })
      const [release] = ofTag(yield* events.waitFor(countOf("JobReleased", 1)), "JobReleased")
      expect(release).toMatchObject({ jobId: queued, outcome: "cancelled", willRetry: false, schedulerId: scheduler.id })
      expect((yield* store.getJobs()).map((job) => job.id)).toEqual([running])
      expect(state.ran).toBe(1)
      expect((yield* scheduler.getJobResult(queued)).outcome).toBe("cancelled")
    }).pipe(Effect.provide(schedulerStack([handler], { stopGracePeriod: 0 })))
  })

  it.scoped("a job running here is interrupted and ends cancelled, with no retry", () => {
    const { handler, state } = probe()
    return Effect.gen(function*() {
      const scheduler = yield* Scheduler
      const events = yield* recordEvents
      yield* scheduler.configureTask({
        id: "retrying",
        handler: "probe",
        method: "waitsForAbort",
        retry: { maxAttempts: 3, backoffBaseMs: 0 }
      })
      const jobId = yield* addJob(scheduler, "retrying")
      yield* events.waitFor(countOf("JobAcquired", 1))
      yield* TestClock.adjust(2000)
      const cancelled = yield* scheduler.cancelJob(jobId, { reason: "operator" })
      expect(cancelled).toMatchObject({
        _tag: "Cancelled",
        wasRunning: true,
        result: {
          outcome: "cancelled",
          attempt: 1,
          startedAt: at(0),
          finishedAt: at(2000),
          error: { tag: "JobCancelled", message: "operator" }
        }
      })
      expect(state.aborted).toBe(1)
      // Written before cancelJob returned.
      expect(yield* scheduler.getJobResult(jobId)).toEqual(cancelled._tag === "Cancelled" && cancelled.result)
      yield* TestClock.adjust(10_000)
      yield* settle
      const all = yield* events.all
      expect(ofTag(all, "JobReleased")).toMatchObject([{ jobId, outcome: "cancelled", willRetry: false }])
      expect(ofTag(all, "JobAcquired")).toHaveLength(1)
      expect(state.ran).toBe(1)
    }).pipe(Effect.provide(schedulerStack([handler])))
  })

  it.scoped("a finished job cannot be cancelled; an unknown one is not found", () => {
    const { handler } = probe()
    return Effect.gen(function*() {
      const scheduler = yield* Scheduler
      yield* scheduler.configureTask({ id: "quick", handler: "probe", method: "noop" })
      const result = yield* scheduler.runJob({ taskId: "quick" })
      const late = yield* Effect.flip(scheduler.cancelJob(result.jobId))
      expect(late).toMatchObject({ _tag: "JobAlreadyFinished", jobId: result.jobId, outcome: "success" })
      const unknown = yield* Effect.flip(scheduler.cancelJob("00000000-0000-4000-8000-000000000000" as JobId))
      expect(unknown._tag).toBe("JobNotFound")
    }).pipe(Effect.provide(schedulerStack([handler])))
  })

  it.scoped("a job running on another scheduler is cancelled by that scheduler on request", () => {
    const { handler, state } = probe()
    return Effect.gen(function*() {
      const events = yield* recordEvents
      const runner = yield* startScheduler("runner")
      yield* runner.configureTask({ id: "remote", handler: "probe", method: "waitsForAbort" })
      const jobId = yield* addJob(runner, "remote")
      yield* events.waitFor(countOf("JobAcquired", 1))
      const requester = yield* startScheduler("requester")
      yield* TestClock.adjust(3000)
      const requested = yield* requester.cancelJob(jobId, { reason: "from the portal" })
      expect(requested).toEqual({ _tag: "CancelRequested", schedulerId: "runner" })
      const seen = yield* events.waitFor(countOf("JobReleased", 1))
      expect(ofTag(seen, "JobCancelRequested")).toMatchObject([
        { jobId, taskId: "remote", schedulerId: "runner", requestedBy: "requester", reason: "from the portal" }
      ])
      expect(ofTag(seen, "JobReleased")).toMatchObject([
        {
          jobId,
          schedulerId: "runner",
          outcome: "cancelled",
          willRetry: false,
          error: { tag: "JobCancelled", message: "from the portal" }
        }
      ])
      expect(state.aborted).toBe(1)
    }).pipe(Effect.provide(infrastructure([handler])))
  })

  it.scoped("a job left leased by a dead scheduler is reaped, then cancelled", () => {
    const { handler, state } = probe()
    return Effect.gen(function*() {
      const store = yield* DataStore
      const events = yield* recordEvents
      yield* store.addTask(
        Task.make({
          id: "t" as TaskId,
          handler: "probe" as HandlerId,
          method: "noop",
          retry: RetryPolicy.make({ maxAttempts: 2, backoffBaseMs: 1000, jitter: false })
        })
      )
      const job = Job.make({ id: crypto.randomUUID() as JobId, taskId: "t" as TaskId, createdAt: at(0) })
      yield* store.addJob(job)
      yield* store.acquireJobs("dead" as SchedulerId, Duration.seconds(30), 10)
      const scheduler = yield* startScheduler("survivor")
      yield* TestClock.adjust(30_000)
      const cancelled = yield* scheduler.cancelJob(job.id)
      expect(cancelled).toMatchObject({ _tag: "Cancelled", wasRunning: false, result: { outcome: "cancelled", attempt: 2 } })
      const released = ofTag(yield* advanceUntilDone(events.waitFor(countOf("JobReleased", 2))), "JobReleased")
      expect(released).toMatchObject([
        { attempt: 1, outcome: "abandoned", willRetry: true, schedulerId: "dead" },
        { attempt: 2, outcome: "cancelled", schedulerId: "survivor" }
      ])
      expect(state.ran).toBe(0)
      expect(yield* store.getJobs()).toEqual([])
    }).pipe(Effect.provide(infrastructure([handler])))
  })
})
