/**
 * Trigger data: configuration plus the small amount of state a trigger needs to
 * continue where it left off (APScheduler's model). Every trigger is a
 * Schema.TaggedClass, so it is stored as JSON and decoded back with validation.
 * `version` lets later releases migrate stored trigger state.
 */
import { Either, Schema } from "effect"
import { parseIsoDate } from "./calendar.js"
import { type FieldName, parseField } from "./cron/field.js"
import { zoneNamed } from "./zone.js"

const version = Schema.optionalWith(Schema.Literal(1), { default: () => 1 as const })
const NullableDate = Schema.optionalWith(Schema.NullOr(Schema.Date), { default: () => null })
const Count = Schema.optionalWith(Schema.NonNegative, { default: () => 0 })
const IsoDate = Schema.String.pipe(
  Schema.filter((text) => parseIsoDate(text) !== undefined || `'${text}' is not a valid YYYY-MM-DD date`)
)
/** An IANA zone name that Intl knows, so stored triggers can always be iterated. */
const TimeZone = Schema.String.pipe(
  Schema.filter((name) => zoneNamed(name) !== undefined || `timezone: unknown time zone '${name}'`)
)

/** Fires once at `runTime`. */
export class DateTrigger extends Schema.TaggedClass<DateTrigger>()("DateTrigger", {
  version,
  runTime: Schema.Date,
  completed: Schema.optionalWith(Schema.Boolean, { default: () => false })
}) {}

/** Fires every fixed span of absolute time from `startTime` (inclusive) to `endTime` (inclusive). */
export class IntervalTrigger extends Schema.TaggedClass<IntervalTrigger>()("IntervalTrigger", {
  version,
  weeks: Count,
  days: Count,
  hours: Count,
  minutes: Count,
  seconds: Count,
  milliseconds: Count,
  startTime: Schema.Date,
  endTime: NullableDate,
  lastFireTime: NullableDate
}) {}

/** A cron field expression (null = not given), validated so a decoded trigger always compiles. */
const CronField = (name: FieldName) =>
  Schema.optionalWith(
    Schema.NullOr(
      Schema.String.pipe(
        Schema.filter((expression) =>
          Either.match(parseField(name, expression), { onLeft: (error) => error.message, onRight: () => true })
        )
      )
    ),
    { default: () => null }
  )

/** Fires when the wall clock in `timezone` matches every field (day and dayOfWeek are ANDed). */
export class CronTrigger extends Schema.TaggedClass<CronTrigger>()("CronTrigger", {
  version,
  year: CronField("year"),
  month: CronField("month"),
  day: CronField("day"),
  week: CronField("week"),
  dayOfWeek: CronField("day_of_week"),
  hour: CronField("hour"),
  minute: CronField("minute"),
  second: CronField("second"),
  startTime: Schema.Date,
  endTime: NullableDate,
  timezone: TimeZone,
  lastFireTime: NullableDate
}) {}

/** Fires every N years/months/weeks/days at a fixed wall-clock time of day in `timezone`. */
export class CalendarIntervalTrigger extends Schema.TaggedClass<CalendarIntervalTrigger>()(
  "CalendarIntervalTrigger",
  {
    version,
    years: Count,
    months: Count,
    weeks: Count,
    days: Count,
    hour: Schema.optionalWith(Schema.Int.pipe(Schema.between(0, 23)), { default: () => 0 }),
    minute: Schema.optionalWith(Schema.Int.pipe(Schema.between(0, 59)), { default: () => 0 }),
    second: Schema.optionalWith(Schema.Int.pipe(Schema.between(0, 59)), { default: () => 0 }),
    startDate: IsoDate,
    endDate: Schema.optionalWith(Schema.NullOr(IsoDate), { default: () => null }),
    timezone: TimeZone,
    lastFireDate: Schema.optionalWith(Schema.NullOr(IsoDate), { default: () => null })
  }
) {}

const CurrentFireTimes = Schema.optionalWith(Schema.NullOr(Schema.Array(Schema.NullOr(Schema.Date))), {
  default: () => null
})

interface CombinedEncoded {
  readonly version?: 1 | undefined
  readonly triggers: ReadonlyArray<TriggerEncoded>
  readonly currentFireTimes?: ReadonlyArray<string | null> | null | undefined
}
export interface AndTriggerEncoded extends CombinedEncoded {
  readonly _tag: "AndTrigger"
  readonly threshold?: number | undefined
  readonly maxIterations?: number | undefined
}
export interface OrTriggerEncoded extends CombinedEncoded {
  readonly _tag: "OrTrigger"
}

const Children = Schema.Array(Schema.suspend((): Schema.Schema<Trigger, TriggerEncoded> => Trigger)).pipe(
  Schema.minItems(1)
)

/** Fires when every child fires within `threshold` seconds of the others. */
export class AndTrigger extends Schema.TaggedClass<AndTrigger>()("AndTrigger", {
  version,
  triggers: Children,
  threshold: Schema.optionalWith(Schema.NonNegative, { default: () => 1 }),
  maxIterations: Schema.optionalWith(Schema.Int.pipe(Schema.positive()), { default: () => 10_000 }),
  currentFireTimes: CurrentFireTimes
}) {}

/** Fires whenever any child fires (equal fire times are merged). */
export class OrTrigger extends Schema.TaggedClass<OrTrigger>()("OrTrigger", {
  version,
  triggers: Children,
  currentFireTimes: CurrentFireTimes
}) {}

export type Trigger = DateTrigger | IntervalTrigger | CronTrigger | CalendarIntervalTrigger | AndTrigger | OrTrigger
export type TriggerEncoded =
  | typeof DateTrigger.Encoded
  | typeof IntervalTrigger.Encoded
  | typeof CronTrigger.Encoded
  | typeof CalendarIntervalTrigger.Encoded
  | AndTriggerEncoded
  | OrTriggerEncoded

/**
 * The union rejects stored triggers that could never advance (a zero
 * interval would yield the same fire time forever).
 */
export const Trigger: Schema.Schema<Trigger, TriggerEncoded> = Schema.Union(
  DateTrigger,
  IntervalTrigger.pipe(
    Schema.filter(
      (t) =>
        t.weeks + t.days + t.hours + t.minutes + t.seconds + t.milliseconds > 0 ||
        "interval: must be at least 1 millisecond"
    )
  ),
  CronTrigger,
  CalendarIntervalTrigger.pipe(
    Schema.filter((t) => t.years + t.months + t.weeks + t.days > 0 || "interval: must be at least 1 day long")
  ),
  AndTrigger,
  OrTrigger
)
