/**
 * A stored trigger back as the specification users write, so the dashboard's
 * edit form starts from what the schedule does. Start times are kept, so an
 * unchanged interval keeps its phase when the edit is saved.
 */
import type { TriggerSpec } from "../../domain/triggers/Trigger.js"
import type { Trigger } from "../../domain/triggers/schema.js"
import { isoTime } from "./time.js"

const cronKeys = [
  ["year", "year"],
  ["month", "month"],
  ["day", "day"],
  ["week", "week"],
  ["dayOfWeek", "day_of_week"],
  ["hour", "hour"],
  ["minute", "minute"],
  ["second", "second"]
] as const

/** Only the non-zero parts of a span, so the spec reads like one a person wrote. */
const nonZero = <K extends string>(parts: Readonly<Record<K, number>>): Partial<Record<K, number>> =>
  Object.fromEntries(Object.entries(parts).filter(([, value]) => value !== 0)) as Partial<Record<K, number>>

export const specOf = (trigger: Trigger): TriggerSpec => {
  switch (trigger._tag) {
    case "DateTrigger":
      return { type: "date", run_time: isoTime(trigger.runTime) }
    case "IntervalTrigger":
      return {
        type: "interval",
        ...nonZero({
          weeks: trigger.weeks,
          days: trigger.days,
          hours: trigger.hours,
          minutes: trigger.minutes,
          seconds: trigger.seconds,
          milliseconds: trigger.milliseconds
        }),
        start_time: isoTime(trigger.startTime),
        ...(trigger.endTime !== null && { end_time: isoTime(trigger.endTime) })
      }
    case "CronTrigger": {
      const fields: Record<string, string> = {}
      for (const [from, to] of cronKeys) {
        const value = trigger[from]
        if (value !== null) fields[to] = value
      }
      return {
        type: "cron",
        ...fields,
        timezone: trigger.timezone,
        start_time: isoTime(trigger.startTime, trigger.timezone),
        ...(trigger.endTime !== null && { end_time: isoTime(trigger.endTime, trigger.timezone) })
      }
    }
    case "CalendarIntervalTrigger":
      return {
        type: "calendarinterval",
        ...nonZero({ years: trigger.years, months: trigger.months, weeks: trigger.weeks, days: trigger.days }),
        hour: trigger.hour,
        minute: trigger.minute,
        second: trigger.second,
        start_date: trigger.startDate,
        ...(trigger.endDate !== null && { end_date: trigger.endDate }),
        timezone: trigger.timezone
      }
    case "AndTrigger":
      return {
        type: "and",
        threshold: trigger.threshold,
        max_iterations: trigger.maxIterations,
        triggers: trigger.triggers.map(specOf)
      }
    case "OrTrigger":
      return { type: "or", triggers: trigger.triggers.map(specOf) }
  }
}

/** The zone fire times of this trigger are shown in: its own, or UTC for absolute-time triggers. */
export const zoneOf = (trigger: Trigger): string => {
  switch (trigger._tag) {
    case "CronTrigger":
    case "CalendarIntervalTrigger":
      return trigger.timezone
    case "AndTrigger":
    case "OrTrigger": {
      const first = trigger.triggers[0]
      return first === undefined ? "UTC" : zoneOf(first)
    }
    default:
      return "UTC"
  }
}
