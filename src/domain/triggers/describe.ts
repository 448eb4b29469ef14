/** A trigger in words, for the portal: short, and never claiming more than the trigger does. */
import { formatTimeOfDay } from "./calendar.js"
import { effectiveFields } from "./cron/compile.js"
import { cronFieldValues } from "./cron/cronTrigger.js"
import { type FieldName, MONTHS, WEEKDAYS } from "./cron/field.js"
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

const dayNames = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
const monthNames = [
  "January",
  "February",
  "March",
  "April",
  "May",
  "June",
  "July",
  "August",
  "September",
  "October",
  "November",
  "December"
]

/** "a", "a and b", "a, b and c". */
const listed = (items: ReadonlyArray<string>): string =>
  items.length <= 1 ? (items[0] ?? "") : `${items.slice(0, -1).join(", ")} and ${items.at(-1)}`

/** Weekdays given as names or numbers (mon = 0), one or a list, as day names; undefined for anything else (ranges…). */
const weekdayNames = (field: string): ReadonlyArray<string> | undefined => {
  const names = field.split(",").map((token) => {
    const index = isNumber(token) ? Number(token) : WEEKDAYS.indexOf(token as (typeof WEEKDAYS)[number])
    return dayNames[index]
  })
  return names.every((name) => name !== undefined) ? (names as ReadonlyArray<string>) : undefined
}

/** A month given as one name or number, in words. */
const monthName = (field: string): string | undefined =>
  monthNames[isNumber(field) ? Number(field) - 1 : MONTHS.indexOf(field as (typeof MONTHS)[number])]

/** The weekdays in words, to lead a fixed time ("every weekday" at 09:30) and to follow a repeat (every 5 minutes "on weekdays"). */
const weekdaysInWords = (dow: string): { readonly lead: string; readonly after: string } | undefined => {
  if (dow === "*") return { lead: "every day", after: "" }
  if (dow === "mon-fri") return { lead: "every weekday", after: " on weekdays" }
  if (dow === "sat,sun" || dow === "sat-sun") return { lead: "on weekends", after: " on weekends" }
  const names = weekdayNames(dow)
  if (names === undefined) return undefined
  return names.length === 1
    ? { lead: `every ${names[0]}`, after: ` on ${names[0]}s` }
    : { lead: `on ${listed(names)}`, after: ` on ${listed(names)}` }
}

type Fields = Readonly<Record<FieldName, string>>

/** Only the weekday field restricts the days (not the day of month, month, ISO week or year). */
const weekdaysOnly = (f: Fields) => f.day === "*" && f.month === "*" && f.week === "*" && f.year === "*"

/** Which days, in words ("every day", "every weekday", "on day 1 of every month"); undefined when that is not simple. */
const describeDays = (f: Fields): string | undefined => {
  if (weekdaysOnly(f)) return weekdaysInWords(f.day_of_week)?.lead
  if (f.year !== "*" || f.week !== "*" || f.day_of_week !== "*" || !isNumber(f.day)) return undefined
  if (f.month === "*") return `on day ${f.day} of every month`
  const month = monthName(f.month)
  return month === undefined ? undefined : `every year on ${month} ${f.day}`
}

/** Fixed times of day ("09:30", "09:00 and 17:00"); undefined unless hour (one or a list), minute and second are numbers. */
const describeTimes = (f: Fields): string | undefined => {
  const hours = f.hour.split(",")
  if (!hours.every(isNumber) || !isNumber(f.minute) || !isNumber(f.second)) return undefined
  return listed(hours.map((hour) => formatTimeOfDay(Number(hour), Number(f.minute), Number(f.second))))
}

/** A steady repeat ("every 5 minutes", "every hour at minute 15"); undefined when the fields are not one. */
const describeRepeat = (f: Fields): string | undefined => {
  const step = (field: string) => /^\*\/(\d+)$/.exec(field)?.[1]
  const repeats = (field: string) => field === "*" || step(field) !== undefined
  const every = (field: string, unit: string) => {
    const count = step(field)
    return count === undefined || count === "1" ? `every ${unit}` : `every ${count} ${unit}s`
  }
  if (f.hour === "*" && f.minute === "*" && repeats(f.second)) return every(f.second, "second")
  if (f.second !== "0") return undefined
  if (f.hour === "*" && repeats(f.minute)) return every(f.minute, "minute")
  if (isNumber(f.minute) && repeats(f.hour)) return `${every(f.hour, "hour")}${f.minute === "0" ? "" : ` at minute ${f.minute}`}`
  return undefined
}

/** The fields one by one, for expressions with no simple wording. */
const describeFields = (f: Fields): string => {
  const times = describeTimes(f)
  const parts = [
    times !== undefined
      ? `at ${times}`
      : `at ${(["hour", "minute", "second"] as const).map((name) => `${name} ${f[name]}`).join(", ")}`
  ]
  const dateParts: ReadonlyArray<readonly [FieldName, string]> = [
    ["day_of_week", "on "],
    ["day", "on day "],
    ["week", "in ISO week "],
    ["month", "in month "],
    ["year", "in year "]
  ]
  for (const [name, prefix] of dateParts) if (f[name] !== "*") parts.push(`${prefix}${f[name]}`)
  return parts.join(" ")
}

const describeCron = (t: CronTrigger): string => {
  const f = effectiveFields(cronFieldValues(t))
  const days = describeDays(f)
  const times = describeTimes(f)
  const repeat = describeRepeat(f)
  const weekdays = weekdaysOnly(f) ? weekdaysInWords(f.day_of_week) : undefined
  const words =
    days !== undefined && times !== undefined
      ? `${days} at ${times}`
      : repeat !== undefined && weekdays !== undefined
        ? `${repeat}${weekdays.after}`
        : describeFields(f)
  const until = t.endTime === null ? "" : ` until ${formatInZone(t.endTime, t.timezone)}`
  return `cron: ${words} (${t.timezone})${until}`
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
