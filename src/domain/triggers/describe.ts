/** A trigger in words, for the portal: short, and never claiming more than the trigger does. */
import { formatTimeOfDay } from "./calendar.js"
import { effectiveFields } from "./cron/compile.js"
import { cronFieldValues } from "./cron/cronTrigger.js"
import type { FieldName } from "./cron/field.js"
import { formatInZone } from "./format.js"
import type { CalendarIntervalTrigger, CronTrigger, IntervalTrigger, Trigger } from "./schema.js"

const plural = (count: number, unit: string) => `${count} ${unit}${count === 1 ? "" : "s"}`

const spans = (parts: ReadonlyArray<readonly [number, string]>): string =>
  parts
    .filter(([count]) => count > 0)
    .map(([count, unit]) => plural(count, unit))
    .join(" ")

const describeInterval = (t: IntervalTrigger): string => {
  const every = spans([
    [t.weeks, "week"],
    [t.days, "day"],
    [t.hours, "hour"],
    [t.minutes, "minute"],
    [t.seconds, "second"],
    [t.milliseconds, "millisecond"]
  ])
  const from = ` from ${formatInZone(t.startTime, "UTC")}`
  const until = t.endTime === null ? "" : ` until ${formatInZone(t.endTime, "UTC")}`
  return `every ${every}${from}${until}`
}

const isNumber = (text: string) => /^\d+$/.test(text)

const describeCron = (t: CronTrigger): string => {
  const f = effectiveFields(cronFieldValues(t))
  const parts: Array<string> = []
  if (isNumber(f.hour) && isNumber(f.minute) && isNumber(f.second)) {
    parts.push(`at ${formatTimeOfDay(Number(f.hour), Number(f.minute), Number(f.second))}`)
  } else {
    const time = (["hour", "minute", "second"] as const).map((name) => `${name} ${f[name]}`).join(", ")
    parts.push(`at ${time}`)
  }
  const dateParts: ReadonlyArray<readonly [FieldName, string]> = [
    ["day_of_week", "on "],
    ["day", "on day "],
    ["week", "in ISO week "],
    ["month", "in month "],
    ["year", "in year "]
  ]
  for (const [name, prefix] of dateParts) if (f[name] !== "*") parts.push(`${prefix}${f[name]}`)
  const until = t.endTime === null ? "" : ` until ${formatInZone(t.endTime, t.timezone)}`
  return `cron: ${parts.join(" ")} (${t.timezone})${until}`
}

const describeCalendar = (t: CalendarIntervalTrigger): string => {
  const every = spans([
    [t.years, "year"],
    [t.months, "month"],
    [t.weeks, "week"],
    [t.days, "day"]
  ])
  const until = t.endDate === null ? "" : ` until ${t.endDate}`
  return `every ${every} at ${formatTimeOfDay(t.hour, t.minute, t.second)} from ${t.startDate}${until} (${t.timezone})`
}

export const describeTrigger = (trigger: Trigger): string => {
  switch (trigger._tag) {
    case "DateTrigger":
      return `once at ${formatInZone(trigger.runTime, "UTC")}`
    case "IntervalTrigger":
      return describeInterval(trigger)
    case "CronTrigger":
      return describeCron(trigger)
    case "CalendarIntervalTrigger":
      return describeCalendar(trigger)
    case "AndTrigger":
      return `all of [${trigger.triggers.map(describeTrigger).join("; ")}] within ${plural(trigger.threshold, "second")}`
    case "OrTrigger":
      return `any of [${trigger.triggers.map(describeTrigger).join("; ")}]`
  }
}
