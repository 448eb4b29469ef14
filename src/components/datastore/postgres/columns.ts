/**
 * How rows travel between PostgreSQL and the row codecs the SQLite store
 * defines (sqlite/rows.ts): the tables keep native types (timestamptz, jsonb,
 * boolean), and the statements convert at the boundary to the codecs' wire
 * form (instants as epoch milliseconds, JSON as text, flags as 0/1). One codec
 * per model serves both stores, so a row means the same thing in each.
 */

/** An instant column read as epoch milliseconds (exact: stored values are whole milliseconds). */
const ms = (column: string) => `(extract(epoch FROM ${column}) * 1000)::float8 AS ${column}`
const text = (column: string) => `${column}::text AS ${column}`
const flag = (column: string) => `${column}::int AS ${column}`

/** Epoch milliseconds (a parameter or column) as timestamptz; null stays null. */
export const toInstant = (expression: string) => `to_timestamp(${expression} / 1000.0)`

const list = (...columns: ReadonlyArray<string>) => columns.join(", ")

export const taskColumns = list(
  "id", "handler", "method", "executor", "max_running_jobs", "misfire_grace_time",
  text("retry"), "timeout_ms", text("metadata")
)

export const scheduleColumns = list(
  "id", "task_id", text("trigger"), text("args"), text("kwargs"), flag("paused"), "coalesce_policy",
  "misfire_grace_time", "max_jitter", "job_result_expiration_time", text("metadata"),
  ms("next_fire_time"), ms("last_fire_time"), "acquired_by", ms("acquired_until")
)

export const jobColumns = list(
  text("id"), "task_id", "schedule_id", text("args"), text("kwargs"), ms("scheduled_fire_time"), "jitter_ms",
  "executor", ms("start_deadline"), "result_expiration_time", text("metadata"), ms("created_at"), "attempt",
  ms("available_at"), "acquired_by", ms("acquired_until"), ms("started_at")
)

export const resultColumns = list(
  text("job_id"), "task_id", "outcome", "attempt", ms("started_at"), ms("finished_at"), ms("expires_at"),
  "error_tag", "error_message", text("return_value")
)

export const executionColumns = list(
  "seq", text("job_id"), "schedule_id", "task_id", "handler", "method", "scheduler_id", "attempt", "max_attempts",
  flag("will_retry"), ms("scheduled_at"), ms("started_at"), ms("finished_at"), "duration_ms", "lateness_ms",
  "outcome", "error_tag", "error_message", "params_summary", "result_summary"
)
