import { Command } from "@effect/cli"
import { NodeContext } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Either, Option } from "effect"
import { vi } from "vitest"
import { CliUsageError } from "../../src/cli/errors.js"
import { nextFireTimeLines, parseCalendar, parseDuration, triggersCommand, type TriggersNextOptions } from "../../src/cli/triggers.js"

const now = new Date("2026-03-28T11:00:00Z")

const options = (given: Partial<Record<keyof TriggersNextOptions, string>>, count = 5): TriggersNextOptions => ({
  cron: Option.fromNullable(given.cron),
  interval: Option.fromNullable(given.interval),
  date: Option.fromNullable(given.date),
  calendar: Option.fromNullable(given.calendar),
  json: Option.fromNullable(given.json),
  timezone: Option.fromNullable(given.timezone),
  start: Option.fromNullable(given.start),
  end: Option.fromNullable(given.end),
  count
})

const lines = (given: Partial<Record<keyof TriggersNextOptions, string>>, count = 5) =>
  Either.getOrThrow(nextFireTimeLines(options(given, count), now))

const usageMessage = (given: Partial<Record<keyof TriggersNextOptions, string>>, count = 5) => {
  const result = nextFireTimeLines(options(given, count), now)
  return Either.isLeft(result) ? result.left.message : "no error"
}

describe("triggers next", () => {
  it("previews a 6-field cron in Europe/Stockholm across the spring-forward gap", () => {
    expect(lines({ cron: "0 30 2 * * *", timezone: "Europe/Stockholm", start: "2026-03-28T12:00:00+01:00" })).toEqual([
      "2026-03-30T02:30:00+02:00",
      "2026-03-31T02:30:00+02:00",
      "2026-04-01T02:30:00+02:00",
      "2026-04-02T02:30:00+02:00",
      "2026-04-03T02:30:00+02:00"
    ])
  })
  it("previews an interval from now, shown in --timezone", () => {
    expect(lines({ interval: "1h30m", timezone: "Europe/Berlin" }, 3)).toEqual([
      "2026-03-28T12:00:00+01:00",
      "2026-03-28T13:30:00+01:00",
      "2026-03-28T15:00:00+01:00"
    ])
  })
  it("stops early when the trigger finishes", () => {
    expect(lines({ date: "2026-04-01T08:00:00+02:00" })).toEqual(["2026-04-01T06:00:00+00:00"])
    expect(lines({ interval: "90s", start: "2026-01-01T00:00:00Z", end: "2026-01-01T00:03:00Z" })).toEqual([
      "2026-01-01T00:00:00+00:00",
      "2026-01-01T00:01:30+00:00",
      "2026-01-01T00:03:00+00:00"
    ])
  })
  it("previews a calendar interval with key=value pairs", () => {
    expect(lines({ calendar: "months=1,hour=2,minute=30", start: "2026-01-31", timezone: "Europe/Stockholm" }, 3)).toEqual([
      "2026-01-31T02:30:00+01:00",
      "2026-03-31T02:30:00+02:00",
      "2026-05-31T02:30:00+02:00"
    ])
  })
  it("previews and/or triggers given as JSON", () => {
    const json = JSON.stringify({
      type: "or",
      triggers: [
        { type: "cron", hour: 9, start_time: "2026-03-28T00:00:00Z" },
        { type: "interval", hours: 10, start_time: "2026-03-28T00:00:00Z" }
      ]
    })
    expect(lines({ json }, 4)).toEqual([
      "2026-03-28T00:00:00+00:00",
      "2026-03-28T09:00:00+00:00",
      "2026-03-28T10:00:00+00:00",
      "2026-03-28T20:00:00+00:00"
    ])
  })
  it.each<[Partial<Record<keyof TriggersNextOptions, string>>, string]>([
    [{}, "give exactly one of --cron, --interval, --date, --calendar or --json"],
    [{ cron: "* * * * *", interval: "5m" }, "give exactly one of --cron, --interval, --date, --calendar or --json"],
    [{ cron: "*/0 * * * *" }, "minute: step must be positive"],
    [{ cron: "* * * * *", timezone: "Mars/Base" }, "timezone: unknown time zone 'Mars/Base'"],
    [{ interval: "5x" }, "--interval: invalid duration '5x' (e.g. 90s, 5m, 1h30m, 2d, 1w, 250ms)"],
    [{ interval: "0s" }, "interval: must be at least 1 millisecond: give weeks, days, hours, minutes, seconds or milliseconds"],
    [{ interval: "5m", timezone: "Mars/Base" }, "timezone: unknown time zone 'Mars/Base'"],
    [{ calendar: "months=1,fortnights=2" }, "--calendar: unknown key 'fortnights' (use years, months, weeks, days, hour, minute, second, start_date, end_date)"],
    [{ calendar: "hour=2" }, "interval: must be at least 1 day long: give years, months, weeks or days"],
    [{ date: "tomorrow" }, "run_time: invalid date-time 'tomorrow' (expected ISO-8601, e.g. 2026-03-28T12:00:00+01:00)"],
    [{ json: '{"type":"and","triggers":[{"type":"cron","day_of_week":"web"}]}' }, "triggers[0].day_of_week: invalid weekday name 'web'"]
  ])("%j fails with a usage error", (given, message) => {
    expect(usageMessage(given)).toBe(message)
  })
  it("rejects a non-positive count", () => {
    expect(usageMessage({ interval: "5m" }, 0)).toBe("--count: must be a positive integer")
  })
  it("reports MaxIterationsReached as a usage error", () => {
    const json = JSON.stringify({
      type: "and",
      max_iterations: 10,
      triggers: [
        { type: "interval", seconds: 4, start_time: "2026-01-01T00:00:00Z" },
        { type: "interval", seconds: 4, start_time: "2026-01-01T00:00:02Z" }
      ]
    })
    expect(usageMessage({ json })).toBe("and-trigger found no common fire time within 10 iterations")
  })
})

describe("flag syntax", () => {
  it("durations", () => {
    expect(Either.getOrThrow(parseDuration("1h30m"))).toEqual({ hours: 1, minutes: 30 })
    expect(Either.getOrThrow(parseDuration("2d"))).toEqual({ days: 2 })
    expect(Either.getOrThrow(parseDuration("1w250ms"))).toEqual({ weeks: 1, milliseconds: 250 })
    expect(Either.isLeft(parseDuration("5m5m"))).toBe(true)
    expect(Either.isLeft(parseDuration(""))).toBe(true)
  })
  it("calendar pairs", () => {
    expect(Either.getOrThrow(parseCalendar("months=1, hour=2,minute=30,start_date=2026-01-31"))).toEqual({
      months: 1,
      hour: 2,
      minute: 30,
      start_date: "2026-01-31"
    })
    const bad = parseCalendar("months=one")
    expect(Either.isLeft(bad) && bad.left.message).toBe("--calendar: months must be a whole number, got 'one'")
  })
})

describe("the @effect/cli command", () => {
  const cli = Command.run(Command.make("schedulezero").pipe(Command.withSubcommands([triggersCommand])), {
    name: "schedulezero",
    version: "0.0.0"
  })
  const argv = (...args: Array<string>) => ["node", "main.js", "triggers", "next", ...args]

  it.effect("parses the flags and prints one fire time per line", () =>
    Effect.gen(function* () {
      const log = vi.spyOn(console, "log").mockImplementation(() => {})
      try {
        yield* cli(argv("--cron", "0 30 2 * * *", "--timezone", "Europe/Stockholm", "--start", "2026-03-28T12:00:00+01:00", "--count", "2"))
        expect(log.mock.calls.map((call) => call[0])).toEqual(["2026-03-30T02:30:00+02:00", "2026-03-31T02:30:00+02:00"])
      } finally {
        log.mockRestore()
      }
    }).pipe(Effect.provide(NodeContext.layer))
  )

  it.effect("fails with CliUsageError on bad input", () =>
    Effect.gen(function* () {
      const error = yield* Effect.flip(cli(argv("--cron", "* * * * web")))
      expect(error).toBeInstanceOf(CliUsageError)
      expect((error as CliUsageError).message).toBe("day_of_week: invalid weekday name 'web'")
    }).pipe(Effect.provide(NodeContext.layer))
  )
})
