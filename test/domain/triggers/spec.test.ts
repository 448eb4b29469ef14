import { describe, expect, it } from "@effect/vitest"
import { Either } from "effect"
import type { Trigger } from "../../../src/domain/triggers/schema.js"
import { describeTrigger, fromSpec, parseSpecJson } from "../../../src/domain/triggers/Trigger.js"
import { fireTimes } from "./fireTimes.js"

const now = new Date("2026-03-28T11:00:00Z")

const build = (json: unknown): Trigger =>
  Either.getOrThrow(Either.flatMap(parseSpecJson(JSON.stringify(json)), (spec) => fromSpec(spec, now)))

const failure = (json: unknown): string => {
  const result = Either.flatMap(parseSpecJson(JSON.stringify(json)), (spec) => fromSpec(spec, now))
  return Either.isLeft(result) ? result.left.message : "no error"
}

describe("fromSpec builds triggers with APScheduler's defaults", () => {
  it("cron fields, default zone UTC and start now", () => {
    const trigger = build({ type: "cron", minute: "*/5", hour: "9-17", day_of_week: "mon-fri" })
    expect(trigger).toMatchObject({ _tag: "CronTrigger", timezone: "UTC", startTime: now, endTime: null, second: null })
    // 2026-03-28 is a saturday
    expect(fireTimes(trigger, 2)).toEqual(["2026-03-30T09:00:00+00:00", "2026-03-30T09:05:00+00:00"])
  })
  it("numbers are accepted for cron fields", () => {
    expect(build({ type: "cron", hour: 2, minute: 30, timezone: "Europe/Stockholm" })).toMatchObject({ hour: "2", minute: "30" })
  })
  it("crontab with 5 fields, converting crontab weekday numbers (0 = sunday)", () => {
    const trigger = build({ type: "cron", expr: "0 9 * * 1-5", timezone: "Europe/Berlin" })
    expect(trigger).toMatchObject({ minute: "0", hour: "9", day: "*", month: "*", dayOfWeek: "mon-fri", second: "0" })
  })
  it.each([
    ["* * * * 0-3", "mon-wed,sun"],
    ["* * * * 6-1", "mon,sat-sun"],
    ["* * * * 6-7", "sat-sun"],
    ["* * * * 7", "sun"],
    ["* * * * 0,7", "sun"],
    ["* * * * */2", "tue,thu,sat-sun"],
    ["* * * * sun-tue", "mon-tue,sun"],
    ["* * * * *", "*"]
  ])("crontab weekday %s -> %s", (expr, dayOfWeek) => {
    expect(build({ type: "cron", expr })).toMatchObject({ dayOfWeek })
  })
  it("crontab with 6 fields takes seconds first", () => {
    const trigger = build({ type: "cron", expr: "0 30 2 * * *", timezone: "Europe/Stockholm", start_time: "2026-03-28T12:00:00+01:00" })
    expect(fireTimes(trigger, 2, "Europe/Stockholm")).toEqual(["2026-03-30T02:30:00+02:00", "2026-03-31T02:30:00+02:00"])
  })
  it("naive start and end times are read in the cron trigger's zone", () => {
    const trigger = build({ type: "cron", hour: 4, timezone: "Europe/Berlin", start_time: "2014-04-13T02:00:00", end_time: "2014-04-13T04:00:00" })
    expect(fireTimes(trigger, 2, "Europe/Berlin")).toEqual(["2014-04-13T04:00:00+02:00", null])
  })
  it("interval: first fire at start_time (default now)", () => {
    expect(fireTimes(build({ type: "interval", minutes: 5 }), 2)).toEqual(["2026-03-28T11:00:00+00:00", "2026-03-28T11:05:00+00:00"])
  })
  it("date", () => {
    expect(fireTimes(build({ type: "date", run_time: "2026-04-01T08:00:00+02:00" }), 2)).toEqual(["2026-04-01T06:00:00+00:00", null])
  })
  it("calendarinterval: start_date defaults to today in its zone", () => {
    const trigger = build({ type: "calendarinterval", months: 1, hour: 2, minute: 30, timezone: "Pacific/Kiritimati" })
    expect(trigger).toMatchObject({ startDate: "2026-03-29", months: 1, hour: 2, minute: 30 })
  })
  it("and / or with nested children", () => {
    const trigger = build({
      type: "or",
      triggers: [
        { type: "date", run_time: "2026-04-01T00:00:00Z" },
        { type: "and", threshold: 0, max_iterations: 100, triggers: [{ type: "cron", day: 1 }, { type: "interval", days: 1, start_time: "2026-01-01T00:00:00Z" }] }
      ]
    })
    expect(fireTimes(trigger, 3)).toEqual(["2026-04-01T00:00:00+00:00", "2026-05-01T00:00:00+00:00", "2026-06-01T00:00:00+00:00"])
  })
})

describe("fromSpec validation messages name the field and the problem", () => {
  it.each<[unknown, string]>([
    [{ type: "cron", minute: "*/0" }, "minute: step must be positive"],
    [{ type: "cron", day_of_week: "web" }, "day_of_week: invalid weekday name 'web'"],
    [{ type: "cron", hour: 1, timezone: "Mars/Base" }, "timezone: unknown time zone 'Mars/Base'"],
    [{ type: "cron", hour: 24 }, "hour: value 24 in '24' is out of range 0-23"],
    [{ type: "cron", expr: "* * *" }, "expr: expected 5 fields (minute hour day month day_of_week) or 6 with seconds first, got 3"],
    [{ type: "cron", expr: "* * * * *", minute: 5 }, "expr: cannot be combined with the field 'minute'"],
    [{ type: "cron", expr: "*/0 * * * *" }, "minute: step must be positive"],
    [{ type: "cron", expr: "* * * * 8" }, "day_of_week: invalid weekday number 8 (crontab uses 0-7, 0 and 7 = sunday)"],
    [{ type: "cron", expr: "* * * * web" }, "day_of_week: invalid weekday name 'web'"],
    [{ type: "cron", hour: 1, start_time: "yesterday" }, "start_time: invalid date-time 'yesterday' (expected ISO-8601, e.g. 2026-03-28T12:00:00+01:00)"],
    [{ type: "cron", hour: 1, start_time: "2026-02-30T00:00:00Z" }, "start_time: invalid date-time '2026-02-30T00:00:00Z'"],
    [
      { type: "cron", hour: 1, timezone: "Europe/Berlin", start_time: "2025-03-30T02:30:00" },
      "start_time: '2025-03-30T02:30:00' does not exist in Europe/Berlin (skipped by a DST change)"
    ],
    [{ type: "cron", hour: 1, start_time: "2026-01-02T00:00:00Z", end_time: "2026-01-01T00:00:00Z" }, "end_time: must not be earlier than start_time"],
    [{ type: "interval" }, "interval: must be at least 1 millisecond: give weeks, days, hours, minutes, seconds or milliseconds"],
    [{ type: "interval", minutes: 0 }, "interval: must be at least 1 millisecond: give weeks, days, hours, minutes, seconds or milliseconds"],
    [{ type: "interval", minutes: -5 }, "minutes: must be a non-negative number, got -5"],
    [{ type: "interval", minutes: "5" }, "minutes: Expected number, actual \"5\""],
    [{ type: "interval", minuets: 5 }, "minuets: unknown field"],
    [{ type: "interval", hours: 1, start_time: "2026-01-01T00:00:00" }, "start_time: '2026-01-01T00:00:00' needs a UTC offset (e.g. Z or +02:00)"],
    [{ type: "interval", hours: 1, start_time: "2026-01-02T00:00:00Z", end_time: "2026-01-01T00:00:00Z" }, "end_time: must not be earlier than start_time"],
    [{ type: "date" }, "run_time: is missing"],
    [{ type: "date", run_time: "soon" }, "run_time: invalid date-time 'soon' (expected ISO-8601, e.g. 2026-03-28T12:00:00+01:00)"],
    [{ type: "calendarinterval", hour: 2 }, "interval: must be at least 1 day long: give years, months, weeks or days"],
    [{ type: "calendarinterval", months: 1.5 }, "months: must be a non-negative integer, got 1.5"],
    [{ type: "calendarinterval", days: 1, hour: 24 }, "hour: must be an integer from 0 to 23, got 24"],
    [{ type: "calendarinterval", days: 1, minute: 60 }, "minute: must be an integer from 0 to 59, got 60"],
    [{ type: "calendarinterval", days: 1, start_date: "2026-02-30" }, "start_date: invalid date '2026-02-30' (expected YYYY-MM-DD)"],
    [{ type: "calendarinterval", days: 1, start_date: "2026-02-02", end_date: "2026-02-01" }, "end_date: must not be earlier than start_date"],
    [{ type: "calendarinterval", days: 1, timezone: "Mars/Base" }, "timezone: unknown time zone 'Mars/Base'"],
    [{ type: "and", triggers: [] }, "triggers: must list at least one trigger"],
    [{ type: "and", threshold: -1, triggers: [{ type: "interval", seconds: 1 }] }, "threshold: must be a non-negative number, got -1"],
    [{ type: "and", max_iterations: 0, triggers: [{ type: "interval", seconds: 1 }] }, "max_iterations: must be a positive integer, got 0"],
    [{ type: "or", triggers: [{ type: "interval", seconds: 1 }, { type: "cron", minute: "*/0" }] }, "triggers[1].minute: step must be positive"],
    [{ type: "or", triggers: [{ type: "and", triggers: [{ type: "interval", seconds: 0 }] }] }, "triggers[0].triggers[0].interval: must be at least 1 millisecond: give weeks, days, hours, minutes, seconds or milliseconds"]
  ])("%j", (json, message) => {
    expect(failure(json)).toBe(message)
  })
  it("unknown type and bad JSON", () => {
    expect(failure({ type: "weekly" })).toMatch(/^type: /)
    const bad = parseSpecJson("{nope")
    expect(Either.isLeft(bad) && bad.left.message).toMatch(/^json: not valid JSON/)
  })
})

describe("describeTrigger", () => {
  it.each<[unknown, string]>([
    [{ type: "interval", minutes: 5, start_time: "2026-01-01T00:00:00Z" }, "every 5 minutes from 2026-01-01T00:00:00+00:00"],
    [{ type: "interval", hours: 1, minutes: 30, start_time: "2026-01-01T00:00:00Z" }, "every 1 hour 30 minutes from 2026-01-01T00:00:00+00:00"],
    [{ type: "cron", hour: 9, minute: 30, day_of_week: "mon-fri", timezone: "Europe/Berlin" }, "cron: every weekday at 09:30 (Europe/Berlin)"],
    [{ type: "cron", minute: "*/5", hour: "9-17" }, "cron: at hour 9-17, minute */5, second 0 (UTC)"],
    [{ type: "cron", expr: "0 0 1 jan *" }, "cron: every year on January 1 at 00:00 (UTC)"],
    [{ type: "date", run_time: "2026-04-01T08:00:00+02:00" }, "once at 2026-04-01T06:00:00+00:00"],
    [
      { type: "calendarinterval", months: 1, hour: 2, minute: 30, start_date: "2026-01-31", timezone: "Europe/Stockholm" },
      "every 1 month at 02:30 from 2026-01-31 (Europe/Stockholm)"
    ],
    [
      { type: "or", triggers: [{ type: "date", run_time: "2026-04-01T00:00:00Z" }, { type: "cron", hour: 3 }] },
      "any of [once at 2026-04-01T00:00:00+00:00; cron: every day at 03:00 (UTC)]"
    ],
    [
      { type: "and", threshold: 2, triggers: [{ type: "cron", hour: 3 }, { type: "cron", day: "last" }] },
      "all of [cron: every day at 03:00 (UTC); cron: at 00:00 on day last (UTC)] within 2 seconds"
    ]
  ])("%j", (json, text) => {
    expect(describeTrigger(build(json))).toBe(text)
  })
})
