/**
 * Triggers as written in config.yaml. Exactly one of `cron`, `interval`,
 * `date`, `calendar`, `and`, `or` says which kind; the other keys belong to
 * that kind:
 *
 *   trigger: { cron: "30 2 * * *", timezone: Europe/Stockholm }
 *   trigger: { cron: { hour: 2, minute: 30, day_of_week: mon-fri } }
 *   trigger: { interval: 5m }                       # or { interval: { hours: 1, minutes: 30 } }
 *   trigger: { date: "2026-05-01T09:00:00+02:00" }
 *   trigger: { calendar: { months: 1 }, time: "02:30", timezone: Europe/Berlin }
 *   trigger: { or: [ { cron: "0 9 * * mon" }, { cron: "0 17 * * fri" } ] }
 *   trigger: { and: [ ... ], threshold: 1s, max_iterations: 10000 }
 *
 * Decoding validates everything the trigger engine would reject later (cron
 * expressions, zone names, dates), so a bad trigger stops the deployment at
 * load with the key path. `toTrigger` builds the stored trigger at start time.
 */
import { Duration, Either, ParseResult, Predicate, Schema, type SchemaAST } from "effect"
import { InvalidTrigger } from "../domain/errors.js"
import { formatIsoDate, isValidDate, parseIsoDate, wallFields } from "../domain/triggers/calendar.js"
import { compileCron, type CronFieldValues } from "../domain/triggers/cron/compile.js"
import { FIELD_NAMES, type FieldName } from "../domain/triggers/cron/field.js"
import { intervalMillis } from "../domain/triggers/interval.js"
import {
  AndTrigger,
  CalendarIntervalTrigger,
  CronTrigger,
  DateTrigger,
  IntervalTrigger,
  OrTrigger,
  type Trigger
} from "../domain/triggers/schema.js"
import { zoneNamed } from "../domain/triggers/zone.js"
import { ConfigDuration, containing, expecting, NonNegativeNumber, PositiveInt, showValue } from "./fields.js"

// ---------------------------------------------------------------- field types

/** An instant written with its offset: 2026-03-28T12:00:00+01:00 or ...Z. */
const Instant = Schema.transformOrFail(Schema.String, Schema.DateFromSelf, {
  strict: true,
  decode: (text, _, ast) => {
    const valid = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/.test(text)
    const date = new Date(text)
    return valid && !Number.isNaN(date.getTime())
      ? ParseResult.succeed(date)
      : ParseResult.fail(new ParseResult.Type(ast, text))
  },
  encode: (date) => ParseResult.succeed(date.toISOString())
}).pipe(expecting("an ISO-8601 date-time with offset, such as 2026-03-28T12:00:00+01:00"))

const CalendarDate = Schema.String.pipe(
  Schema.filter((text) => {
    const date = parseIsoDate(text)
    return date !== undefined && isValidDate(date.year, date.month, date.day)
  }),
  expecting("a date such as 2026-03-28")
)

const TimeZone = Schema.String.pipe(
  Schema.filter((name) => zoneNamed(name) !== undefined),
  expecting("an IANA time zone name such as Europe/Berlin or UTC")
)

/** hh:mm or hh:mm:ss */
const TimeOfDay = Schema.transformOrFail(
  Schema.String,
  Schema.Struct({ hour: Schema.Number, minute: Schema.Number, second: Schema.Number }),
  {
    strict: true,
    decode: (text, _, ast) => {
      const match = /^(\d{1,2}):(\d{2})(?::(\d{2}))?$/.exec(text)
      const [hour, minute, second] = match ? [Number(match[1]), Number(match[2]), Number(match[3] ?? 0)] : [-1, -1, -1]
      return hour >= 0 && hour <= 23 && minute >= 0 && minute <= 59 && second >= 0 && second <= 59
        ? ParseResult.succeed({ hour, minute, second })
        : ParseResult.fail(new ParseResult.Type(ast, text))
    },
    encode: ({ hour, minute, second }) =>
      ParseResult.succeed([hour, minute, second].map((n) => String(n).padStart(2, "0")).join(":"))
  }
).pipe(expecting("a time of day such as 02:30 or 02:30:15"))

const CronValue = Schema.Union(Schema.String, Schema.Int).pipe(expecting("a cron expression such as */5, 1-5 or mon-fri"))

/** YAML cron keys (snake_case as APScheduler names them). */
const CronFields = Schema.Struct(
  Object.fromEntries(FIELD_NAMES.map((name) => [name, Schema.optionalWith(CronValue, { exact: true })])) as {
    [K in FieldName]: Schema.optionalWith<typeof CronValue, { exact: true }>
  }
).pipe(containing("a crontab string or a mapping of cron fields"))

/** A crontab line: 5 fields (minute hour day month day_of_week) or 6 (second first). */
const Crontab = Schema.String.pipe(
  Schema.filter((text) => [5, 6].includes(text.trim().split(/\s+/).length)),
  expecting("a crontab string with 5 fields (minute hour day month day_of_week) or 6 (second first)")
)

export const crontabFields = (text: string): CronFieldValues => {
  const parts = text.trim().split(/\s+/)
  const [second, minute, hour, day, month, dayOfWeek] = parts.length === 6 ? parts : ["0", ...parts]
  return { second, minute, hour, day, month, day_of_week: dayOfWeek } as CronFieldValues
}

const IntervalFields = Schema.Struct({
  weeks: Schema.optionalWith(NonNegativeNumber, { exact: true }),
  days: Schema.optionalWith(NonNegativeNumber, { exact: true }),
  hours: Schema.optionalWith(NonNegativeNumber, { exact: true }),
  minutes: Schema.optionalWith(NonNegativeNumber, { exact: true }),
  seconds: Schema.optionalWith(NonNegativeNumber, { exact: true }),
  milliseconds: Schema.optionalWith(NonNegativeNumber, { exact: true })
}).pipe(containing("a duration or a mapping of weeks, days, hours, minutes, seconds, milliseconds"))

const CalendarFields = Schema.Struct({
  years: Schema.optionalWith(PositiveInt, { exact: true }),
  months: Schema.optionalWith(PositiveInt, { exact: true }),
  weeks: Schema.optionalWith(PositiveInt, { exact: true }),
  days: Schema.optionalWith(PositiveInt, { exact: true })
}).pipe(containing("a mapping of years, months, weeks, days"))

// ------------------------------------------------------------ decoded shapes

export interface CronSpec {
  readonly kind: "cron"
  readonly fields: CronFieldValues
  readonly timezone: string | undefined
  readonly start: Date | undefined
  readonly end: Date | undefined
}
export interface IntervalSpec {
  readonly kind: "interval"
  readonly millis: number
  readonly start: Date | undefined
  readonly end: Date | undefined
}
export interface DateSpec {
  readonly kind: "date"
  readonly runTime: Date
}
export interface CalendarSpec {
  readonly kind: "calendar"
  readonly years: number
  readonly months: number
  readonly weeks: number
  readonly days: number
  readonly time: { readonly hour: number; readonly minute: number; readonly second: number }
  readonly timezone: string | undefined
  readonly startDate: string | undefined
  readonly endDate: string | undefined
}
export interface AndSpec {
  readonly kind: "and"
  readonly triggers: ReadonlyArray<TriggerSpec>
  readonly thresholdSeconds: number | undefined
  readonly maxIterations: number | undefined
}
export interface OrSpec {
  readonly kind: "or"
  readonly triggers: ReadonlyArray<TriggerSpec>
}
export type TriggerSpec = CronSpec | IntervalSpec | DateSpec | CalendarSpec | AndSpec | OrSpec

// ------------------------------------------------------------------- kinds

/**
 * The decoded side of a decode-only schema: the values are built by the
 * transformation's decode (which is where all validation happens), so the
 * target is not checked again.
 */
const decodedAs = <A>() => Schema.Any as Schema.Schema<A>

const optional = <A, I>(schema: Schema.Schema<A, I>) => Schema.optionalWith(schema, { exact: true })
const Children = Schema.Array(
  Schema.suspend((): Schema.Schema<TriggerSpec, unknown> => TriggerSpecSchema)
).pipe(Schema.minItems(1), containing("a non-empty list of triggers"))

const fail = (
  ast: SchemaAST.AST,
  actual: unknown,
  key: string,
  message: string
): Either.Either<never, ParseResult.ParseIssue> =>
  ParseResult.fail(new ParseResult.Pointer(key, actual, new ParseResult.Type(ast, actual, message)))

const CronKind = Schema.transformOrFail(
  Schema.Struct({
    cron: Schema.Union(Crontab, CronFields).pipe(containing("a crontab string or a mapping of cron fields")),
    timezone: optional(TimeZone),
    start: optional(Instant),
    end: optional(Instant)
  }),
  decodedAs<CronSpec>(),
  {
    strict: true,
    decode: (input, _, ast) => {
      const fields: CronFieldValues =
        typeof input.cron === "string"
          ? crontabFields(input.cron)
          : Object.fromEntries(Object.entries(input.cron).map(([name, value]) => [name, String(value)]))
      const compiled = compileCron(fields)
      if (Either.isLeft(compiled)) return fail(ast, input, "cron", compiled.left.message)
      return ParseResult.succeed<CronSpec>({ kind: "cron", fields, timezone: input.timezone, start: input.start, end: input.end })
    },
    encode: (spec, _, ast) => ParseResult.fail(new ParseResult.Forbidden(ast, spec, "trigger specs are decode-only"))
  }
)

const IntervalKind = Schema.transformOrFail(
  Schema.Struct({
    interval: Schema.Union(ConfigDuration, IntervalFields).pipe(
      containing("a duration such as 5m or a mapping of weeks, days, hours, minutes, seconds, milliseconds")
    ),
    start: optional(Instant),
    end: optional(Instant)
  }),
  decodedAs<IntervalSpec>(),
  {
    strict: true,
    decode: (input, _, ast) => {
      const millis = Duration.isDuration(input.interval)
        ? Duration.toMillis(input.interval)
        : intervalMillis({ weeks: 0, days: 0, hours: 0, minutes: 0, seconds: 0, milliseconds: 0, ...input.interval })
      if (!(millis > 0)) return fail(ast, input, "interval", "the interval must be longer than zero")
      return ParseResult.succeed<IntervalSpec>({ kind: "interval", millis, start: input.start, end: input.end })
    },
    encode: (spec, _, ast) => ParseResult.fail(new ParseResult.Forbidden(ast, spec, "trigger specs are decode-only"))
  }
)

const DateKind = Schema.transform(Schema.Struct({ date: Instant }), decodedAs<DateSpec>(), {
  strict: true,
  decode: (input) => ({ kind: "date" as const, runTime: input.date }),
  encode: (spec) => ({ date: spec.runTime })
})

const CalendarKind = Schema.transformOrFail(
  Schema.Struct({
    calendar: CalendarFields,
    time: optional(TimeOfDay),
    timezone: optional(TimeZone),
    start_date: optional(CalendarDate),
    end_date: optional(CalendarDate)
  }),
  decodedAs<CalendarSpec>(),
  {
    strict: true,
    decode: (input, _, ast) => {
      const { years = 0, months = 0, weeks = 0, days = 0 } = input.calendar
      if (years + months + weeks + days === 0) {
        return fail(ast, input, "calendar", "give at least one of years, months, weeks, days")
      }
      return ParseResult.succeed<CalendarSpec>({
        kind: "calendar",
        years,
        months,
        weeks,
        days,
        time: input.time ?? { hour: 0, minute: 0, second: 0 },
        timezone: input.timezone,
        startDate: input.start_date,
        endDate: input.end_date
      })
    },
    encode: (spec, _, ast) => ParseResult.fail(new ParseResult.Forbidden(ast, spec, "trigger specs are decode-only"))
  }
)

const AndKind = Schema.transform(
  Schema.Struct({
    and: Children,
    threshold: optional(ConfigDuration),
    max_iterations: optional(PositiveInt)
  }),
  decodedAs<AndSpec>(),
  {
    strict: true,
    decode: (input) => ({
      kind: "and" as const,
      triggers: input.and,
      thresholdSeconds: input.threshold === undefined ? undefined : Duration.toMillis(input.threshold) / 1000,
      maxIterations: input.max_iterations
    }),
    encode: (spec) => ({ and: spec.triggers })
  }
)

const OrKind = Schema.transform(Schema.Struct({ or: Children }), decodedAs<OrSpec>(), {
  strict: true,
  decode: (input) => ({ kind: "or" as const, triggers: input.or }),
  encode: (spec) => ({ or: spec.triggers })
})

const kinds = { cron: CronKind, interval: IntervalKind, date: DateKind, calendar: CalendarKind, and: AndKind, or: OrKind }
const kindNames = Object.keys(kinds) as ReadonlyArray<keyof typeof kinds>
const kindsText = "one of the keys cron, interval, date, calendar, and, or"

/**
 * Picks the kind by the one key that names it, then decodes with that kind's
 * schema, so errors speak about that kind's keys only.
 */
export const TriggerSpecSchema: Schema.Schema<TriggerSpec, unknown> = Schema.transformOrFail(
  Schema.Unknown,
  decodedAs<TriggerSpec>(),
  {
    strict: true,
    decode: (input, options, ast) => {
      if (!Predicate.isRecord(input) || Array.isArray(input)) {
        return ParseResult.fail(
          new ParseResult.Type(ast, input, `expected a trigger mapping with ${kindsText}, got ${showValue(input)}`)
        )
      }
      const present = kindNames.filter((name) => Object.hasOwn(input, name))
      if (present.length !== 1) {
        const found = present.length === 0 ? "none" : present.join(" and ")
        return ParseResult.fail(new ParseResult.Type(ast, input, `expected exactly ${kindsText}, found ${found}`))
      }
      return ParseResult.decodeUnknown(kinds[present[0]!] as Schema.Schema<TriggerSpec, unknown>)(input, options)
    },
    encode: (spec, _, ast) => ParseResult.fail(new ParseResult.Forbidden(ast, spec, "trigger specs are decode-only"))
  }
)

// ------------------------------------------------------------------ building

/** The zone a trigger uses when its config names none: the machine's, as APScheduler does. */
export const localTimeZone = (): string => Intl.DateTimeFormat().resolvedOptions().timeZone

const todayIn = (timezone: string, now: Date): string => {
  const zone = zoneNamed(timezone)!
  const wall = wallFields(zone.toWall(now.getTime()))
  return formatIsoDate(wall.year, wall.month, wall.day)
}

const cronKey = (name: FieldName) => (name === "day_of_week" ? "dayOfWeek" : name)

/**
 * The trigger to store for `spec`, starting at `now` unless the spec gives a
 * start. Schema constructors validate again; a failure there is reported as
 * InvalidTrigger naming the field.
 */
export const toTrigger = (spec: TriggerSpec, now: Date): Either.Either<Trigger, InvalidTrigger> =>
  Either.try({
    try: (): Trigger => {
      switch (spec.kind) {
        case "cron":
          return new CronTrigger({
            ...Object.fromEntries(Object.entries(spec.fields).map(([name, value]) => [cronKey(name as FieldName), value])),
            startTime: spec.start ?? now,
            endTime: spec.end ?? null,
            timezone: spec.timezone ?? localTimeZone()
          })
        case "interval":
          return new IntervalTrigger({
            milliseconds: spec.millis,
            startTime: spec.start ?? now,
            endTime: spec.end ?? null
          })
        case "date":
          return new DateTrigger({ runTime: spec.runTime })
        case "calendar": {
          const timezone = spec.timezone ?? localTimeZone()
          return new CalendarIntervalTrigger({
            years: spec.years,
            months: spec.months,
            weeks: spec.weeks,
            days: spec.days,
            ...spec.time,
            startDate: spec.startDate ?? todayIn(timezone, now),
            endDate: spec.endDate ?? null,
            timezone
          })
        }
        case "and":
          return new AndTrigger({
            triggers: spec.triggers.map((child) => Either.getOrThrow(toTrigger(child, now))),
            ...(spec.thresholdSeconds !== undefined && { threshold: spec.thresholdSeconds }),
            ...(spec.maxIterations !== undefined && { maxIterations: spec.maxIterations })
          })
        case "or":
          return new OrTrigger({ triggers: spec.triggers.map((child) => Either.getOrThrow(toTrigger(child, now))) })
      }
    },
    catch: (error) =>
      error instanceof InvalidTrigger
        ? error
        : new InvalidTrigger({ field: "trigger", reason: error instanceof Error ? error.message : String(error) })
  })
