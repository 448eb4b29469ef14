import { describe, expect, it } from "@effect/vitest"
import { Effect, Fiber, Option } from "effect"
import { JobReleased } from "../../../src/domain/events.js"
import type { JobId, SchedulerId, TaskId } from "../../../src/domain/ids.js"
import { makeReleaseWaiters } from "../../../src/services/scheduler/ReleaseWaiters.js"

const jobId = "00000000-0000-4000-8000-000000000001" as JobId

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

describe("ReleaseWaiters", () => {
  it.scoped("wakes every caller waiting for a job at its final release only", () =>
    Effect.gen(function* () {
      const waiters = makeReleaseWaiters()
      const first = yield* Effect.fork(yield* waiters.waitFor(jobId))
      const second = yield* Effect.fork(yield* waiters.waitFor(jobId))
      waiters.released(release(true))
      waiters.released(release(false, "00000000-0000-4000-8000-000000000002" as JobId))
      yield* Effect.yieldNow()
      expect(Option.isNone(yield* Fiber.poll(first))).toBe(true)
      waiters.released(release(false))
      yield* Fiber.join(first)
      yield* Fiber.join(second)
    }))
})
