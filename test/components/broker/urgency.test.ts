/**
 * Which published events another process acts on at once (sent without being
 * held back) and which only inform.
 */
import { describe, expect, it } from "@effect/vitest"
import { actedOnAtOnce, heldBackMs, wakeHorizonMs } from "../../../src/components/broker/urgency.js"
import { prepareLeadMs } from "../../../src/services/scheduler/ScheduleLoop.js"
import {
  JobAcquired,
  JobAdded,
  JobCancelRequested,
  JobReleased,
  type SchedulerEvent,
  ScheduleRemoved,
  ScheduleUpdated,
  SchedulerStarted,
  TaskUpdated
} from "../../../src/domain/events.js"
import { JobId, ScheduleId, SchedulerId, TaskId } from "../../../src/domain/ids.js"

const nowMs = 1_000_000
const timestamp = new Date(nowMs)
const taskId = TaskId.make("task")
const scheduleId = ScheduleId.make("schedule")
const schedulerId = SchedulerId.make("a")
const jobId = (n: number) => JobId.make(`00000000-0000-4000-8000-${String(n).padStart(12, "0")}`)

const acquired = (n: number) => new JobAcquired({ timestamp, jobId: jobId(n), taskId, scheduleId, schedulerId, attempt: 1 })
const added = (n: number) => new JobAdded({ timestamp, jobId: jobId(n), taskId, scheduleId })
const released = (n: number, willRetry: boolean) =>
  new JobReleased({
    timestamp,
    jobId: jobId(n),
    taskId,
    scheduleId,
    schedulerId,
    attempt: 1,
    outcome: willRetry ? "error" : "success",
    willRetry,
    scheduledFireTime: timestamp,
    startedAt: timestamp,
    finishedAt: timestamp,
    error: null
  })
const updated = (nextFireMs: number | null) =>
  new ScheduleUpdated({ timestamp, scheduleId, taskId, nextFireTime: nextFireMs === null ? null : new Date(nextFireMs) })

const urgent = (events: ReadonlyArray<SchedulerEvent>) => actedOnAtOnce(events, nowMs)

describe("actedOnAtOnce", () => {
  it("a next fire time beyond the wake horizon reaches a scheduler held back in time to lease it ahead", () => {
    expect(wakeHorizonMs).toBeGreaterThan(heldBackMs + prepareLeadMs)
  })

  it("jobs acquired only inform", () => {
    expect(urgent([acquired(1)])).toBe(false)
    expect(urgent([acquired(1), acquired(2)])).toBe(false)
  })

  it("an attempt's end informs, unless the job is retried", () => {
    expect(urgent([released(1, false)])).toBe(false)
    expect(urgent([released(1, true)])).toBe(true)
    expect(urgent([released(1, false), released(2, true)])).toBe(true)
  })

  it("a next fire time soon (or overdue) wakes another schedule loop; one far away or none only informs", () => {
    expect(urgent([updated(nowMs + 10)])).toBe(true)
    expect(urgent([updated(nowMs - 5_000)])).toBe(true)
    expect(urgent([updated(nowMs + 60_000)])).toBe(false)
    expect(urgent([updated(null)])).toBe(false)
    expect(urgent([updated(nowMs + 60_000), updated(nowMs + 10)])).toBe(true)
  })

  it("a job added is acted on unless acquired in the same publish, in either order", () => {
    expect(urgent([added(1)])).toBe(true)
    expect(urgent([added(1), acquired(1)])).toBe(false)
    expect(urgent([acquired(1), added(1)])).toBe(false)
    // Acquired another job: this one is still free for any scheduler.
    expect(urgent([added(1), acquired(2)])).toBe(true)
    expect(urgent([added(1), acquired(1), added(2)])).toBe(true)
  })

  it("a schedule release's events only inform when the job was acquired with it and the next fire time is far", () => {
    expect(urgent([updated(nowMs + 60_000), added(1), acquired(1), released(1, false)])).toBe(false)
    expect(urgent([updated(nowMs + 10), added(1), acquired(1)])).toBe(true)
  })

  it("other events are acted on at once", () => {
    const others: ReadonlyArray<SchedulerEvent> = [
      new JobCancelRequested({ timestamp, jobId: jobId(1), taskId, schedulerId, requestedBy: schedulerId, reason: null }),
      new TaskUpdated({ timestamp, taskId }),
      new ScheduleRemoved({ timestamp, scheduleId, taskId, finished: true }),
      new SchedulerStarted({ timestamp, schedulerId })
    ]
    for (const event of others) {
      expect([event._tag, urgent([event])]).toEqual([event._tag, true])
      expect([event._tag, urgent([acquired(1), event])]).toEqual([event._tag, true])
    }
    expect(urgent([])).toBe(false)
  })
})
