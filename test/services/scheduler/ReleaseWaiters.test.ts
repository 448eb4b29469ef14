import { describe, expect, it } from "@effect/vitest"
import { Effect, Fiber, Option } from "effect"
import { JobReleased } from "../../../src/domain/events.js"
import type { JobId, SchedulerId, TaskId } from "../../../src/domain/ids.js"
import { makeReleaseWaiters } from "../../../src/services/scheduler/ReleaseWaiters.js"

const jobId = "00000000-0000-4000-8000-000000000001" as JobId
const otherJobId = "00000000-0000-4000-8000-000000000002" as JobId

const release = (willRetry: boolean, id: JobId = jobId) =>
  new JobReleased({
    timestamp: new Date(0),
    jobId: id,
    taskId: "t" as TaskId,
    scheduleId: null,
    schedulerId: "s" as SchedulerId,
    attempt: 1,
    outcome: "error",
    willRetry,
    scheduledFireTime: null,
    startedAt: null,
    finishedAt: new Date(0),
    error: null
  })

const isWaiting = (fiber: Fiber.RuntimeFiber<void>) => Effect.map(Fiber.poll(fiber), Option.isNone)

describe("ReleaseWaiters", () => {
  it.scoped("wakes every caller waiting for a job at its final release only", () =>
    Effect.gen(function* () {
      const waiters = makeReleaseWaiters()
      const first = yield* Effect.fork(waiters.waitFor(jobId).await)
      const second = yield* Effect.fork(waiters.waitFor(jobId).await)
      waiters.released(release(true))
      waiters.released(release(false, otherJobId))
      yield* Effect.yieldNow()
      expect(yield* isWaiting(first)).toBe(true)
      waiters.released(release(false))
      yield* Fiber.join(first)
      yield* Fiber.join(second)
    }))

  it.scoped("a release written before the caller awaits is not missed", () =>
    Effect.gen(function* () {
      const waiters = makeReleaseWaiters()
      const wait = waiters.waitFor(jobId)
      waiters.finished(jobId)
      yield* wait.await
    }))

  it.scoped("close wakes every caller, and later waits complete at once", () =>
    Effect.gen(function* () {
      const waiters = makeReleaseWaiters()
      const waiting = yield* Effect.fork(waiters.waitFor(jobId).await)
      const other = yield* Effect.fork(waiters.waitFor(otherJobId).await)
      yield* Effect.yieldNow()
      expect(yield* isWaiting(waiting)).toBe(true)
      waiters.close()
      yield* Fiber.join(waiting)
      yield* Fiber.join(other)
      expect(waiters.closed()).toBe(true)
      yield* waiters.waitFor(jobId).await
    }))

  it.scoped("a cancelled wait is forgotten; the other caller still wakes", () =>
    Effect.gen(function* () {
      const waiters = makeReleaseWaiters()
      const gaveUp = waiters.waitFor(jobId)
      const kept = yield* Effect.fork(waiters.waitFor(jobId).await)
      gaveUp.cancel()
      gaveUp.cancel()
      waiters.finished(jobId)
      yield* Fiber.join(kept)
      // Nothing is left behind: a later waiter for the same id waits for a new release.
      const later = yield* Effect.fork(waiters.waitFor(jobId).await)
      yield* Effect.yieldNow()
      expect(yield* isWaiting(later)).toBe(true)
      waiters.finished(jobId)
      yield* Fiber.join(later)
    }))
})
