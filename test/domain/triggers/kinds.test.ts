import { describe, expect, it } from "@effect/vitest"
import { Either, Schema } from "effect"
import {
  AndTrigger,
  CalendarIntervalTrigger,
  CronTrigger,
  DateTrigger,
  IntervalTrigger,
  OrTrigger,
  Trigger
} from "../../../src/domain/triggers/schema.js"
import { next } from "../../../src/domain/triggers/Trigger.js"
import { fireTimes } from "./fireTimes.js"

const at = (iso: string) => new Date(iso)

describe("date trigger", () => {
  it("fires once at its run time", () => {
    expect(fireTimes(DateTrigger.make({ runTime: at("2026-05-01T10:00:00Z") }), 3)).toEqual(["2026-05-01T10:00:00+00:00", null])
  })
})

describe("interval trigger", () => {
  it("fires first at the start time, then every interval, end time inclusive", () => {
    const trigger = IntervalTrigger.make({
      minutes: 30,
      startTime: at("2026-01-01T00:00:00Z"),
      endTime: at("2026-01-01T01:00:00Z")
    })
    expect(fireTimes(trigger, 5)).toEqual([
      "2026-01-01T00:00:00+00:00",
      "2026-01-01T00:30:00+00:00",
      "2026-01-01T01:00:00+00:00",
      null
    ])
  })
  it("adds absolute time across a DST change (Europe/Berlin spring and autumn)", () => {
    const spring = IntervalTrigger.make({ hours: 1, startTime: at("2026-03-29T01:30:00+01:00") })
    expect(fireTimes(spring, 2, "Europe/Berlin")).toEqual(["2026-03-29T01:30:00+01:00", "2026-03-29T03:30:00+02:00"])
    const autumn = IntervalTrigger.make({ days: 1, startTime: at("2026-10-24T12:00:00+02:00") })
    expect(fireTimes(autumn, 2, "Europe/Berlin")).toEqual(["2026-10-24T12:00:00+02:00", "2026-10-25T11:00:00+01:00"])
  })
  it("adds absolute time in US/Eastern too", () => {
    const trigger = IntervalTrigger.make({ minutes: 30, startTime: at("2013-11-03T01:00:00-04:00") })
    expect(fireTimes(trigger, 4, "US/Eastern")).toEqual([
      "2013-11-03T01:00:00-04:00",
      "2013-11-03T01:30:00-04:00",
      "2013-11-03T01:00:00-05:00",
      "2013-11-03T01:30:00-05:00"
    ])
  })
  it("combines every unit", () => {
    const trigger = IntervalTrigger.make({
      weeks: 1,
      days: 1,
      hours: 1,
      minutes: 1,
      seconds: 1,
      milliseconds: 1,
      startTime: at("2026-01-01T00:00:00Z")
    })
    expect(fireTimes(trigger, 2)).toEqual(["2026-01-01T00:00:00+00:00", "2026-01-09T01:01:01.001+00:00"])
  })
})

describe("calendar-interval trigger (APScheduler's cases, Europe/Berlin)", () => {
  const berlin = "Europe/Berlin"
  it("end date is inclusive", () => {
    const trigger = CalendarIntervalTrigger.make({ days: 1, startDate: "2020-12-31", endDate: "2020-12-31", timezone: berlin })
    expect(fireTimes(trigger, 2, berlin)).toEqual(["2020-12-31T00:00:00+01:00", null])
  })
  it("a time of day inside the spring-forward gap skips that day", () => {
    const trigger = CalendarIntervalTrigger.make({ days: 1, hour: 2, minute: 30, startDate: "2016-03-27", timezone: berlin })
    expect(fireTimes(trigger, 2, berlin)).toEqual(["2016-03-28T02:30:00+02:00", "2016-03-29T02:30:00+02:00"])
  })
  it("a repeated time of day fires at its first occurrence", () => {
    const trigger = CalendarIntervalTrigger.make({ days: 2, hour: 2, minute: 30, startDate: "2016-10-30", timezone: berlin })
    expect(fireTimes(trigger, 2, berlin)).toEqual(["2016-10-30T02:30:00+02:00", "2016-11-01T02:30:00+01:00"])
  })
  it("days that do not exist in a month are skipped", () => {
    const trigger = CalendarIntervalTrigger.make({ months: 1, startDate: "2016-03-31", timezone: berlin })
    expect(fireTimes(trigger, 3, berlin)).toEqual([
      "2016-03-31T00:00:00+02:00",
      "2016-05-31T00:00:00+02:00",
      "2016-07-31T00:00:00+02:00"
    ])
  })
  it("Jan 31 + 1 month moves on to Mar 31", () => {
    const trigger = CalendarIntervalTrigger.make({ months: 1, hour: 2, minute: 30, startDate: "2026-01-31", timezone: "UTC" })
    expect(fireTimes(trigger, 3)).toEqual(["2026-01-31T02:30:00+00:00", "2026-03-31T02:30:00+00:00", "2026-05-31T02:30:00+00:00"])
  })
  it("Feb 29 yearly fires only in leap years", () => {
    const trigger = CalendarIntervalTrigger.make({ years: 1, startDate: "2024-02-29", timezone: "UTC" })
    expect(fireTimes(trigger, 3)).toEqual(["2024-02-29T00:00:00+00:00", "2028-02-29T00:00:00+00:00", "2032-02-29T00:00:00+00:00"])
  })
  it("keeps the wall-clock time across DST (US/Eastern, weekly)", () => {
    const trigger = CalendarIntervalTrigger.make({ weeks: 1, hour: 9, startDate: "2013-03-03", timezone: "US/Eastern" })
    expect(fireTimes(trigger, 2, "US/Eastern")).toEqual(["2013-03-03T09:00:00-05:00", "2013-03-10T09:00:00-04:00"])
  })
  it("a monthly job at 02:30 skips a missing date and a date whose time falls in the gap", () => {
    // 2026-02-29 does not exist; 2026-03-29 02:30 is inside Stockholm's spring-forward gap
    const trigger = CalendarIntervalTrigger.make({ months: 1, hour: 2, minute: 30, startDate: "2026-01-29", timezone: "Europe/Stockholm" })
    expect(fireTimes(trigger, 3, "Europe/Stockholm")).toEqual([
      "2026-01-29T02:30:00+01:00",
      "2026-04-29T02:30:00+02:00",
      "2026-05-29T02:30:00+02:00"
    ])
  })
})

describe("and trigger (APScheduler 4)", () => {
  it.each([1, 0])("two date triggers one second apart, threshold %d", (threshold) => {
    const trigger = AndTrigger.make({
      threshold,
      triggers: [
        DateTrigger.make({ runTime: at("2020-05-16T14:17:30.254Z") }),
        DateTrigger.make({ runTime: at("2020-05-16T14:17:31.254Z") })
      ]
    })
    expect(fireTimes(trigger, 2)).toEqual(threshold === 1 ? ["2020-05-16T14:17:30.254+00:00", null] : [null])
  })
  it("gives up with MaxIterationsReached when the children never agree", () => {
    const start = at("2020-05-16T14:17:30Z")
    const trigger = AndTrigger.make({
      maxIterations: 50,
      triggers: [
        IntervalTrigger.make({ seconds: 4, startTime: start }),
        IntervalTrigger.make({ seconds: 4, startTime: new Date(start.getTime() + 2000) })
      ]
    })
    const result = next(trigger)
    expect(Either.isLeft(result) && result.left._tag).toBe("MaxIterationsReached")
    expect(Either.isLeft(result) && result.left.message).toBe("and-trigger found no common fire time within 50 iterations")
  })
  it("fires when a cron and an interval agree", () => {
    const trigger = AndTrigger.make({
      triggers: [
        CronTrigger.make({ dayOfWeek: "mon", startTime: at("2026-01-01T00:00:00Z"), timezone: "UTC" }),
        IntervalTrigger.make({ days: 3, startTime: at("2026-01-01T00:00:00Z") })
      ]
    })
    // thursdays+3d: jan 1, 4, 7, 10, 13, 16, 19, 22, 25, 28, 31... mondays: jan 5, 12, 19
    expect(fireTimes(trigger, 2)).toEqual(["2026-01-19T00:00:00+00:00", "2026-02-09T00:00:00+00:00"])
  })
})

describe("or trigger (APScheduler 4)", () => {
  it("merges two interval triggers, equal fire times once, until both end", () => {
    const start = at("2020-05-16T14:17:30Z")
    const plus = (s: number) => new Date(start.getTime() + s * 1000)
    const trigger = OrTrigger.make({
      triggers: [
        IntervalTrigger.make({ seconds: 4, startTime: start, endTime: plus(16) }),
        IntervalTrigger.make({ seconds: 6, startTime: start, endTime: plus(18) })
      ]
    })
    expect(fireTimes(trigger, 9)).toEqual([
      "2020-05-16T14:17:30+00:00",
      "2020-05-16T14:17:34+00:00",
      "2020-05-16T14:17:36+00:00",
      "2020-05-16T14:17:38+00:00",
      "2020-05-16T14:17:42+00:00",
      "2020-05-16T14:17:46+00:00",
      "2020-05-16T14:17:48+00:00",
      null
    ])
  })
  it("two date triggers in order", () => {
    const trigger = OrTrigger.make({
      triggers: [DateTrigger.make({ runTime: at("2020-05-18T15:01:53Z") }), DateTrigger.make({ runTime: at("2020-05-16T14:17:30Z") })]
    })
    expect(fireTimes(trigger, 3)).toEqual(["2020-05-16T14:17:30+00:00", "2020-05-18T15:01:53+00:00", null])
  })
})

describe("JSON round-trip mid-iteration continues the same sequence", () => {
  const encode = Schema.encodeSync(Schema.parseJson(Trigger))
  const decode = Schema.decodeSync(Schema.parseJson(Trigger))
  const start = at("2026-03-27T12:00:00+01:00")
  const cases: ReadonlyArray<readonly [string, Trigger]> = [
    ["date", DateTrigger.make({ runTime: start })],
    ["interval", IntervalTrigger.make({ hours: 7, startTime: start })],
    ["cron", CronTrigger.make({ hour: "*/5", minute: "30", startTime: start, timezone: "Europe/Stockholm" })],
    ["calendarinterval", CalendarIntervalTrigger.make({ months: 1, hour: 2, minute: 30, startDate: "2026-01-31", timezone: "Europe/Stockholm" })],
    [
      "and",
      AndTrigger.make({
        triggers: [
          CronTrigger.make({ minute: "*/10", startTime: start, timezone: "UTC" }),
          IntervalTrigger.make({ minutes: 15, startTime: start })
        ]
      })
    ],
    [
      "or",
      OrTrigger.make({
        triggers: [
          CronTrigger.make({ hour: "2", minute: "30", startTime: start, timezone: "Europe/Stockholm" }),
          IntervalTrigger.make({ hours: 20, startTime: start })
        ]
      })
    ]
  ]
  it.each(cases)("%s", (_, trigger) => {
    const straight = fireTimes(trigger, 6)
    let current = trigger
    const resumed: Array<string | null> = []
    for (let i = 0; i < 2; i++) {
      const step = Either.getOrThrow(next(current))
      resumed.push(step.fireTime === null ? null : step.fireTime.toISOString().replace(".000Z", "+00:00"))
      current = step.trigger
    }
    const json = encode(current)
    expect(JSON.parse(json).version).toBe(1)
    if (resumed[1] !== null) resumed.push(...fireTimes(decode(json), 4))
    else expect(fireTimes(decode(json), 1)).toEqual([null])
    expect(resumed).toEqual(straight)
  })
  it("rejects stored triggers with invalid fields or zones", () => {
    const json = encode(CronTrigger.make({ minute: "5", startTime: start, timezone: "UTC" }))
    expect(() => decode(json.replace('"minute":"5"', '"minute":"*/0"'))).toThrow("minute: step must be positive")
    expect(() => decode(json.replace('"timezone":"UTC"', '"timezone":"Mars/Base"'))).toThrow("timezone: unknown time zone 'Mars/Base'")
    const interval = encode(IntervalTrigger.make({ minutes: 5, startTime: start }))
    expect(() => decode(interval.replace('"minutes":5', '"minutes":0'))).toThrow("interval: must be at least 1 millisecond")
    const calendar = encode(CalendarIntervalTrigger.make({ days: 1, startDate: "2026-01-01", timezone: "UTC" }))
    expect(() => decode(calendar.replace('"days":1', '"days":0'))).toThrow("interval: must be at least 1 day long")
    expect(() => decode(calendar.replace('"startDate":"2026-01-01"', '"startDate":"2026-02-30"'))).toThrow(
      "'2026-02-30' is not a valid YYYY-MM-DD date"
    )
  })
})
