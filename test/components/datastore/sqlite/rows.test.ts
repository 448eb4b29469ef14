import { describe, expect, it } from "@effect/vitest"
import { Either, Schema } from "effect"
import {
  executionColumns,
  executionRow,
  JobFromRow,
  jobColumns,
  jobFromRow,
  jobFromValues,
  jobRow,
  JobResultFromRow,
  resultColumns,
  resultRow,
  scheduleColumns,
  ScheduleFromRow,
  scheduleRow,
  triggerJson
} from "../../../../src/components/datastore/sqlite/rows.js"
import { JobId, ScheduleId, SchedulerId, TaskId } from "../../../../src/domain/ids.js"
import { Job } from "../../../../src/domain/Job.js"
import { Schedule } from "../../../../src/domain/Schedule.js"
import {
  AndTrigger,
  CalendarIntervalTrigger,
  CronTrigger,
  DateTrigger,
  IntervalTrigger,
  OrTrigger,
  Trigger
} from "../../../../src/domain/triggers/schema.js"
import { executionRecord } from "../../../../src/services/ExecutionLog.js"
import { JobError, JobResult } from "../../../../src/domain/JobResult.js"

const encode = Schema.encodeSync(JobResultFromRow)
const circular: Record<string, unknown> = {}
circular.self = circular

describe("sqlite rows", () => {
  it.each([
    ["a success with a JSON return value", { outcome: "success", returnValue: { n: 1, list: [1, "a"] }, error: null }],
    ["an error, no return value", { outcome: "error", returnValue: null, error: new JobError({ tag: "Boom", message: "it broke" }) }],
    ["a return value JSON cannot encode", { outcome: "success", returnValue: circular, error: null }],
    ["an undefined return value", { outcome: "success", returnValue: undefined, error: null }]
  ] as const)("resultRow encodes %s exactly as JobResultFromRow", (_, fields) => {
    const result = new JobResult({
      jobId: JobId.make("00000000-0000-4000-8000-000000000001"),
      taskId: TaskId.make("task"),
      attempt: 2,
      startedAt: new Date(1_000),
      finishedAt: new Date(2_000),
      expiresAt: new Date(3_000),
      ...fields
    })
    expect(resultRow(result)).toStrictEqual(encode(result))
  })

  const job = new Job({
    id: JobId.make("0190a1b2-c3d4-7000-8000-000000000001"),
    taskId: TaskId.make("task"),
    scheduleId: ScheduleId.make("nightly"),
    args: [1, "two", { three: 3 }],
    kwargs: { mode: "full" },
    scheduledFireTime: new Date(1_000),
    jitterMs: 12.5,
    startDeadline: new Date(61_000),
    resultExpirationTime: 60,
    metadata: { owner: "ops" },
    createdAt: new Date(900),
    attempt: 2,
    availableAt: new Date(1_500)
  })
  const valuesOf = (row: Record<string, unknown>) => jobColumns.map((column) => row[column])

  it("jobRow encodes a job exactly as JobFromRow", () => {
    expect(jobRow(job)).toStrictEqual(Schema.encodeSync(JobFromRow)(job))
  })

  it("jobFromValues and jobFromRow decode a row as JobFromRow does, with a lease in place of the stored one", () => {
    const row = jobRow(job)
    expect(Either.getOrThrow(jobFromValues(valuesOf(row)))).toStrictEqual(Schema.decodeUnknownSync(JobFromRow)(row))
    expect(Either.getOrThrow(jobFromRow(row))).toStrictEqual(job)
    const lease = { acquiredBy: SchedulerId.make("s1"), acquiredUntil: 40_000, startedAt: 10_000 }
    const leased = Either.getOrThrow(jobFromValues(valuesOf(row), lease))
    expect(leased).toStrictEqual(
      new Job({ ...job, acquiredBy: lease.acquiredBy, acquiredUntil: new Date(40_000), startedAt: new Date(10_000) })
    )
  })

  it.each([
    ["args that are not JSON", { args: "[1," }, "args"],
    ["kwargs that are not an object", { kwargs: "[]" }, "kwargs"],
    ["an attempt of 0", { attempt: 0 }, "attempt"],
    ["a job id that is not a UUID", { id: "job-1" }, "id"],
    ["a task id with surrounding blanks", { task_id: " task" }, "task_id"],
    ["an empty schedule id", { schedule_id: "" }, "schedule_id"],
    ["a negative jitter", { jitter_ms: -1 }, "jitter_ms"],
    ["a negative result lifetime", { result_expiration_time: -5 }, "result_expiration_time"]
  ] as const)("a row with %s fails with JobFromRow's error naming the column", (_, change, column) => {
    const decoded = jobFromValues(valuesOf({ ...jobRow(job), ...change }))
    expect(Either.isLeft(decoded) && decoded.left.message).toContain(`["${column}"]`)
  })

  it("the column lists the inserts bind are exactly the rows' fields, in the tables' order", () => {
    const result = new JobResult({
      jobId: job.id,
      taskId: job.taskId,
      outcome: "success",
      attempt: 1,
      startedAt: new Date(1_000),
      finishedAt: new Date(2_000),
      expiresAt: new Date(3_000),
      error: null,
      returnValue: null
    })
    const record = executionRecord({ job, result, task: undefined, schedulerId: "s1", willRetry: false })
    expect(Object.keys(jobRow(job))).toEqual(jobColumns)
    expect(Object.keys(resultRow(result))).toEqual(resultColumns)
    expect(Object.keys(executionRow(record))).toEqual(executionColumns)
  })

  const cron = CronTrigger.make({
    hour: "9",
    minute: "30",
    dayOfWeek: "mon-fri",
    startTime: new Date(Date.UTC(2026, 0, 1)),
    timezone: "Europe/Berlin",
    lastFireTime: new Date(Date.UTC(2026, 0, 2, 8, 30))
  })
  const interval = IntervalTrigger.make({ minutes: 5, startTime: new Date(0), endTime: new Date(3_600_000) })
  const triggers: ReadonlyArray<readonly [string, Trigger]> = [
    ["date", DateTrigger.make({ runTime: new Date(1_234), completed: true })],
    ["interval", interval],
    ["cron", cron],
    ["calendar interval", CalendarIntervalTrigger.make({ months: 1, hour: 3, startDate: "2026-01-31", timezone: "UTC" })],
    ["and", AndTrigger.make({ triggers: [cron, interval], threshold: 2, currentFireTimes: [new Date(5_000), null] })],
    ["or", OrTrigger.make({ triggers: [interval, OrTrigger.make({ triggers: [cron] })] })]
  ]

  it.each(triggers)("triggerJson stores a %s trigger as Schema.parseJson(Trigger) does", (_, trigger) => {
    const text = triggerJson(trigger)
    expect(JSON.parse(text)).toStrictEqual(JSON.parse(Schema.encodeSync(Schema.parseJson(Trigger))(trigger)))
    expect(Schema.decodeSync(Schema.parseJson(Trigger))(text)).toStrictEqual(trigger)
  })

  it("scheduleRow encodes a schedule as ScheduleFromRow does, column for column", () => {
    const schedule = Schedule.make({
      id: ScheduleId.make("nightly"),
      taskId: TaskId.make("task"),
      trigger: cron,
      args: [1],
      kwargs: { a: "b" },
      paused: true,
      coalesce: "all",
      misfireGraceTime: 30,
      maxJitter: 2.5,
      jobResultExpirationTime: 60,
      metadata: { team: "ops" },
      nextFireTime: new Date(10_000),
      lastFireTime: new Date(5_000),
      acquiredBy: SchedulerId.make("s1"),
      acquiredUntil: new Date(40_000)
    })
    const row = scheduleRow(schedule)
    const expected = Schema.encodeSync(ScheduleFromRow)(schedule)
    expect({ ...row, trigger: JSON.parse(row.trigger) }).toStrictEqual({ ...expected, trigger: JSON.parse(expected.trigger) })
    expect(Object.keys(row)).toEqual(scheduleColumns)
    expect(Schema.decodeSync(ScheduleFromRow)(row)).toStrictEqual(schedule)
  })
})
