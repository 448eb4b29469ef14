import { describe, expect, it } from "@effect/vitest"
import { Equal, Schema } from "effect"
import { instanceOf, withFields } from "../../src/domain/instances.js"
import { JobAcquired, SchedulerEvent } from "../../src/domain/events.js"
import { JobId, SchedulerId, TaskId } from "../../src/domain/ids.js"
import { Job } from "../../src/domain/Job.js"

const job = Job.make({
  id: JobId.make("00000000-0000-4000-8000-000000000001"),
  taskId: TaskId.make("task"),
  createdAt: new Date(0)
})

describe("memory store instances", () => {
  it("withFields makes what the class constructor makes", () => {
    const fields = { acquiredBy: SchedulerId.make("a"), acquiredUntil: new Date(5), startedAt: new Date(1) }
    const direct = withFields(job, fields)
    const constructed = Job.make({ ...job, ...fields })
    expect(direct).toStrictEqual(constructed)
    expect(direct).toBeInstanceOf(Job)
    // Equal compares nested arrays and records by reference, which validation replaces.
    expect(Equal.equals(direct, new Job({ ...job, ...fields }, true))).toBe(true)
    expect(Schema.encodeSync(Job)(direct)).toEqual(Schema.encodeSync(Job)(constructed))
    // The original is untouched.
    expect(job.acquiredBy).toBeNull()
  })

  it("instanceOf makes what the class constructor makes, tag included", () => {
    const fields = {
      timestamp: new Date(3),
      jobId: job.id,
      taskId: job.taskId,
      scheduleId: null,
      schedulerId: SchedulerId.make("a"),
      attempt: 1
    }
    const direct = instanceOf(JobAcquired, { _tag: "JobAcquired", ...fields })
    const constructed = JobAcquired.make(fields)
    expect(direct).toStrictEqual(constructed)
    expect(direct).toBeInstanceOf(JobAcquired)
    expect(Equal.equals(direct, constructed)).toBe(true)
    expect(Schema.encodeSync(SchedulerEvent)(direct)).toEqual(Schema.encodeSync(SchedulerEvent)(constructed))
  })
})
