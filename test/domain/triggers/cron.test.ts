import { describe, expect, it } from "@effect/vitest"
import { Either } from "effect"
import { compileCron, effectiveFields } from "../../../src/domain/triggers/cron/compile.js"
import { CronTrigger } from "../../../src/domain/triggers/schema.js"
import { fireTimes } from "./fireTimes.js"

type Fields = Partial<Record<"year" | "month" | "day" | "week" | "dayOfWeek" | "hour" | "minute" | "second", string>>

const cron = (fields: Fields, timezone: string, start: string, end?: string) =>
  CronTrigger.make({
    ...fields,
    startTime: new Date(start),
    endTime: end === undefined ? null : new Date(end),
    timezone
  })

const run = (fields: Fields, timezone: string, start: string, count: number, end?: string) =>
  fireTimes(cron(fields, timezone, start, end), count, timezone)

describe("cron expression forms", () => {
  const utc = "2026-01-01T00:00:00Z"
  it.each<[string, Fields, Array<string | null>]>([
    ["*", { second: "*" }, ["2026-01-01T00:00:00+00:00", "2026-01-01T00:00:01+00:00", "2026-01-01T00:00:02+00:00"]],
    ["*/n", { minute: "*/20" }, ["2026-01-01T00:00:00+00:00", "2026-01-01T00:20:00+00:00", "2026-01-01T00:40:00+00:00", "2026-01-01T01:00:00+00:00"]],
    ["a", { hour: "7" }, ["2026-01-01T07:00:00+00:00", "2026-01-02T07:00:00+00:00"]],
    ["a-b", { hour: "22-23" }, ["2026-01-01T22:00:00+00:00", "2026-01-01T23:00:00+00:00", "2026-01-02T22:00:00+00:00"]],
    ["a-b/n", { minute: "10-50/20" }, ["2026-01-01T00:10:00+00:00", "2026-01-01T00:30:00+00:00", "2026-01-01T00:50:00+00:00", "2026-01-01T01:10:00+00:00"]],
    ["a/n", { second: "50/4" }, ["2026-01-01T00:00:50+00:00", "2026-01-01T00:00:54+00:00", "2026-01-01T00:00:58+00:00", "2026-01-01T00:01:50+00:00"]],
    ["list", { hour: "9,17, 12" }, ["2026-01-01T09:00:00+00:00", "2026-01-01T12:00:00+00:00", "2026-01-01T17:00:00+00:00", "2026-01-02T09:00:00+00:00"]],
    ["month names", { month: "feb,Apr", day: "1" }, ["2026-02-01T00:00:00+00:00", "2026-04-01T00:00:00+00:00", "2027-02-01T00:00:00+00:00"]],
    ["month name range", { month: "nov-dec", day: "1" }, ["2026-11-01T00:00:00+00:00", "2026-12-01T00:00:00+00:00", "2027-11-01T00:00:00+00:00"]],
    ["wrapping month names", { month: "dec-jan", day: "15" }, ["2026-01-15T00:00:00+00:00", "2026-12-15T00:00:00+00:00", "2027-01-15T00:00:00+00:00"]],
    // 2026-01-01 is a thursday
    ["weekday names", { dayOfWeek: "mon,wed" }, ["2026-01-05T00:00:00+00:00", "2026-01-07T00:00:00+00:00", "2026-01-12T00:00:00+00:00"]],
    ["weekday range", { dayOfWeek: "mon-fri" }, ["2026-01-01T00:00:00+00:00", "2026-01-02T00:00:00+00:00", "2026-01-05T00:00:00+00:00"]],
    ["wrapping weekday range", { dayOfWeek: "fri-mon" }, ["2026-01-02T00:00:00+00:00", "2026-01-03T00:00:00+00:00", "2026-01-04T00:00:00+00:00", "2026-01-05T00:00:00+00:00", "2026-01-09T00:00:00+00:00"]],
    ["weekday numbers (mon=0)", { dayOfWeek: "0,6" }, ["2026-01-04T00:00:00+00:00", "2026-01-05T00:00:00+00:00", "2026-01-11T00:00:00+00:00"]],
    ["weekday step", { dayOfWeek: "*/3" }, ["2026-01-01T00:00:00+00:00", "2026-01-04T00:00:00+00:00", "2026-01-05T00:00:00+00:00", "2026-01-08T00:00:00+00:00"]],
    ["last day of month", { day: "last" }, ["2026-01-31T00:00:00+00:00", "2026-02-28T00:00:00+00:00", "2026-03-31T00:00:00+00:00", "2026-04-30T00:00:00+00:00"]],
    ["1st weekday", { day: "1st mon" }, ["2026-01-05T00:00:00+00:00", "2026-02-02T00:00:00+00:00", "2026-03-02T00:00:00+00:00"]],
    ["5th weekday skips months without one", { day: "5th fri" }, ["2026-01-30T00:00:00+00:00", "2026-05-29T00:00:00+00:00", "2026-07-31T00:00:00+00:00"]],
    ["last weekday", { day: "last fri" }, ["2026-01-30T00:00:00+00:00", "2026-02-27T00:00:00+00:00", "2026-03-27T00:00:00+00:00"]],
    ["day rule combined with numbers", { day: "1,last" }, ["2026-01-01T00:00:00+00:00", "2026-01-31T00:00:00+00:00", "2026-02-01T00:00:00+00:00", "2026-02-28T00:00:00+00:00"]],
    ["day and day_of_week are ANDed", { day: "13", dayOfWeek: "fri" }, ["2026-02-13T00:00:00+00:00", "2026-03-13T00:00:00+00:00", "2026-11-13T00:00:00+00:00"]],
    ["ISO week (2026 has 53 weeks)", { week: "1", dayOfWeek: "mon" }, ["2027-01-04T00:00:00+00:00", "2028-01-03T00:00:00+00:00"]],
    ["ISO week 53", { week: "53", dayOfWeek: "thu" }, ["2026-12-31T00:00:00+00:00", "2032-12-30T00:00:00+00:00"]],
    ["year list", { year: "2027,2026" }, ["2026-01-01T00:00:00+00:00", "2027-01-01T00:00:00+00:00", null]],
    ["year step", { year: "2026/3", month: "6" }, ["2026-06-01T00:00:00+00:00", "2029-06-01T00:00:00+00:00", "2032-06-01T00:00:00+00:00"]]
  ])("%s", (_, fields, expected) => {
    expect(run(fields, "UTC", utc, expected.length)).toEqual(expected)
  })
})

describe("APScheduler's cron vectors (Europe/Berlin)", () => {
  const berlin = "Europe/Berlin"
  it("year/month steps with day range", () => {
    expect(run({ year: "2009/2", month: "1-4/3", day: "5-6" }, berlin, "2008-12-01T00:00:00+01:00", 5)).toEqual([
      "2009-01-05T00:00:00+01:00",
      "2009-01-06T00:00:00+01:00",
      "2009-04-05T00:00:00+02:00",
      "2009-04-06T00:00:00+02:00",
      "2011-01-05T00:00:00+01:00"
    ])
  })
  it("year step, month range, fixed day", () => {
    expect(run({ year: "2009/2", month: "1-3", day: "5" }, berlin, "2009-10-14T00:00:00+02:00", 4)).toEqual([
      "2011-01-05T00:00:00+01:00",
      "2011-02-05T00:00:00+01:00",
      "2011-03-05T00:00:00+01:00",
      "2013-01-05T00:00:00+01:00"
    ])
  })
  it("month name range and hour range", () => {
    expect(run({ year: "2009", month: "feb-dec", hour: "8-9" }, berlin, "2009-01-01T00:00:00+01:00", 3)).toEqual([
      "2009-02-01T08:00:00+01:00",
      "2009-02-01T09:00:00+01:00",
      "2009-02-02T08:00:00+01:00"
    ])
  })
  it("last day of a leap february", () => {
    expect(run({ year: "2012", month: "2", day: "last" }, berlin, "2012-02-01T00:00:00+01:00", 2)).toEqual([
      "2012-02-29T00:00:00+01:00",
      null
    ])
  })
  // day_of_week numbers count from monday = 0 (APScheduler 4.0's field numbering)
  it.each(["2-4", "wed-fri"])("weekday overlap %s", (dayOfWeek) => {
    expect(run({ year: "2009", month: "1", day: "6-10", dayOfWeek }, berlin, "2009-01-01T00:00:00+01:00", 1)).toEqual([
      "2009-01-07T00:00:00+01:00"
    ])
  })
  it("weekday range within ISO week 1", () => {
    expect(run({ year: "2020", month: "1", week: "1", dayOfWeek: "fri-sun" }, berlin, "2020-01-01T00:00:00+01:00", 4)).toEqual([
      "2020-01-03T00:00:00+01:00",
      "2020-01-04T00:00:00+01:00",
      "2020-01-05T00:00:00+01:00",
      null
    ])
  })
  it("last sunday", () => {
    expect(run({ year: "2020", day: "last sun" }, berlin, "2020-01-01T00:00:00+01:00", 3)).toEqual([
      "2020-01-26T00:00:00+01:00",
      "2020-02-23T00:00:00+01:00",
      "2020-03-29T00:00:00+01:00"
    ])
  })
  it("incrementing past the day's last hour", () => {
    expect(run({ hour: "5-6" }, berlin, "2009-09-25T07:00:00+02:00", 1)).toEqual(["2009-09-26T05:00:00+02:00"])
  })
  it("day 30 skips february", () => {
    expect(run({ day: "30" }, berlin, "2016-02-01T00:00:00+01:00", 2)).toEqual([
      "2016-03-30T00:00:00+02:00",
      "2016-04-30T00:00:00+02:00"
    ])
  })
  it.each(["0,6", "mon,sun"])("weekdays that never fall in the days: %s", (dayOfWeek) => {
    expect(run({ year: "2009", month: "1", day: "6-10", dayOfWeek }, berlin, "2009-01-01T00:00:00+01:00", 1)).toEqual([null])
  })
  it("4th wednesday", () => {
    expect(run({ year: "2009", month: "1", day: "4th wed" }, berlin, "2009-01-01T00:00:00+01:00", 1)).toEqual([
      "2009-01-28T00:00:00+01:00"
    ])
  })
  it("end time is inclusive", () => {
    expect(run({ hour: "4" }, berlin, "2014-04-13T02:00:00+02:00", 2, "2014-04-13T04:00:00+02:00")).toEqual([
      "2014-04-13T04:00:00+02:00",
      null
    ])
  })
  it("ISO week 8 within february", () => {
    const days = [16, 17, 18, 19, 20, 21, 22].map((d) => `2009-02-${d}T00:00:00+01:00`)
    expect(run({ year: "2009", month: "2", week: "8" }, berlin, "2009-01-01T00:00:00+01:00", 8)).toEqual([...days, null])
  })
  it.each(["2", "wed"])("ISO week 15 on weekday %s", (dayOfWeek) => {
    expect(run({ year: "2009", week: "15", dayOfWeek }, berlin, "2009-01-01T00:00:00+01:00", 2)).toEqual([
      "2009-04-08T00:00:00+02:00",
      null
    ])
  })
  it("start time in another zone is the same instant", () => {
    // 10:16 Chicago = 11:16 New York
    expect(run({ hour: "11", minute: "*/5" }, "America/New_York", "2009-09-26T10:16:00-05:00", 1)).toEqual([
      "2009-09-26T11:20:00-04:00"
    ])
  })
  it("a start time with milliseconds rounds up to the next whole second", () => {
    expect(run({ second: "*" }, "UTC", "2026-01-01T00:00:00.250Z", 1)).toEqual(["2026-01-01T00:00:01+00:00"])
  })
})

describe("leap years and month ends", () => {
  it("february 29 fires only in leap years", () => {
    expect(run({ month: "2", day: "29" }, "Europe/Berlin", "2023-01-01T00:00:00+01:00", 3)).toEqual([
      "2024-02-29T00:00:00+01:00",
      "2028-02-29T00:00:00+01:00",
      "2032-02-29T00:00:00+01:00"
    ])
  })
  it("2100 is not a leap year", () => {
    expect(run({ month: "2", day: "29" }, "UTC", "2097-01-01T00:00:00Z", 2)).toEqual([
      "2104-02-29T00:00:00+00:00",
      "2108-02-29T00:00:00+00:00"
    ])
  })
  it("day 31 skips the short months", () => {
    expect(run({ day: "31", hour: "12" }, "UTC", "2026-01-31T13:00:00Z", 3)).toEqual([
      "2026-03-31T12:00:00+00:00",
      "2026-05-31T12:00:00+00:00",
      "2026-07-31T12:00:00+00:00"
    ])
  })
  it("last day of february in leap and common years", () => {
    expect(run({ month: "2", day: "last" }, "UTC", "2027-01-01T00:00:00Z", 2)).toEqual([
      "2027-02-28T00:00:00+00:00",
      "2028-02-29T00:00:00+00:00"
    ])
  })
  it("an impossible date has no fire time", () => {
    expect(run({ month: "2", day: "30" }, "UTC", "2026-01-01T00:00:00Z", 1)).toEqual([null])
  })
})

describe("daylight saving time", () => {
  // APScheduler's test_dst_change (US/Eastern)
  it.each<[string, Fields, string, string]>([
    ["spring: hour 2 has no run on the switch day", { hour: "2" }, "2013-03-09T20:00:00-05:00", "2013-03-11T02:00:00-04:00"],
    ["spring: absolute hour after the gap", { hour: "8" }, "2013-03-09T12:00:00-05:00", "2013-03-10T08:00:00-04:00"],
    ["autumn: absolute hour after the fold", { hour: "8" }, "2013-11-02T12:00:00-04:00", "2013-11-03T08:00:00-05:00"],
    ["spring: */30 jumps over the gap", { minute: "*/30" }, "2013-03-10T01:35:00-05:00", "2013-03-10T03:00:00-04:00"],
    ["autumn: */30 enters the repeated hour", { minute: "*/30" }, "2013-11-03T01:35:00-04:00", "2013-11-03T01:00:00-05:00"]
  ])("US/Eastern %s", (_, fields, start, expected) => {
    expect(run(fields, "US/Eastern", start, 1)).toEqual([expected])
  })

  // APScheduler's test_dst_change2 (Europe/Berlin): the hour is `*`, so both passes fire
  it.each(["0", "1"])("Europe/Berlin minute=%s fires in both occurrences of 02:xx", (minute) => {
    expect(run({ minute }, "Europe/Berlin", `2024-10-27T02:0${minute}:00+02:00`, 3)).toEqual([
      `2024-10-27T02:0${minute}:00+02:00`,
      `2024-10-27T02:0${minute}:00+01:00`,
      `2024-10-27T03:0${minute}:00+01:00`
    ])
  })

  it("Europe/Stockholm daily 02:30 has no run on the spring-forward day", () => {
    expect(run({ hour: "2", minute: "30" }, "Europe/Stockholm", "2026-03-28T12:00:00+01:00", 3)).toEqual([
      "2026-03-30T02:30:00+02:00",
      "2026-03-31T02:30:00+02:00",
      "2026-04-01T02:30:00+02:00"
    ])
  })
  it("Europe/Stockholm daily 02:30 fires once on the fall-back day, at the first occurrence", () => {
    expect(run({ hour: "2", minute: "30" }, "Europe/Stockholm", "2026-10-24T12:00:00+02:00", 3)).toEqual([
      "2026-10-25T02:30:00+02:00",
      "2026-10-26T02:30:00+01:00",
      "2026-10-27T02:30:00+01:00"
    ])
  })
  it("US/Eastern daily 01:30 fires once on the fall-back day", () => {
    expect(run({ hour: "1", minute: "30" }, "US/Eastern", "2013-11-02T12:00:00-04:00", 2)).toEqual([
      "2013-11-03T01:30:00-04:00",
      "2013-11-04T01:30:00-05:00"
    ])
  })
  it("a fixed hour with every minute stays in the first pass of the repeated hour", () => {
    const times = run({ hour: "2", minute: "*/20" }, "Europe/Berlin", "2024-10-27T00:00:00+02:00", 4)
    expect(times).toEqual([
      "2024-10-27T02:00:00+02:00",
      "2024-10-27T02:20:00+02:00",
      "2024-10-27T02:40:00+02:00",
      "2024-10-28T02:00:00+01:00"
    ])
  })
  it("a range covering the repeated hour fires in both passes", () => {
    expect(run({ hour: "1-3", minute: "30" }, "Europe/Berlin", "2024-10-27T00:00:00+02:00", 5)).toEqual([
      "2024-10-27T01:30:00+02:00",
      "2024-10-27T02:30:00+02:00",
      "2024-10-27T02:30:00+01:00",
      "2024-10-27T03:30:00+01:00",
      "2024-10-28T01:30:00+01:00"
    ])
  })
  it("an hour step fires in both passes", () => {
    expect(run({ hour: "*/2", minute: "15" }, "US/Eastern", "2013-11-03T00:00:00-04:00", 3)).toEqual([
      "2013-11-03T00:15:00-04:00",
      "2013-11-03T02:15:00-05:00",
      "2013-11-03T04:15:00-05:00"
    ])
  })
  it("every hour in US/Eastern across the fall-back", () => {
    expect(run({ minute: "0" }, "US/Eastern", "2013-11-03T00:00:00-04:00", 4)).toEqual([
      "2013-11-03T00:00:00-04:00",
      "2013-11-03T01:00:00-04:00",
      "2013-11-03T01:00:00-05:00",
      "2013-11-03T02:00:00-05:00"
    ])
  })
  it("every hour in Europe/Berlin across the spring-forward", () => {
    expect(run({ minute: "0" }, "Europe/Berlin", "2024-03-31T00:30:00+01:00", 3)).toEqual([
      "2024-03-31T01:00:00+01:00",
      "2024-03-31T03:00:00+02:00",
      "2024-03-31T04:00:00+02:00"
    ])
  })
  it("a gap that swallows only part of the hour keeps the later times (Australia/Lord_Howe)", () => {
    expect(run({ hour: "2", minute: "30", second: "0" }, "Australia/Lord_Howe", "2024-10-05T00:00:00+10:30", 3)).toEqual([
      "2024-10-05T02:30:00+10:30",
      "2024-10-06T02:30:00+11:00",
      "2024-10-07T02:30:00+11:00"
    ])
  })
  it("a two-hour gap (Antarctica/Troll)", () => {
    expect(run({ hour: "1-3", minute: "0", second: "59" }, "Antarctica/Troll", "2024-03-30T03:00:00+00:00", 3)).toEqual([
      "2024-03-30T03:00:59+00:00",
      "2024-03-31T03:00:59+02:00",
      "2024-04-01T01:00:59+02:00"
    ])
  })
  it("a day removed from the calendar is skipped (Pacific/Apia, 2011-12-30)", () => {
    expect(run({ hour: "12" }, "Pacific/Apia", "2011-12-28T00:00:00-10:00", 3)).toEqual([
      "2011-12-28T12:00:00-10:00",
      "2011-12-29T12:00:00-10:00",
      "2011-12-31T12:00:00+14:00"
    ])
  })
  it("a gap at midnight skips a 00:30 job that day (America/Havana)", () => {
    expect(run({ hour: "0", minute: "30" }, "America/Havana", "2024-03-09T12:00:00-05:00", 1)).toEqual([
      "2024-03-11T00:30:00-04:00"
    ])
  })
  it("a half-hour fold (Australia/Lord_Howe): hourly fires twice, pinned once", () => {
    expect(run({ minute: "45" }, "Australia/Lord_Howe", "2024-04-07T01:00:00+11:00", 3)).toEqual([
      "2024-04-07T01:45:00+11:00",
      "2024-04-07T01:45:00+10:30",
      "2024-04-07T02:45:00+10:30"
    ])
    expect(run({ hour: "1", minute: "45" }, "Australia/Lord_Howe", "2024-04-06T12:00:00+11:00", 2)).toEqual([
      "2024-04-07T01:45:00+11:00",
      "2024-04-08T01:45:00+10:30"
    ])
  })
  it("a list of fixed hours is pinned too", () => {
    expect(run({ hour: "2,14", minute: "30" }, "Europe/Berlin", "2024-10-27T00:00:00+02:00", 2)).toEqual([
      "2024-10-27T02:30:00+02:00",
      "2024-10-27T14:30:00+01:00"
    ])
  })
  it("a start time inside the second pass continues from there", () => {
    expect(run({ minute: "*/30" }, "Europe/Berlin", "2024-10-27T02:10:00+01:00", 3)).toEqual([
      "2024-10-27T02:30:00+01:00",
      "2024-10-27T03:00:00+01:00",
      "2024-10-27T03:30:00+01:00"
    ])
  })
})

describe("default field rule", () => {
  it("fields more significant than the least significant given one are *, the rest their minimum", () => {
    expect(effectiveFields({ hour: "2" })).toEqual({
      year: "*",
      month: "*",
      day: "*",
      week: "*",
      day_of_week: "*",
      hour: "2",
      minute: "0",
      second: "0"
    })
    expect(effectiveFields({ day_of_week: "mon-fri" })).toMatchObject({ day: "*", hour: "0", minute: "0", second: "0" })
    expect(effectiveFields({ year: "2030" })).toMatchObject({ month: "1", day: "1", hour: "0" })
  })
  it("a far year is found quickly", () => {
    const started = performance.now()
    expect(run({ year: "9000" }, "Europe/Berlin", "2026-01-01T00:00:00+01:00", 2)).toEqual(["9000-01-01T00:00:00+01:00", null])
    expect(performance.now() - started).toBeLessThan(2000)
  })
})

describe("field validation messages name the field and the problem", () => {
  it.each<[Partial<Record<string, string>>, string]>([
    [{ minute: "*/0" }, "minute: step must be positive"],
    [{ hour: "1-5/0" }, "hour: step must be positive"],
    [{ day_of_week: "web" }, "day_of_week: invalid weekday name 'web'"],
    [{ day_of_week: "mon-web" }, "day_of_week: invalid weekday name 'web'"],
    [{ day: "1st web" }, "day: invalid weekday name 'web'"],
    [{ month: "fab" }, "month: invalid month name 'fab'"],
    [{ month: "jan-fab" }, "month: invalid month name 'fab'"],
    [{ year: "2009-fault" }, "year: unrecognized expression '2009-fault'"],
    [{ year: "2009-2008" }, "year: range start 2009 is after its end 2008 in '2009-2008'"],
    [{ hour: "0-24" }, "hour: value 24 in '0-24' is out of range 0-23"],
    [{ day: "0-3" }, "day: value 0 in '0-3' is out of range 1-31"],
    [{ day_of_week: "8" }, "day_of_week: value 8 in '8' is out of range 0-6"],
    [{ day: "*/31" }, "day: step 31 in '*/31' is larger than the range it steps through (30)"],
    [{ day: "4-6/3" }, "day: step 3 in '4-6/3' is larger than the range it steps through (2)"],
    [{ minute: "" }, "minute: empty expression"],
    [{ minute: "1,,2" }, "minute: empty term in '1,,2'"],
    [{ second: "1.5" }, "second: unrecognized expression '1.5'"],
    [{ day_of_week: "fri-mon/2" }, "day_of_week: a wrap-around range cannot have a step ('fri-mon/2')"]
  ])("%o -> %s", (fields, message) => {
    const result = compileCron(fields)
    expect(Either.isLeft(result) && result.left.message).toBe(message)
  })
})
