/** The final outcome of a job (after its last attempt). */
import { Schema } from "effect"
import { JobId, TaskId } from "./ids.js"

export const JobOutcome = Schema.Literal(
  "success",
  "error",
  "missed_start_deadline",
  "cancelled",
  "abandoned",
  "deserialization_failed"
)
export type JobOutcome = typeof JobOutcome.Type

export class JobError extends Schema.Class<JobError>("JobError")({
  tag: Schema.String,
  message: Schema.String
}) {}

export class JobResult extends Schema.Class<JobResult>("JobResult")({
  jobId: JobId,
  taskId: TaskId,
  outcome: JobOutcome,
  attempt: Schema.optionalWith(Schema.Int.pipe(Schema.positive()), { default: () => 1 }),
  startedAt: Schema.optionalWith(Schema.NullOr(Schema.Date), { default: () => null }),
  finishedAt: Schema.Date,
  expiresAt: Schema.Date,
  error: Schema.optionalWith(Schema.NullOr(JobError), { default: () => null }),
  returnValue: Schema.optionalWith(Schema.Unknown, { default: () => null })
}) {}
