/**
 * Row codecs: each table's columns as a Schema, transformed to and from the
 * domain class. Instants are integer ms (UTC), flags 0/1 (better-sqlite3
 * rejects booleans), nested values JSON encoded with the domain Schemas.
 */
import { Either, type ParseResult, Schema } from "effect"
import { CoalescePolicy } from "../../../domain/Coalesce.js"
import { Args, HandlerId, JobId, Kwargs, Metadata, ScheduleId, SchedulerId, TaskId } from "../../../domain/ids.js"
import { instanceOf } from "../../../domain/instances.js"
import { Job } from "../../../domain/Job.js"
import { JobError, JobOutcome, JobResult } from "../../../domain/JobResult.js"
import { Schedule } from "../../../domain/Schedule.js"
import { RetryPolicy, Task } from "../../../domain/Task.js"
import { Trigger } from "../../../domain/triggers/schema.js"
import { ExecutionEntry, ExecutionOutcome, type ExecutionRecordFields } from "../../../services/ExecutionLog.js"

/** An instant as integer milliseconds since the epoch. */
const Millis = Schema.DateFromNumber
const NullableMillis = Schema.NullOr(Schema.DateFromNumber)
const Flag = Schema.transform(Schema.Literal(0, 1), Schema.Boolean, {
  strict: true,
  decode: (flag) => flag === 1,
  encode: (bool) => (bool ? 1 : 0)
})
const Nullable = <A, I>(schema: Schema.Schema<A, I>) => Schema.NullOr(schema)
const PositiveInt = Schema.Int.pipe(Schema.positive())

/** Unknown values (a job's return value) as JSON; values JSON cannot encode are kept as their description. */
const encodeReturnValue = (value: unknown): string | null => {
  if (value === null || value === undefined) return null
  try {
    return JSON.stringify(value) ?? null
  } catch {
    return JSON.stringify(String(value))
  }
}
const UnknownJson = Schema.transform(Schema.NullOr(Schema.String), Schema.Unknown, {
  strict: true,
  decode: (text) => (text === null ? null : JSON.parse(text)),
  encode: encodeReturnValue
})

const TaskRow = Schema.Struct({
  id: TaskId,
  handler: HandlerId,
  method: Schema.NonEmptyTrimmedString,
  executor: Schema.String,
  max_running_jobs: Nullable(PositiveInt),
  misfire_grace_time: Nullable(Schema.NonNegative),
  retry: Schema.parseJson(RetryPolicy),
  timeout_ms: Nullable(PositiveInt),
  metadata: Schema.parseJson(Metadata)
})

export const TaskFromRow = Schema.transform(TaskRow, Schema.typeSchema(Task), {
  strict: true,
  decode: (row) =>
    new Task(
      {
        id: row.id,
        handler: row.handler,
        method: row.method,
        executor: row.executor,
        maxRunningJobs: row.max_running_jobs,
        misfireGraceTime: row.misfire_grace_time,
        retry: row.retry,
        timeoutMs: row.timeout_ms,
        metadata: row.metadata
      },
      true
    ),
  encode: (task) => ({
    id: task.id,
    handler: task.handler,
    method: task.method,
    executor: task.executor,
    max_running_jobs: task.maxRunningJobs,
    misfire_grace_time: task.misfireGraceTime,
    retry: task.retry,
    timeout_ms: task.timeoutMs,
    metadata: task.metadata
  })
})
export type TaskRow = typeof TaskFromRow.Encoded

const ScheduleRow = Schema.Struct({
  id: ScheduleId,
  task_id: TaskId,
  trigger: Schema.parseJson(Trigger),
  args: Schema.parseJson(Args),
  kwargs: Schema.parseJson(Kwargs),
  paused: Flag,
  coalesce_policy: CoalescePolicy,
  misfire_grace_time: Nullable(Schema.NonNegative),
  max_jitter: Nullable(Schema.NonNegative),
  job_result_expiration_time: Schema.NonNegative,
  metadata: Schema.parseJson(Metadata),
  next_fire_time: NullableMillis,
  last_fire_time: NullableMillis,
  acquired_by: Nullable(SchedulerId),
  acquired_until: NullableMillis
})

export const ScheduleFromRow = Schema.transform(ScheduleRow, Schema.typeSchema(Schedule), {
  strict: true,
  decode: (row) =>
    new Schedule(
      {
        id: row.id,
        taskId: row.task_id,
        trigger: row.trigger,
        args: row.args,
        kwargs: row.kwargs,
        paused: row.paused,
        coalesce: row.coalesce_policy,
        misfireGraceTime: row.misfire_grace_time,
        maxJitter: row.max_jitter,
        jobResultExpirationTime: row.job_result_expiration_time,
        metadata: row.metadata,
        nextFireTime: row.next_fire_time,
        lastFireTime: row.last_fire_time,
        acquiredBy: row.acquired_by,
        acquiredUntil: row.acquired_until
      },
      true
    ),
  encode: (schedule) => ({
    id: schedule.id,
    task_id: schedule.taskId,
    trigger: schedule.trigger,
    args: schedule.args,
    kwargs: schedule.kwargs,
    paused: schedule.paused,
    coalesce_policy: schedule.coalesce,
    misfire_grace_time: schedule.misfireGraceTime,
    max_jitter: schedule.maxJitter,
    job_result_expiration_time: schedule.jobResultExpirationTime,
    metadata: schedule.metadata,
    next_fire_time: schedule.nextFireTime,
    last_fire_time: schedule.lastFireTime,
    acquired_by: schedule.acquiredBy,
    acquired_until: schedule.acquiredUntil
  })
})
export type ScheduleRow = typeof ScheduleFromRow.Encoded

const JobRow = Schema.Struct({
  id: JobId,
  task_id: TaskId,
  schedule_id: Nullable(ScheduleId),
  args: Schema.parseJson(Args),
  kwargs: Schema.parseJson(Kwargs),
  scheduled_fire_time: NullableMillis,
  jitter_ms: Schema.NonNegative,
  executor: Schema.String,
  start_deadline: NullableMillis,
  result_expiration_time: Schema.NonNegative,
  metadata: Schema.parseJson(Metadata),
  created_at: Millis,
  attempt: PositiveInt,
  available_at: NullableMillis,
  acquired_by: Nullable(SchedulerId),
  acquired_until: NullableMillis,
  started_at: NullableMillis
})

export const JobFromRow = Schema.transform(JobRow, Schema.typeSchema(Job), {
  strict: true,
  decode: (row) =>
    new Job(
      {
        id: row.id,
        taskId: row.task_id,
        scheduleId: row.schedule_id,
        args: row.args,
        kwargs: row.kwargs,
        scheduledFireTime: row.scheduled_fire_time,
        jitterMs: row.jitter_ms,
        executor: row.executor,
        startDeadline: row.start_deadline,
        resultExpirationTime: row.result_expiration_time,
        metadata: row.metadata,
        createdAt: row.created_at,
        attempt: row.attempt,
        availableAt: row.available_at,
        acquiredBy: row.acquired_by,
        acquiredUntil: row.acquired_until,
        startedAt: row.started_at
      },
      true
    ),
  encode: (job) => ({
    id: job.id,
    task_id: job.taskId,
    schedule_id: job.scheduleId,
    args: job.args,
    kwargs: job.kwargs,
    scheduled_fire_time: job.scheduledFireTime,
    jitter_ms: job.jitterMs,
    executor: job.executor,
    start_deadline: job.startDeadline,
    result_expiration_time: job.resultExpirationTime,
    metadata: job.metadata,
    created_at: job.createdAt,
    attempt: job.attempt,
    available_at: job.availableAt,
    acquired_by: job.acquiredBy,
    acquired_until: job.acquiredUntil,
    started_at: job.startedAt
  })
})
export type JobRow = typeof JobFromRow.Encoded

const JobResultRow = Schema.Struct({
  job_id: JobId,
  task_id: TaskId,
  outcome: JobOutcome,
  attempt: PositiveInt,
  started_at: NullableMillis,
  finished_at: Millis,
  expires_at: Millis,
  error_tag: Nullable(Schema.String),
  error_message: Nullable(Schema.String),
  return_value: UnknownJson
})

export const JobResultFromRow = Schema.transform(JobResultRow, Schema.typeSchema(JobResult), {
  strict: true,
  decode: (row) =>
    new JobResult(
      {
        jobId: row.job_id,
        taskId: row.task_id,
        outcome: row.outcome,
        attempt: row.attempt,
        startedAt: row.started_at,
        finishedAt: row.finished_at,
        expiresAt: row.expires_at,
        error:
          row.error_tag === null ? null : new JobError({ tag: row.error_tag, message: row.error_message ?? "" }, true),
        returnValue: row.return_value
      },
      true
    ),
  encode: (result) => ({
    job_id: result.jobId,
    task_id: result.taskId,
    outcome: result.outcome,
    attempt: result.attempt,
    started_at: result.startedAt,
    finished_at: result.finishedAt,
    expires_at: result.expiresAt,
    error_tag: result.error?.tag ?? null,
    error_message: result.error?.message ?? null,
    return_value: result.returnValue
  })
})
export type JobResultRow = typeof JobResultFromRow.Encoded

const ExecutionRow = Schema.Struct({
  seq: Schema.Int,
  job_id: Schema.String,
  schedule_id: Nullable(Schema.String),
  task_id: Schema.String,
  handler: Nullable(Schema.String),
  method: Nullable(Schema.String),
  scheduler_id: Schema.String,
  attempt: Schema.Int,
  max_attempts: Schema.Int,
  will_retry: Flag,
  scheduled_at: NullableMillis,
  started_at: NullableMillis,
  finished_at: Millis,
  duration_ms: Nullable(Schema.Number),
  lateness_ms: Nullable(Schema.Number),
  outcome: ExecutionOutcome,
  error_tag: Nullable(Schema.String),
  error_message: Nullable(Schema.String),
  params_summary: Schema.String,
  result_summary: Nullable(Schema.String)
})

export const ExecutionEntryFromRow = Schema.transform(ExecutionRow, Schema.typeSchema(ExecutionEntry), {
  strict: true,
  decode: (row) =>
    new ExecutionEntry(
      {
        seq: row.seq,
        jobId: row.job_id,
        scheduleId: row.schedule_id,
        taskId: row.task_id,
        handler: row.handler,
        method: row.method,
        schedulerId: row.scheduler_id,
        attempt: row.attempt,
        maxAttempts: row.max_attempts,
        willRetry: row.will_retry,
        scheduledAt: row.scheduled_at,
        startedAt: row.started_at,
        finishedAt: row.finished_at,
        durationMs: row.duration_ms,
        latenessMs: row.lateness_ms,
        outcome: row.outcome,
        errorTag: row.error_tag,
        errorMessage: row.error_message,
        paramsSummary: row.params_summary,
        resultSummary: row.result_summary
      },
      true
    ),
  encode: (entry) => ({
    seq: entry.seq,
    job_id: entry.jobId,
    schedule_id: entry.scheduleId,
    task_id: entry.taskId,
    handler: entry.handler,
    method: entry.method,
    scheduler_id: entry.schedulerId,
    attempt: entry.attempt,
    max_attempts: entry.maxAttempts,
    will_retry: entry.willRetry,
    scheduled_at: entry.scheduledAt,
    started_at: entry.startedAt,
    finished_at: entry.finishedAt,
    duration_ms: entry.durationMs,
    lateness_ms: entry.latenessMs,
    outcome: entry.outcome,
    error_tag: entry.errorTag,
    error_message: entry.errorMessage,
    params_summary: entry.paramsSummary,
    result_summary: entry.resultSummary
  })
})

// --- hot paths
//
// Every job is written once and read back at each acquisition, and every attempt
// writes an execution record. These produce exactly the columns of the Schema
// codecs above (Args, Kwargs and Metadata are plain JSON values, so
// JSON.stringify is their encoding) without the per-field Schema machinery.

const millisOrNull = (date: Date | null) => (date === null ? null : date.getTime())
const dateOrNull = (ms: unknown) => (ms === null ? null : new Date(ms as number))
const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value)

/** A job's row, as JobFromRow encodes it. */
export const jobRow = (job: Job): JobRow => ({
  id: job.id,
  task_id: job.taskId,
  schedule_id: job.scheduleId,
  args: JSON.stringify(job.args),
  kwargs: JSON.stringify(job.kwargs),
  scheduled_fire_time: millisOrNull(job.scheduledFireTime),
  jitter_ms: job.jitterMs,
  executor: job.executor,
  start_deadline: millisOrNull(job.startDeadline),
  result_expiration_time: job.resultExpirationTime,
  metadata: JSON.stringify(job.metadata),
  created_at: job.createdAt.getTime(),
  attempt: job.attempt,
  available_at: millisOrNull(job.availableAt),
  acquired_by: job.acquiredBy,
  acquired_until: millisOrNull(job.acquiredUntil),
  started_at: millisOrNull(job.startedAt)
})

const decodeJobStrict = Schema.decodeUnknownEither(JobFromRow)

/** Lease fields that replace the row's: a job being acquired is decoded as leased. */
export interface JobLease {
  readonly acquiredBy: SchedulerId
  readonly acquiredUntil: number
  readonly startedAt: number
}

const uuid = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/

/** A task, schedule or scheduler id: non-empty, trimmed, bounded. */
const isName = (value: unknown, maxLength = 200): value is string =>
  typeof value === "string" && value.length > 0 && value.length <= maxLength && value.trim() === value

/** The jobs table's columns, in the order `jobFromValues` reads them. */
export const jobColumns = [
  "id",
  "task_id",
  "schedule_id",
  "args",
  "kwargs",
  "scheduled_fire_time",
  "jitter_ms",
  "executor",
  "start_deadline",
  "result_expiration_time",
  "metadata",
  "created_at",
  "attempt",
  "available_at",
  "acquired_by",
  "acquired_until",
  "started_at"
] as const satisfies ReadonlyArray<keyof JobRow>

/** A job row as a record of its columns (`values` in jobColumns order). */
export const jobRecord = (values: ReadonlyArray<unknown>): Record<string, unknown> =>
  Object.fromEntries(jobColumns.map((column, i) => [column, values[i]]))

/**
 * Decodes a job row given as its column values in jobColumns order (rows read
 * as arrays cost half as much as rows read as objects), with `lease` in place
 * of its lease columns when given. Rows that pass the structural checks are
 * built directly; anything else goes through JobFromRow, whose ParseError
 * says what is wrong.
 */
export const jobFromValues = (
  values: ReadonlyArray<unknown>,
  lease?: JobLease
): Either.Either<Job, ParseResult.ParseError> => {
  const [
    id,
    taskId,
    scheduleId,
    argsJson,
    kwargsJson,
    scheduledFireTime,
    jitterMs,
    executor,
    startDeadline,
    resultExpirationTime,
    metadataJson,
    createdAt,
    attempt,
    availableAt,
    acquiredBy,
    acquiredUntil,
    startedAt
  ] = values
  try {
    const args = JSON.parse(argsJson as string)
    const kwargs = JSON.parse(kwargsJson as string)
    const metadata = JSON.parse(metadataJson as string)
    // What the STRICT column types leave open: id and name formats, ranges, the JSON's shape.
    if (
      typeof id === "string" &&
      uuid.test(id) &&
      isName(taskId) &&
      (scheduleId === null || isName(scheduleId)) &&
      typeof createdAt === "number" &&
      typeof attempt === "number" &&
      Number.isInteger(attempt) &&
      attempt > 0 &&
      typeof jitterMs === "number" &&
      jitterMs >= 0 &&
      typeof resultExpirationTime === "number" &&
      resultExpirationTime >= 0 &&
      typeof executor === "string" &&
      (lease !== undefined || acquiredBy === null || isName(acquiredBy, Number.POSITIVE_INFINITY)) &&
      Array.isArray(args) &&
      isRecord(kwargs) &&
      isRecord(metadata)
    ) {
      return Either.right(
        instanceOf(Job, {
          id: id as JobId,
          taskId: taskId as TaskId,
          scheduleId: scheduleId as ScheduleId | null,
          args,
          kwargs,
          scheduledFireTime: dateOrNull(scheduledFireTime),
          jitterMs: jitterMs as number,
          executor: executor as string,
          startDeadline: dateOrNull(startDeadline),
          resultExpirationTime: resultExpirationTime as number,
          metadata,
          createdAt: new Date(createdAt),
          attempt,
          availableAt: dateOrNull(availableAt),
          acquiredBy: lease === undefined ? (acquiredBy as SchedulerId | null) : lease.acquiredBy,
          acquiredUntil: dateOrNull(lease === undefined ? acquiredUntil : lease.acquiredUntil),
          startedAt: dateOrNull(lease === undefined ? startedAt : lease.startedAt)
        })
      )
    }
  } catch {
    // fall through to the strict decoder for the error message
  }
  const row = jobRecord(values)
  return decodeJobStrict(
    lease === undefined
      ? row
      : { ...row, acquired_by: lease.acquiredBy, acquired_until: lease.acquiredUntil, started_at: lease.startedAt }
  )
}

/** Decodes a job row read as an object (see jobFromValues). */
export const jobFromRow = (
  row: Readonly<Record<string, unknown>>,
  lease?: JobLease
): Either.Either<Job, ParseResult.ParseError> => jobFromValues(jobColumns.map((column) => row[column]), lease)

/**
 * A trigger's stored JSON, as Schema.parseJson(Trigger) encodes it: a trigger is
 * a tree of TaggedClass instances whose own fields are JSON values or Dates,
 * which JSON.stringify writes as the same ISO strings Schema.Date does. The
 * Schema encoder would re-validate every cron field on each write; a stored
 * trigger is still validated in full when it is read back.
 */
export const triggerJson = (trigger: Trigger): string => JSON.stringify(trigger)

/** The schedules table's columns (scheduleRow's keys). */
export const scheduleColumns = [
  "id",
  "task_id",
  "trigger",
  "args",
  "kwargs",
  "paused",
  "coalesce_policy",
  "misfire_grace_time",
  "max_jitter",
  "job_result_expiration_time",
  "metadata",
  "next_fire_time",
  "last_fire_time",
  "acquired_by",
  "acquired_until"
] as const satisfies ReadonlyArray<keyof ScheduleRow>

/** A schedule's row, as ScheduleFromRow encodes it. */
export const scheduleRow = (schedule: Schedule): ScheduleRow => ({
  id: schedule.id,
  task_id: schedule.taskId,
  trigger: triggerJson(schedule.trigger),
  args: JSON.stringify(schedule.args),
  kwargs: JSON.stringify(schedule.kwargs),
  paused: schedule.paused ? 1 : 0,
  coalesce_policy: schedule.coalesce,
  misfire_grace_time: schedule.misfireGraceTime,
  max_jitter: schedule.maxJitter,
  job_result_expiration_time: schedule.jobResultExpirationTime,
  metadata: JSON.stringify(schedule.metadata),
  next_fire_time: millisOrNull(schedule.nextFireTime),
  last_fire_time: millisOrNull(schedule.lastFireTime),
  acquired_by: schedule.acquiredBy,
  acquired_until: millisOrNull(schedule.acquiredUntil)
})

/** The columns of an execution record's insertable row (executionRow's keys). */
export const executionColumns = [
  "job_id",
  "schedule_id",
  "task_id",
  "handler",
  "method",
  "scheduler_id",
  "attempt",
  "max_attempts",
  "will_retry",
  "scheduled_at",
  "started_at",
  "finished_at",
  "duration_ms",
  "lateness_ms",
  "outcome",
  "error_tag",
  "error_message",
  "params_summary",
  "result_summary"
] as const satisfies ReadonlyArray<keyof ReturnType<typeof executionRow>>

/** The insertable row of an execution record. */
export const executionRow = (record: ExecutionRecordFields) => ({
  job_id: record.jobId,
  schedule_id: record.scheduleId,
  task_id: record.taskId,
  handler: record.handler,
  method: record.method,
  scheduler_id: record.schedulerId,
  attempt: record.attempt,
  max_attempts: record.maxAttempts,
  will_retry: record.willRetry ? 1 : 0,
  scheduled_at: millisOrNull(record.scheduledAt),
  started_at: millisOrNull(record.startedAt),
  finished_at: record.finishedAt.getTime(),
  duration_ms: record.durationMs,
  lateness_ms: record.latenessMs,
  outcome: record.outcome,
  error_tag: record.errorTag,
  error_message: record.errorMessage,
  params_summary: record.paramsSummary,
  result_summary: record.resultSummary
})

/** The job_results table's columns (resultRow's keys). */
export const resultColumns = [
  "job_id",
  "task_id",
  "outcome",
  "attempt",
  "started_at",
  "finished_at",
  "expires_at",
  "error_tag",
  "error_message",
  "return_value"
] as const satisfies ReadonlyArray<keyof JobResultRow>

/** A result's row, as JobResultFromRow encodes it (the return value through the same UnknownJson rule). */
export const resultRow = (result: JobResult): JobResultRow => ({
  job_id: result.jobId,
  task_id: result.taskId,
  outcome: result.outcome,
  attempt: result.attempt,
  started_at: millisOrNull(result.startedAt),
  finished_at: result.finishedAt.getTime(),
  expires_at: result.expiresAt.getTime(),
  error_tag: result.error?.tag ?? null,
  error_message: result.error?.message ?? null,
  return_value: encodeReturnValue(result.returnValue)
})
