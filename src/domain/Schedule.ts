/**
 * A schedule binds a trigger to a task with arguments. The store keeps its next
 * fire time (UTC; the trigger keeps its zone) and the lease of the scheduler
 * that is currently processing it.
 */
import { Schema } from "effect"
import { CoalescePolicy } from "./Coalesce.js"
import { Args, Kwargs, Metadata, ScheduleId, SchedulerId, TaskId } from "./ids.js"
import { Trigger } from "./triggers/schema.js"

const NullableDate = Schema.optionalWith(Schema.NullOr(Schema.Date), { default: () => null })

/** A schedule's settings as required fields (the Schedule class below gives each a default). */
export const scheduleSettingsFields = {
  args: Args,
  kwargs: Kwargs,
  paused: Schema.Boolean,
  coalesce: CoalescePolicy,
  misfireGraceTime: Schema.NullOr(Schema.NonNegative),
  maxJitter: Schema.NullOr(Schema.NonNegative),
  jobResultExpirationTime: Schema.NonNegative,
  metadata: Metadata
}

export class Schedule extends Schema.Class<Schedule>("Schedule")({
  id: ScheduleId,
  taskId: TaskId,
  trigger: Trigger,
  args: Schema.optionalWith(Args, { default: () => [] }),
  kwargs: Schema.optionalWith(Kwargs, { default: () => ({}) }),
  paused: Schema.optionalWith(Schema.Boolean, { default: () => false }),
  coalesce: Schema.optionalWith(CoalescePolicy, { default: () => "latest" as const }),
  /** Seconds; null = inherit the task's. */
  misfireGraceTime: Schema.optionalWith(Schema.NullOr(Schema.NonNegative), { default: () => null }),
  /** Upper bound in seconds of the random delay added to each job's fire time; null = none. */
  maxJitter: Schema.optionalWith(Schema.NullOr(Schema.NonNegative), { default: () => null }),
  /** Seconds a job result is kept; 0 = not kept. */
  jobResultExpirationTime: Schema.optionalWith(Schema.NonNegative, { default: () => 0 }),
  metadata: Schema.optionalWith(Metadata, { default: () => ({}) }),
  nextFireTime: NullableDate,
  lastFireTime: NullableDate,
  acquiredBy: Schema.optionalWith(Schema.NullOr(SchedulerId), { default: () => null }),
  acquiredUntil: NullableDate
}) {}
