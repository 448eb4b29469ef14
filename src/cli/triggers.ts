/**
 * `triggers next`: preview the next fire times of a trigger, one ISO-8601 time
 * (with the zone's offset) per line. Bad input fails with CliUsageError
 * carrying the validation message, which main turns into exit code 2.
 */
import { Command, Options } from "@effect/cli"
import { Clock, Console, Effect, Either, Option } from "effect"
import { formatInZone } from "../domain/triggers/format.js"
import type { Trigger } from "../domain/triggers/schema.js"
import { fromSpec, next, parseSpecJson, type TriggerSpec } from "../domain/triggers/Trigger.js"
import { CliUsageError } from "./errors.js"

export { formatInZone } from "../domain/triggers/format.js"

/** The flags that describe a trigger (also taken by `schedules add`). */
export interface TriggerFlags {
  readonly cron: Option.Option<string>
  readonly interval: Option.Option<string>
  readonly date: Option.Option<string>
  readonly calendar: Option.Option<string>
  readonly json: Option.Option<string>
  readonly timezone: Option.Option<string>
  readonly start: Option.Option<string>
  readonly end: Option.Option<string>
}

export interface TriggersNextOptions extends TriggerFlags {
  readonly count: number
}

const usage = (message: string) => Either.left(new CliUsageError({ message }))

const DURATION_UNITS = { w: "weeks", d: "days", h: "hours", m: "minutes", s: "seconds", ms: "milliseconds" } as const
type DurationUnit = keyof typeof DURATION_UNITS

/** "90s", "5m", "1h30m", "2d", "1w", "250ms" -> interval spec fields. */
export const parseDuration = (text: string): Either.Either<Partial<Record<(typeof DURATION_UNITS)[DurationUnit], number>>, CliUsageError> => {
  const fields: Partial<Record<(typeof DURATION_UNITS)[DurationUnit], number>> = {}
  const bad = usage(`--interval: invalid duration '${text}' (e.g. 90s, 5m, 1h30m, 2d, 1w, 250ms)`)
  const trimmed = text.trim()
  if (!/^(\d+(ms|w|d|h|m|s))+$/.test(trimmed)) return bad
  for (const [, amount, unit] of trimmed.matchAll(/(\d+)(ms|w|d|h|m|s)/g)) {
    const field = DURATION_UNITS[unit as DurationUnit]
    if (fields[field] !== undefined) return bad
    fields[field] = Number(amount)
  }
  return Either.right(fields)
}

const CALENDAR_NUMBERS = ["years", "months", "weeks", "days", "hour", "minute", "second"] as const
const CALENDAR_DATES = ["start_date", "end_date"] as const

/** "months=1,hour=2,minute=30[,start_date=2026-01-31][,end_date=...]" -> calendarinterval spec fields. */
export const parseCalendar = (text: string): Either.Either<Record<string, string | number>, CliUsageError> => {
  const fields: Record<string, string | number> = {}
  for (const pair of text.split(",").map((part) => part.trim())) {
    const match = /^([a-z_]+)=(.+)$/.exec(pair)
    if (match === null) return usage(`--calendar: expected key=value pairs separated by commas, got '${pair}'`)
    const [, key, value] = match as unknown as [string, string, string]
    if ((CALENDAR_DATES as ReadonlyArray<string>).includes(key)) fields[key] = value.trim()
    else if ((CALENDAR_NUMBERS as ReadonlyArray<string>).includes(key)) {
      if (!/^\d+$/.test(value.trim())) return usage(`--calendar: ${key} must be a whole number, got '${value}'`)
      fields[key] = Number(value)
    } else {
      return usage(`--calendar: unknown key '${key}' (use ${[...CALENDAR_NUMBERS, ...CALENDAR_DATES].join(", ")})`)
    }
  }
  return Either.right(fields)
}

const optional = <K extends string>(key: K, value: Option.Option<string>): Partial<Record<K, string>> =>
  Option.match(value, { onNone: () => ({}), onSome: (v) => ({ [key]: v }) as Record<K, string> })

/** The trigger spec the flags describe. */
export const triggerSpecOf = (options: TriggerFlags, jsonFlag = "--json"): Either.Either<TriggerSpec, CliUsageError> => {
  const kinds = (["cron", "interval", "date", "calendar", "json"] as const).filter((kind) => Option.isSome(options[kind]))
  if (kinds.length !== 1) return usage(`give exactly one of --cron, --interval, --date, --calendar or ${jsonFlag}`)
  const window = { ...optional("start_time", options.start), ...optional("end_time", options.end) }
  const timezone = optional("timezone", options.timezone)
  switch (kinds[0]!) {
    case "cron":
      return Either.right({ type: "cron", expr: Option.getOrThrow(options.cron), ...timezone, ...window })
    case "interval":
      return Either.map(parseDuration(Option.getOrThrow(options.interval)), (span) => ({ type: "interval", ...span, ...window }))
    case "date":
      if (Option.isSome(options.start) || Option.isSome(options.end)) return usage("--start and --end do not apply to --date")
      return Either.right({ type: "date", run_time: Option.getOrThrow(options.date) })
    case "calendar":
      return Either.map(parseCalendar(Option.getOrThrow(options.calendar)), (fields) => ({
        type: "calendarinterval",
        ...fields,
        ...timezone,
        ...optional("start_date", options.start),
        ...optional("end_date", options.end)
      }) as TriggerSpec)
    case "json":
      if (Option.isSome(options.start) || Option.isSome(options.end)) {
        return usage(`--start and --end do not apply to ${jsonFlag}: put start_time/end_time in the spec`)
      }
      return Either.mapLeft(parseSpecJson(Option.getOrThrow(options.json)), (error) => new CliUsageError({ message: error.message }))
  }
}

/** The zone fire times are shown in: --timezone, else the trigger's own zone, else UTC. */
const displayZone = (trigger: Trigger, options: TriggersNextOptions): string =>
  Option.getOrElse(options.timezone, () =>
    trigger._tag === "CronTrigger" || trigger._tag === "CalendarIntervalTrigger" ? trigger.timezone : "UTC"
  )

/** The next `count` fire times as lines (fewer when the trigger finishes), or the usage error to report. */
export const nextFireTimeLines = (
  options: TriggersNextOptions,
  now: Date
): Either.Either<ReadonlyArray<string>, CliUsageError> =>
  Either.gen(function* () {
    if (!Number.isInteger(options.count) || options.count < 1) return yield* usage("--count: must be a positive integer")
    const spec = yield* triggerSpecOf(options)
    let trigger = yield* Either.mapLeft(fromSpec(spec, now), (error) => new CliUsageError({ message: error.message }))
    const zone = displayZone(trigger, options)
    if (formatInZone(now, zone) === undefined) return yield* usage(`timezone: unknown time zone '${zone}'`)
    const lines: Array<string> = []
    while (lines.length < options.count) {
      const step = yield* Either.mapLeft(next(trigger), (error) => new CliUsageError({ message: error.message }))
      if (step.fireTime === null) break
      lines.push(formatInZone(step.fireTime, zone)!)
      trigger = step.trigger
    }
    return lines
  })

const text = (name: string, description: string) => Options.text(name).pipe(Options.withDescription(description), Options.optional)

export const triggerFlags = {
  cron: text("cron", 'Crontab expression: 5 fields "min hour day month dow" or 6 with seconds first (dow 0/7 = sunday)'),
  interval: text("interval", "Fixed interval of absolute time: 90s, 5m, 1h30m, 2d, 1w, 250ms"),
  date: text("date", "One-off run time, ISO-8601 with offset, e.g. 2026-04-01T08:00:00+02:00"),
  calendar: text(
    "calendar",
    'Calendar interval as key=value pairs: years, months, weeks, days, hour, minute, second, start_date, end_date, e.g. "months=1,hour=2,minute=30"'
  ),
  json: text(
    "json",
    'Any trigger as a TriggerSpec JSON, e.g. {"type":"or","triggers":[{"type":"cron","hour":9},{"type":"interval","hours":5}]}'
  ),
  timezone: text("timezone", "IANA zone of cron/calendar triggers (default UTC) and of the printed times"),
  start: text("start", "Start time (ISO-8601; a calendar interval takes a date YYYY-MM-DD); default now"),
  end: text("end", "End time, inclusive (ISO-8601; a calendar interval takes a date)")
}

export const triggersNextCommand = Command.make(
  "next",
  {
    ...triggerFlags,
    count: Options.integer("count").pipe(Options.withDescription("How many fire times to print"), Options.withDefault(5))
  },
  (options) =>
    Effect.gen(function* () {
      const now = new Date(yield* Clock.currentTimeMillis)
      const lines = yield* nextFireTimeLines(options, now)
      for (const line of lines) yield* Console.log(line)
    })
).pipe(Command.withDescription("Print the next fire times of a trigger, one ISO-8601 time with offset per line"))

/** `triggers` with its subcommands; main mounts it. */
export const triggersCommand = Command.make("triggers").pipe(
  Command.withDescription("Work with triggers"),
  Command.withSubcommands([triggersNextCommand])
)
