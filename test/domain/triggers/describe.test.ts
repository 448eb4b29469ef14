/** Cron triggers in words: simple wording where the fields allow it, the field list otherwise. */
import { describe, expect, it } from "@effect/vitest"
import { Either } from "effect"
import { describeTrigger, fromSpec, parseSpecJson } from "../../../src/domain/triggers/Trigger.js"

const describeSpec = (json: unknown): string =>
  describeTrigger(
    Either.getOrThrow(
      Either.flatMap(parseSpecJson(JSON.stringify(json)), (spec) => fromSpec(spec, new Date("2026-03-28T11:00:00Z")))
    )
  )

describe("describeTrigger for cron", () => {
  it.each<[unknown, string]>([
    [{ type: "cron", hour: 9, minute: 30, day_of_week: "mon-fri", timezone: "Europe/Berlin" }, "cron: every weekday at 09:30 (Europe/Berlin)"],
    [{ type: "cron", hour: 3, minute: 4 }, "cron: every day at 03:04 (UTC)"],
    [{ type: "cron", hour: "9,17" }, "cron: every day at 09:00 and 17:00 (UTC)"],
    [{ type: "cron", hour: 8, minute: 0, second: 15, day_of_week: "mon" }, "cron: every Monday at 08:00:15 (UTC)"],
    [{ type: "cron", hour: 22, day_of_week: "mon,wed,fri" }, "cron: on Monday, Wednesday and Friday at 22:00 (UTC)"],
    [{ type: "cron", hour: 10, day_of_week: "sat,sun" }, "cron: on weekends at 10:00 (UTC)"],
    [{ type: "cron", expr: "*/5 * * * *" }, "cron: every 5 minutes (UTC)"],
    [{ type: "cron", expr: "* * * * *" }, "cron: every minute (UTC)"],
    [{ type: "cron", expr: "*/10 * * * * *" }, "cron: every 10 seconds (UTC)"],
    [{ type: "cron", expr: "15 * * * *" }, "cron: every hour at minute 15 (UTC)"],
    [{ type: "cron", expr: "0 */2 * * *" }, "cron: every 2 hours (UTC)"],
    [{ type: "cron", expr: "*/15 * * * mon-fri" }, "cron: every 15 minutes on weekdays (UTC)"],
    [{ type: "cron", expr: "0 * * * sun" }, "cron: every hour on Sundays (UTC)"],
    [{ type: "cron", expr: "30 6 1 * *" }, "cron: on day 1 of every month at 06:30 (UTC)"],
    [{ type: "cron", expr: "0 0 1 jan *" }, "cron: every year on January 1 at 00:00 (UTC)"],
    // No simple wording: the fields one by one.
    [{ type: "cron", minute: "*/5", hour: "9-17" }, "cron: at hour 9-17, minute */5, second 0 (UTC)"],
    [{ type: "cron", hour: 3, day: "last" }, "cron: at 03:00 on day last (UTC)"],
    [{ type: "cron", hour: 3, day_of_week: "mon-wed" }, "cron: at 03:00 on mon-wed (UTC)"]
  ])("%j", (json, text) => {
    expect(describeSpec(json)).toBe(text)
  })
})
