/**
 * Civil-calendar arithmetic on "wall" timestamps: a wall timestamp is the
 * wall-clock reading of some zone encoded as if it were UTC milliseconds, so
 * plain Date.UTC arithmetic gives proleptic Gregorian calendar math without
 * any zone involved.
 */

export const SECOND = 1000
export const MINUTE = 60 * SECOND
export const HOUR = 60 * MINUTE
export const DAY = 24 * HOUR

/** Wall-clock fields; month is 1-12. */
export interface WallFields {
  readonly year: number
  readonly month: number
  readonly day: number
  readonly hour: number
  readonly minute: number
  readonly second: number
}

/** Date.UTC with years below 100 taken literally (Date.UTC maps 0-99 to 1900-1999). */
export const wallMs = (year: number, month: number, day: number, hour = 0, minute = 0, second = 0): number => {
  const ms = Date.UTC(year, month - 1, day, hour, minute, second)
  if (year >= 100) return ms
  const d = new Date(ms)
  d.setUTCFullYear(year)
  return d.getTime()
}

export const wallFields = (wall: number): WallFields => {
  const d = new Date(wall)
  return {
    year: d.getUTCFullYear(),
    month: d.getUTCMonth() + 1,
    day: d.getUTCDate(),
    hour: d.getUTCHours(),
    minute: d.getUTCMinutes(),
    second: d.getUTCSeconds()
  }
}

export const isLeapYear = (year: number): boolean => (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0

const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]

export const daysInMonth = (year: number, month: number): number =>
  month === 2 && isLeapYear(year) ? 29 : DAYS_IN_MONTH[month - 1]!

/** Weekday with monday = 0 .. sunday = 6 (APScheduler's numbering). */
export const weekday = (year: number, month: number, day: number): number =>
  (new Date(wallMs(year, month, day)).getUTCDay() + 6) % 7

/** ISO-8601 week number (1-53): the week containing the year's first thursday is week 1. */
export const isoWeek = (year: number, month: number, day: number): number => {
  const date = wallMs(year, month, day)
  const thursday = date + (3 - weekday(year, month, day)) * DAY
  const thursdayYear = new Date(thursday).getUTCFullYear()
  return Math.floor((thursday - wallMs(thursdayYear, 1, 1)) / (7 * DAY)) + 1
}

export const isValidDate = (year: number, month: number, day: number): boolean =>
  Number.isInteger(year) && month >= 1 && month <= 12 && day >= 1 && day <= daysInMonth(year, month)

const pad = (n: number, width = 2): string => String(n).padStart(width, "0")

/** "YYYY-MM-DD" */
export const formatIsoDate = (year: number, month: number, day: number): string =>
  `${pad(year, 4)}-${pad(month)}-${pad(day)}`

/** Parses "YYYY-MM-DD" into a valid calendar date, or undefined. */
export const parseIsoDate = (text: string): { year: number; month: number; day: number } | undefined => {
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(text)
  if (match === null) return undefined
  const [year, month, day] = [Number(match[1]), Number(match[2]), Number(match[3])]
  return isValidDate(year, month, day) ? { year, month, day } : undefined
}

/** "HH:MM" or "HH:MM:SS" when seconds are not zero. */
export const formatTimeOfDay = (hour: number, minute: number, second: number): string =>
  `${pad(hour)}:${pad(minute)}${second === 0 ? "" : `:${pad(second)}`}`

/** Formats an offset in ms as "+HH:MM" ("Z" is never used: callers want the zone's offset). */
export const formatOffset = (offsetMs: number): string => {
  const sign = offsetMs < 0 ? "-" : "+"
  const total = Math.round(Math.abs(offsetMs) / MINUTE)
  return `${sign}${pad(Math.floor(total / 60))}:${pad(total % 60)}`
}
