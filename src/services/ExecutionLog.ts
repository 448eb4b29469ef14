/**
 * The persisted execution history: one record per job attempt, written by the
 * data store in the same transaction that releases the attempt. This service
 * reads it (filtered pages and statistics) and prunes it on an operator's
 * request (the store's own retention runs during cleanup). Implementations: sqlite.
 *
 * The pure helpers below turn a released attempt into a record, so every store
 * writes the same thing.
 */
import { Context, Effect, Schema } from "effect"
import type { Job } from "../domain/Job.js"
import type { JobResult } from "../domain/JobResult.js"
import type { Task } from "../domain/Task.js"

/** How one attempt ended, as operators read it (a timeout is an error with tag JobTimeout). */
export const ExecutionOutcome = Schema.Literal("success", "error", "timeout", "cancelled", "missed", "abandoned")
export type ExecutionOutcome = typeof ExecutionOutcome.Type
export const executionOutcomes: ReadonlyArray<ExecutionOutcome> = ExecutionOutcome.literals

export class ExecutionRecord extends Schema.Class<ExecutionRecord>("ExecutionRecord")({
  jobId: Schema.String,
  scheduleId: Schema.NullOr(Schema.String),
  taskId: Schema.String,
  /** Null when the task was removed before the attempt was recorded. */
  handler: Schema.NullOr(Schema.String),
  method: Schema.NullOr(Schema.String),
  schedulerId: Schema.String,
  attempt: Schema.Int,
  maxAttempts: Schema.Int,
  /** Whether another attempt of the same job follows this one. */
  willRetry: Schema.Boolean,
  /** The job's scheduled fire time (null for ad-hoc jobs). */
  scheduledAt: Schema.NullOr(Schema.Date),
  startedAt: Schema.NullOr(Schema.Date),
  finishedAt: Schema.Date,
  durationMs: Schema.NullOr(Schema.Number),
  /** Start minus scheduled fire time; null when either is unknown. */
  latenessMs: Schema.NullOr(Schema.Number),
  outcome: ExecutionOutcome,
  errorTag: Schema.NullOr(Schema.String),
  errorMessage: Schema.NullOr(Schema.String),
  /** JSON of { args, kwargs }, cut to `summaryMaxChars`. */
  paramsSummary: Schema.String,
  /** JSON of the return value, cut to `summaryMaxChars`; null when the attempt returned nothing. */
  resultSummary: Schema.NullOr(Schema.String)
}) {}

/** A stored record with its position in the log (ascending with insertion order). */
export class ExecutionEntry extends ExecutionRecord.extend<ExecutionEntry>("ExecutionEntry")({
  seq: Schema.Int
}) {}

/** Which records a query or statistic covers; every field narrows, none given = everything. */
export interface ExecutionFilter {
  readonly handler?: string
  readonly taskId?: string
  readonly scheduleId?: string
  readonly outcome?: ExecutionOutcome | ReadonlyArray<ExecutionOutcome>
  /** finishedAt >= from */
  readonly from?: Date
  /** finishedAt < to */
  readonly to?: Date
}

export interface ExecutionQuery extends ExecutionFilter {
  /** `nextCursor` of the previous page; absent = the newest records. */
  readonly cursor?: string
  /** Page size, 1..1000 (default 100). */
  readonly limit?: number
}

export interface ExecutionPage {
  /** Newest first. */
  readonly entries: ReadonlyArray<ExecutionEntry>
  /** Pass as `cursor` for the next (older) page; null when this page is the last. */
  readonly nextCursor: string | null
}

export interface ExecutionStats {
  readonly total: number
  readonly byOutcome: Readonly<Record<ExecutionOutcome, number>>
  /** success / total; null when total is 0. */
  readonly successRate: number | null
  /** Nearest-rank percentiles of durationMs over attempts that have one; null when none. */
  readonly p50DurationMs: number | null
  readonly p95DurationMs: number | null
}

export interface ExecutionLogStats {
  readonly overall: ExecutionStats
  /** One entry per handler (records whose task was gone are grouped under null). */
  readonly byHandler: ReadonlyArray<ExecutionStats & { readonly handler: string | null }>
  readonly byTask: ReadonlyArray<ExecutionStats & { readonly taskId: string }>
}

/** A cursor that this log did not hand out. */
export class InvalidCursor extends Schema.TaggedError<InvalidCursor>()("InvalidCursor", {
  cursor: Schema.String
}) {
  override get message() {
    return `invalid execution log cursor '${this.cursor}'`
  }
}

/** A page size outside 1..1000. */
export class InvalidPageSize extends Schema.TaggedError<InvalidPageSize>()("InvalidPageSize", {
  limit: Schema.Number
}) {
  override get message() {
    return `limit must be an integer between 1 and ${maxPageSize}, got ${this.limit}`
  }
}

/**
 * What to delete: the records matching `filter` that finished before `before`
 * and are not among the newest `keepLast` records matching `filter`. Every
 * given condition must hold for a record to go, so `before` never deletes a
 * newer record and `keepLast` always keeps that many; at least one is required.
 */
export type PruneOptions = {
  readonly filter?: ExecutionFilter
} & (
  | { readonly before: Date; readonly keepLast?: number }
  | { readonly before?: Date; readonly keepLast: number }
)

export interface PruneResult {
  readonly deleted: number
}

/** Prune options that cannot be applied: neither condition, an invalid date, or a keepLast that is not a count. */
export class InvalidRetention extends Schema.TaggedError<InvalidRetention>()("InvalidRetention", {
  field: Schema.Literal("before", "keepLast"),
  reason: Schema.String
}) {
  override get message() {
    return `${this.field}: ${this.reason}`
  }
}

/** The checked conditions of a prune (at least one present). */
export const validatePrune = (
  options: PruneOptions
): Effect.Effect<{ readonly before: Date | undefined; readonly keepLast: number | undefined }, InvalidRetention> => {
  const { before, keepLast } = options
  if (before === undefined && keepLast === undefined) {
    return Effect.fail(new InvalidRetention({ field: "before", reason: "give before, keepLast or both" }))
  }
  if (before !== undefined && Number.isNaN(before.getTime())) {
    return Effect.fail(new InvalidRetention({ field: "before", reason: "not a valid date" }))
  }
  if (keepLast !== undefined && !(Number.isSafeInteger(keepLast) && keepLast >= 0)) {
    return Effect.fail(new InvalidRetention({ field: "keepLast", reason: `must be a non-negative integer, got ${keepLast}` }))
  }
  return Effect.succeed({ before, keepLast })
}

export const defaultPageSize = 100
export const maxPageSize = 1000

export interface ExecutionLogShape {
  readonly query: (query?: ExecutionQuery) => Effect.Effect<ExecutionPage, InvalidCursor | InvalidPageSize>
  readonly stats: (filter?: ExecutionFilter) => Effect.Effect<ExecutionLogStats>
  /** Deletes records by retention (see PruneOptions), atomically; tells how many went. */
  readonly prune: (options: PruneOptions) => Effect.Effect<PruneResult, InvalidRetention>
}

export class ExecutionLog extends Context.Tag("schedulezero/ExecutionLog")<ExecutionLog, ExecutionLogShape>() {}

/** How long a params or result summary may be, in characters. */
export const summaryMaxChars = 1024

/** JSON of `value` cut to `maxChars` (with a trailing "…"); values JSON cannot encode are described instead. */
export const summarize = (value: unknown, maxChars: number = summaryMaxChars): string => {
  let json: string | undefined
  try {
    json = JSON.stringify(value)
  } catch {
    json = undefined
  }
  const text = json ?? `<${typeof value}: ${String(value)}>`
  return text.length <= maxChars ? text : text.slice(0, maxChars - 1) + "…"
}

/** The operator-facing outcome of a released attempt. */
export const executionOutcome = (result: JobResult): ExecutionOutcome => {
  switch (result.outcome) {
    case "success":
      return "success"
    case "cancelled":
      return "cancelled"
    case "abandoned":
      return "abandoned"
    case "missed_start_deadline":
      return "missed"
    case "error":
    case "deserialization_failed":
      return result.error?.tag === "JobTimeout" ? "timeout" : "error"
  }
}

/** An ExecutionRecord's fields as a plain object (what a store writes; no class instance per attempt). */
export type ExecutionRecordFields = ConstructorParameters<typeof ExecutionRecord>[0]

/** The record of one released attempt; `task` is absent when the task no longer exists. */
export const executionRecord = (input: {
  readonly job: Job
  readonly result: JobResult
  readonly task: Task | undefined
  readonly schedulerId: string
  readonly willRetry: boolean
}): ExecutionRecordFields => {
  const { job, result, task } = input
  const startedAt = result.startedAt
  return {
    jobId: job.id,
    scheduleId: job.scheduleId,
    taskId: job.taskId,
    handler: task?.handler ?? null,
    method: task?.method ?? null,
    schedulerId: input.schedulerId,
    attempt: result.attempt,
    maxAttempts: task?.retry.maxAttempts ?? result.attempt,
    willRetry: input.willRetry,
    scheduledAt: job.scheduledFireTime,
    startedAt,
    finishedAt: result.finishedAt,
    durationMs: startedAt === null ? null : result.finishedAt.getTime() - startedAt.getTime(),
    latenessMs:
      startedAt === null || job.scheduledFireTime === null
        ? null
        : startedAt.getTime() - job.scheduledFireTime.getTime(),
    outcome: executionOutcome(result),
    errorTag: result.error?.tag ?? null,
    errorMessage: result.error?.message ?? null,
    paramsSummary: summarize({ args: job.args, kwargs: job.kwargs }),
    resultSummary: result.returnValue === null || result.returnValue === undefined ? null : summarize(result.returnValue)
  }
}
