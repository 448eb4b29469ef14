import { describe, expect, it } from "@effect/vitest"
import { Option, Schema } from "effect"
import { decodeEvent } from "../../../src/components/broker/fastDecode.js"
import { encodeEvent } from "../../../src/components/broker/zmq/encode.js"
import {
  JobAcquired,
  JobAdded,
  JobReleased,
  SchedulerEvent,
  ScheduleRemoved,
  ScheduleUpdated
} from "../../../src/domain/events.js"
import { JobId, ScheduleId, SchedulerId, TaskId } from "../../../src/domain/ids.js"
import { JobError } from "../../../src/domain/JobResult.js"

const jobId = JobId.make("0b6f3c9e-2d4a-4c1e-9a7b-5f8e2d1c3b4a")
const taskId = TaskId.make("task-1")
const scheduleId = ScheduleId.make("nightly report")
const schedulerId = SchedulerId.make("scheduler-a")
const at = new Date("2026-11-28T12:00:00.123Z")

const events: ReadonlyArray<SchedulerEvent> = [
  JobAdded.make({ timestamp: at, jobId, taskId, scheduleId: null }),
  JobAdded.make({ timestamp: at, jobId, taskId, scheduleId }),
  JobAcquired.make({ timestamp: at, jobId, taskId, scheduleId, schedulerId, attempt: 2 }),
  JobReleased.make({
    timestamp: at,
    jobId,
    taskId,
    scheduleId,
    schedulerId,
    attempt: 1,
    outcome: "error",
    willRetry: true,
    scheduledFireTime: at,
    startedAt: null,
    finishedAt: at,
    error: JobError.make({ tag: "Boom", message: "a \"quoted\"\nmessage" })
  }),
  JobReleased.make({
    timestamp: at,
    jobId,
    taskId,
    scheduleId: null,
    schedulerId,
    attempt: 1,
    outcome: "success",
    willRetry: false,
    scheduledFireTime: null,
    startedAt: at,
    finishedAt: at,
    error: null
  }),
  ScheduleUpdated.make({ timestamp: at, scheduleId, taskId, nextFireTime: null }),
  ScheduleUpdated.make({ timestamp: at, scheduleId, taskId, nextFireTime: at }),
  ScheduleRemoved.make({ timestamp: at, scheduleId, taskId, finished: true })
]

const bySchema = Schema.decodeUnknownOption(SchedulerEvent)
const wire = (event: SchedulerEvent): Record<string, unknown> => JSON.parse(encodeEvent(event))

describe("fast event decoding", () => {
  it("decodes each event as its schema does: equal fields, same class", () => {
    for (const event of events) {
      const decoded = Option.getOrThrow(decodeEvent(wire(event)))
      expect(decoded).toEqual(Option.getOrThrow(bySchema(wire(event))))
      expect(decoded).toEqual(event)
      expect(Object.getPrototypeOf(decoded)).toBe(Object.getPrototypeOf(event))
      if (decoded._tag === "JobReleased" && decoded.error !== null) expect(decoded.error).toBeInstanceOf(JobError)
    }
  })

  it("leaves what its checks do not vouch for to the schema: rejected where the schema rejects", () => {
    const added = wire(events[1]!)
    const released = wire(events[3]!)
    const rejected: ReadonlyArray<unknown> = [
      { ...added, jobId: "not-a-uuid" },
      { ...added, taskId: " padded " },
      { ...added, taskId: "" },
      { ...added, scheduleId: "x".repeat(201) },
      { ...added, timestamp: "yesterday" },
      { ...added, timestamp: 5 },
      { ...released, attempt: 1.5 },
      { ...released, outcome: "exploded" },
      { ...released, willRetry: "yes" },
      { ...released, error: { tag: "Boom" } },
      { ...released, finishedAt: null },
      { ...added, _tag: "constructor" },
      { ...added, _tag: "NoSuchEvent" },
      null,
      "JobAdded"
    ]
    for (const item of rejected) {
      expect({ item, decoded: decodeEvent(item) }).toEqual({ item, decoded: bySchema(item) })
      expect(Option.isNone(decodeEvent(item))).toBe(true)
    }
  })

  it("ignores fields an event does not have, as the schema does", () => {
    const decoded = decodeEvent({ ...wire(events[0]!), extra: 1 })
    expect(decoded).toEqual(Option.some(events[0]))
  })
})
