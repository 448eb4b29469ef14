import { describe, expect, it } from "@effect/vitest"
import { Effect, Exit } from "effect"
import { HandlerFailed, HandlerLost } from "../../../src/domain/errors.js"
import type { HandlerId, JobId, TaskId } from "../../../src/domain/ids.js"
import { Job } from "../../../src/domain/Job.js"
import { RetryPolicy, Task } from "../../../src/domain/Task.js"
import { releaseFor } from "../../../src/services/scheduler/Attempt.js"

const task = Task.make({
  id: "remote" as TaskId,
  handler: "worker" as HandlerId,
  method: "run",
  retry: RetryPolicy.make({ maxAttempts: 2, backoffBaseMs: 1000, jitter: false })
})

const jobAt = (attempt: number) =>
  Job.make({ id: "00000000-0000-4000-8000-000000000001" as JobId, taskId: task.id, createdAt: new Date(0), attempt })

const lost = new HandlerLost({ handler: "worker", instanceId: "i-1", jobId: "00000000-0000-4000-8000-000000000001" })

describe("releaseFor", () => {
  it.effect("a lost handler instance abandons the attempt, which is retried per the task's policy", () =>
    Effect.gen(function*() {
      const first = yield* releaseFor(jobAt(1), task, 0, 10, Exit.fail(lost))
      expect(first).toMatchObject({
        _tag: "Retry",
        availableAt: new Date(1010),
        result: { outcome: "abandoned", attempt: 1, error: { tag: "HandlerLost", message: lost.message } }
      })
      const last = yield* releaseFor(jobAt(2), task, 0, 10, Exit.fail(lost))
      expect(last).toMatchObject({ _tag: "Finished", result: { outcome: "abandoned", attempt: 2 } })
    }))

  it.effect("a handler's own failure is an error", () =>
    Effect.gen(function*() {
      const failed = yield* releaseFor(jobAt(2), task, 0, 10, Exit.fail(new HandlerFailed({ tag: "E", message: "m" })))
      expect(failed).toMatchObject({ _tag: "Finished", result: { outcome: "error", error: { tag: "E" } } })
    }))
})
