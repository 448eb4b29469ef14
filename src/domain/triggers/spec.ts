/**
 * The user-facing trigger specification (JSON used by the CLI's --json and the
 * HTTP API), and `fromSpec`, which validates it into a Trigger with messages
 * that name the field and the problem. Defaults follow APScheduler: start
 * times default to now, zones to UTC, an interval fires first at its start.
 */
import { Either, ParseResult, Schema } from "effect"
import { InvalidTrigger } from "../errors.js"
import { formatIsoDate, parseIsoDate, wallFields, wallMs } from "./calendar.js"
import { compileCron, type CronFieldValues } from "./cron/compile.js"
import { parseCrontab } from "./cron/crontab.js"
import { FIELD_NAMES } from "./cron/field.js"
import { intervalMillis } from "./interval.js"
import {
  AndTrigger,
  CalendarIntervalTrigger,
  CronTrigger,
  DateTrigger,
  IntervalTrigger,
  OrTrigger,
  type Trigger
} from "./schema.js"
import { type Zone, zoneNamed } from "./zone.js"

const opt = <S extends Schema.Schema.Any>(schema: S) => Schema.optionalWith(schema, { exact: true })
const CronValue = Schema.Union(Schema.String, Schema.Number)

export const CronSpec = Schema.Struct({
  type: Schema.Literal("cron"),
  /** A crontab string: 5 fields, or 6 with seconds first. Not combined with the fields below. */
  expr: opt(Schema.String),
  year: opt(CronValue),
  month: opt(CronValue),
  day: opt(CronValue),
  week: opt(CronValue),
  day_of_week: opt(CronValue),
  hour: opt(CronValue),
  minute: opt(CronValue),
  second: opt(CronValue),
  timezone: opt(Schema.String),
  start_time: opt(Schema.String),
  end_time: opt(Schema.String)
})
export type CronSpec = typeof CronSpec.Type

export const IntervalSpec = Schema.Struct({
  type: Schema.Literal("interval"),
  weeks: opt(Schema.Number),
  days: opt(Schema.Number),
  hours: opt(Schema.Number),
  minutes: opt(Schema.Number),
  seconds: opt(Schema.Number),
  milliseconds: opt(Schema.Number),
  start_time: opt(Schema.String),
  end_time: opt(Schema.String)
})
export type IntervalSpec = typeof IntervalSpec.Type

export const DateSpec = Schema.Struct({
  type: Schema.Literal("date"),
  run_time: Schema.String
})
export type DateSpec = typeof DateSpec.Type

export const CalendarIntervalSpec = Schema.Struct({
  type: Schema.Literal("calendarinterval"),
  years: opt(Schema.Number),
  months: opt(Schema.Number),
  weeks: opt(Schema.Number),
  days: opt(Schema.Number),
  hour: opt(Schema.Number),
  minute: opt(Schema.Number),
  second: opt(Schema.Number),
  start_date: opt(Schema.String),
  end_date: opt(Schema.String),
  timezone: opt(Schema.String)
})
export type CalendarIntervalSpec = typeof CalendarIntervalSpec.Type

export interface AndSpec {
  readonly type: "and"
  readonly threshold?: number
  readonly max_iterations?: number
  readonly triggers: ReadonlyArray<TriggerSpec>
}
export interface OrSpec {
  readonly type: "or"
  readonly triggers: ReadonlyArray<TriggerSpec>
}
export type TriggerSpec = CronSpec | IntervalSpec | DateSpec | CalendarIntervalSpec | AndSpec | OrSpec

const Children = Schema.Array(Schema.suspend((): Schema.Schema<TriggerSpec> => TriggerSpec))

export const AndSpec: Schema.Schema<AndSpec> = Schema.Struct({
  type: Schema.Literal("and"),
  threshold: opt(Schema.Number),
  max_iterations: opt(Schema.Number),
  triggers: Children
})
export const OrSpec: Schema.Schema<OrSpec> = Schema.Struct({
  type: Schema.Literal("or"),
  triggers: Children
})

export const TriggerSpec: Schema.Schema<TriggerSpec> = Schema.Union(
  CronSpec,
  IntervalSpec,
  DateSpec,
  CalendarIntervalSpec,
  AndSpec,
  OrSpec
)

const invalid = (field: string, reason: string) => Either.left(new InvalidTrigger({ field, reason }))

const pathText = (path: ReadonlyArray<PropertyKey>): string =>
  path.reduce<string>(
    (text, key) => (typeof key === "number" ? `${text}[${key}]` : text === "" ? String(key) : `${text}.${String(key)}`),
    ""
  )

/** Decodes unknown input (e.g. parsed JSON) into a TriggerSpec; unknown keys are errors too. */
export const decodeSpec = (input: unknown): Either.Either<TriggerSpec, InvalidTrigger> =>
  Either.mapLeft(Schema.decodeUnknownEither(TriggerSpec, { onExcessProperty: "error" })(input), (error) => {
    const issue = ParseResult.ArrayFormatter.formatErrorSync(error)[0]
    const field = issue === undefined || issue.path.length === 0 ? "type" : pathText(issue.path)
    const reason = issue?.message ?? "invalid trigger specification"
    return new InvalidTrigger({ field, reason: issue?._tag === "Unexpected" ? "unknown field" : reason })
  })

/** Parses JSON text and decodes it as a TriggerSpec. */
export const parseSpecJson = (text: string): Either.Either<TriggerSpec, InvalidTrigger> => {
  let input: unknown
  try {
    input = JSON.parse(text)
  } catch (error) {
    return invalid("json", `not valid JSON (${error instanceof Error ? error.message : String(error)})`)
  }
  return decodeSpec(input)
}

const ISO_DATE_TIME =
  /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?)?(Z|[+-]\d{2}:?\d{2})?$/i

/**
 * An ISO-8601 date-time. With an offset ("Z", "+02:00") it is that instant;
 * without, it is a wall-clock time in `zone` (an error in a DST gap), or an
 * error when the trigger has no zone to read it in.
 */
export const parseTime = (field: string, text: string, zone: Zone | undefined): Either.Either<Date, InvalidTrigger> => {
  const match = ISO_DATE_TIME.exec(text.trim())
  if (match === null) return invalid(field, `invalid date-time '${text}' (expected ISO-8601, e.g. 2026-03-28T12:00:00+01:00)`)
  const [year, month, day, hour, minute, second] = [1, 2, 3, 4, 5, 6].map((i) => Number(match[i] ?? 0)) as [
    number,
    number,
    number,
    number,
    number,
    number
  ]
  const millis = Math.floor(Number(`0.${match[7] ?? "0"}`) * 1000)
  if (parseIsoDate(formatIsoDate(year, month, day)) === undefined || hour > 23 || minute > 59 || second > 59) {
    return invalid(field, `invalid date-time '${text}'`)
  }
  const wall = wallMs(year, month, day, hour, minute, second) + millis
  const offsetText = match[8]
  if (offsetText !== undefined) {
    if (offsetText.toUpperCase() === "Z") return Either.right(new Date(wall))
    const sign = offsetText.startsWith("-") ? -1 : 1
    const digits = offsetText.slice(1).replace(":", "")
    const offset = sign * (Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2))) * 60_000
    return Either.right(new Date(wall - offset))
  }
  if (zone === undefined) return invalid(field, `'${text}' needs a UTC offset (e.g. Z or +02:00)`)
  const instants = zone.toInstants(wall)
  if (instants.length === 0) return invalid(field, `'${text}' does not exist in ${zone.name} (skipped by a DST change)`)
  return Either.right(new Date(instants[0]!))
}

const zoneFor = (name: string | undefined): Either.Either<Zone, InvalidTrigger> => {
  const zone = zoneNamed(name ?? "UTC")
  return zone === undefined ? invalid("timezone", `unknown time zone '${name}'`) : Either.right(zone)
}

const optionalTime = (field: string, text: string | undefined, zone: Zone | undefined) =>
  text === undefined ? Either.right(null) : parseTime(field, text, zone)

/** start_time (default now) and end_time (optional, not before start). */
const timeWindow = (spec: { start_time?: string; end_time?: string }, now: Date, zone: Zone | undefined) =>
  Either.gen(function* () {
    const startTime = (yield* optionalTime("start_time", spec.start_time, zone)) ?? now
    const endTime = yield* optionalTime("end_time", spec.end_time, zone)
    if (endTime !== null && endTime.getTime() < startTime.getTime()) {
      return yield* invalid("end_time", "must not be earlier than start_time")
    }
    return { startTime, endTime }
  })

const nonNegative = (field: string, value: number | undefined, integer: boolean) =>
  value === undefined
    ? Either.right(0)
    : !Number.isFinite(value) || value < 0 || (integer && !Number.isInteger(value))
      ? invalid(field, `must be a non-negative ${integer ? "integer" : "number"}, got ${value}`)
      : Either.right(value)

const timeOfDay = (field: string, value: number | undefined, max: number) =>
  value === undefined
    ? Either.right(0)
    : Number.isInteger(value) && value >= 0 && value <= max
      ? Either.right(value)
      : invalid(field, `must be an integer from 0 to ${max}, got ${value}`)

const cronFromSpec = (spec: CronSpec, now: Date) =>
  Either.gen(function* () {
    const zone = yield* zoneFor(spec.timezone)
    const given = FIELD_NAMES.filter((name) => spec[name] !== undefined)
    let fields: CronFieldValues
    if (spec.expr !== undefined) {
      if (given.length > 0) return yield* invalid("expr", `cannot be combined with the field '${given[0]}'`)
      fields = yield* parseCrontab(spec.expr)
    } else {
      fields = Object.fromEntries(given.map((name) => [name, String(spec[name])]))
    }
    yield* compileCron(fields)
    const { startTime, endTime } = yield* timeWindow(spec, now, zone)
    return CronTrigger.make({
      year: fields.year ?? null,
      month: fields.month ?? null,
      day: fields.day ?? null,
      week: fields.week ?? null,
      dayOfWeek: fields.day_of_week ?? null,
      hour: fields.hour ?? null,
      minute: fields.minute ?? null,
      second: fields.second ?? null,
      startTime,
      endTime,
      timezone: zone.name
    })
  })

const intervalFromSpec = (spec: IntervalSpec, now: Date) =>
  Either.gen(function* () {
    const span = {
      weeks: yield* nonNegative("weeks", spec.weeks, false),
      days: yield* nonNegative("days", spec.days, false),
      hours: yield* nonNegative("hours", spec.hours, false),
      minutes: yield* nonNegative("minutes", spec.minutes, false),
      seconds: yield* nonNegative("seconds", spec.seconds, false),
      milliseconds: yield* nonNegative("milliseconds", spec.milliseconds, false)
    }
    if (intervalMillis(span) < 1) {
      return yield* invalid("interval", "must be at least 1 millisecond: give weeks, days, hours, minutes, seconds or milliseconds")
    }
    const { startTime, endTime } = yield* timeWindow(spec, now, undefined)
    return IntervalTrigger.make({ ...span, startTime, endTime })
  })

const calendarFromSpec = (spec: CalendarIntervalSpec, now: Date) =>
  Either.gen(function* () {
    const zone = yield* zoneFor(spec.timezone)
    const span = {
      years: yield* nonNegative("years", spec.years, true),
      months: yield* nonNegative("months", spec.months, true),
      weeks: yield* nonNegative("weeks", spec.weeks, true),
      days: yield* nonNegative("days", spec.days, true)
    }
    if (span.years + span.months + span.weeks + span.days === 0) {
      return yield* invalid("interval", "must be at least 1 day long: give years, months, weeks or days")
    }
    const time = {
      hour: yield* timeOfDay("hour", spec.hour, 23),
      minute: yield* timeOfDay("minute", spec.minute, 59),
      second: yield* timeOfDay("second", spec.second, 59)
    }
    const date = (field: string, text: string) =>
      parseIsoDate(text) === undefined ? invalid(field, `invalid date '${text}' (expected YYYY-MM-DD)`) : Either.right(text)
    const today = wallFields(zone.toWall(now.getTime()))
    const startDate = spec.start_date === undefined ? formatIsoDate(today.year, today.month, today.day) : yield* date("start_date", spec.start_date)
    const endDate = spec.end_date === undefined ? null : yield* date("end_date", spec.end_date)
    if (endDate !== null && endDate < startDate) return yield* invalid("end_date", "must not be earlier than start_date")
    return CalendarIntervalTrigger.make({ ...span, ...time, startDate, endDate, timezone: zone.name })
  })

const childrenFromSpec = (triggers: ReadonlyArray<TriggerSpec>, now: Date) =>
  Either.gen(function* () {
    if (triggers.length === 0) return yield* invalid("triggers", "must list at least one trigger")
    const children: Array<Trigger> = []
    for (const [i, child] of triggers.entries()) {
      children.push(
        yield* Either.mapLeft(
          fromSpec(child, now),
          (error) => new InvalidTrigger({ field: `triggers[${i}].${error.field}`, reason: error.reason })
        )
      )
    }
    return children
  })

const andFromSpec = (spec: AndSpec, now: Date) =>
  Either.gen(function* () {
    const threshold = yield* nonNegative("threshold", spec.threshold ?? 1, false)
    const maxIterations = spec.max_iterations ?? 10_000
    if (!Number.isInteger(maxIterations) || maxIterations < 1) {
      return yield* invalid("max_iterations", `must be a positive integer, got ${maxIterations}`)
    }
    const triggers = yield* childrenFromSpec(spec.triggers, now)
    return AndTrigger.make({ triggers, threshold, maxIterations })
  })

/** Validates a spec into a trigger; `now` is the default start (time) of triggers that have one. */
export const fromSpec = (spec: TriggerSpec, now: Date): Either.Either<Trigger, InvalidTrigger> => {
  switch (spec.type) {
    case "cron":
      return cronFromSpec(spec, now)
    case "interval":
      return intervalFromSpec(spec, now)
    case "date":
      return Either.map(parseTime("run_time", spec.run_time, undefined), (runTime) => DateTrigger.make({ runTime }))
    case "calendarinterval":
      return calendarFromSpec(spec, now)
    case "and":
      return andFromSpec(spec, now)
    case "or":
      return Either.map(childrenFromSpec(spec.triggers, now), (triggers) => OrTrigger.make({ triggers }))
  }
}
