/**
 * A schedule as a request body describes it (snake_case, the trigger as a
 * specification): what POST /api/schedules and PUT /api/edges/{id}/schedules/{scheduleId} share.
 */
import { Schema } from "effect"
import { CoalescePolicy } from "../../domain/Coalesce.js"

const opt = <S extends Schema.Schema.Any>(schema: S) => Schema.optionalWith(schema, { exact: true })
const Json = Schema.Record({ key: Schema.String, value: Schema.Unknown })
const Seconds = Schema.NullOr(Schema.NonNegative)
const NonEmpty = Schema.NonEmptyTrimmedString

export const TriggerInput = Schema.Unknown.annotations({
  title: "TriggerSpec",
  description:
    "A trigger specification: {type: cron|interval|date|calendarinterval|and|or, ...} (see docs/triggers.md). " +
    "An invalid one is answered with 400 naming the field."
})

export const scheduleRequestFields = {
  task_id: opt(NonEmpty).annotations({ description: "Task id; default `<handler>.<method>`" }),
  handler: NonEmpty,
  method: NonEmpty,
  trigger: TriggerInput,
  args: opt(Schema.Array(Schema.Unknown)),
  kwargs: opt(Json),
  paused: opt(Schema.Boolean),
  coalesce: opt(CoalescePolicy),
  misfire_grace_time: opt(Seconds),
  max_jitter: opt(Seconds),
  job_result_expiration_time: opt(Schema.NonNegative),
  metadata: opt(Json)
}
