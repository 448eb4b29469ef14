/**
 * One run of a task: created by a schedule's fire time or directly by addJob.
 * `attempt` counts from 1; a retry keeps the job id and raises the attempt.
 */
import { Schema } from "effect"
import { Args, JobId, Kwargs, Metadata, ScheduleId, SchedulerId, TaskId } from "./ids.js"

const NullableDate = Schema.optionalWith(Schema.NullOr(Schema.Date), { default: () => null })

export class Job extends Schema.Class<Job>("Job")({
  id: JobId,
  taskId: TaskId,
  scheduleId: Schema.optionalWith(Schema.NullOr(ScheduleId), { default: () => null }),
  args: Schema.optionalWith(Args, { default: () => [] }),
  kwargs: Schema.optionalWith(Kwargs, { default: () => ({}) }),
  /** The schedule's fire time plus jitter (when the job should start); null for ad-hoc jobs. */
  scheduledFireTime: NullableDate,
  /** Jitter applied to the fire time, in ms. */
  jitterMs: Schema.optionalWith(Schema.NonNegative, { default: () => 0 }),
  executor: Schema.optionalWith(Schema.String, { default: () => "async" }),
  /** Latest time the job may start; past it the job is released as missed_start_deadline. */
  startDeadline: NullableDate,
  /** Seconds to keep the result; 0 = not kept. */
  resultExpirationTime: Schema.optionalWith(Schema.NonNegative, { default: () => 0 }),
  metadata: Schema.optionalWith(Metadata, { default: () => ({}) }),
  createdAt: Schema.Date,
  attempt: Schema.optionalWith(Schema.Int.pipe(Schema.positive()), { default: () => 1 }),
  /** The job is not acquired before this time (retry backoff). */
  availableAt: NullableDate,
  acquiredBy: Schema.optionalWith(Schema.NullOr(SchedulerId), { default: () => null }),
  acquiredUntil: NullableDate,
  /** When the current attempt started (set at acquisition), used for abandoned-job reporting. */
  startedAt: NullableDate
}) {}
