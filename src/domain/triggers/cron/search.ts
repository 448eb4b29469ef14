/**
 * Finds the first wall-clock time at or after a given one that matches every
 * field, field by field from the most significant: a field with no valid value
 * left carries into the next more significant field and resets the less
 * significant ones to their minimum (never a second-by-second scan).
 */
import { daysInMonth, wallFields, wallMs } from "../calendar.js"
import { BOUNDS, nextValue } from "./field.js"
import type { CompiledCron } from "./compile.js"

/** Lowest set bit at position >= from-1, as a day number, or undefined. */
const nextDay = (mask: number, from: number, days: number): number | undefined => {
  for (let d = from; d <= days; d++) if ((mask & (1 << (d - 1))) !== 0) return d
  return undefined
}

/** The first matching wall timestamp >= `wall` in a year <= `maxYear`, or undefined. */
export const nextMatchingWall = (cron: CompiledCron, wall: number, maxYear: number): number | undefined => {
  const { year: yearField, month: monthField, hour: hourField, minute: minuteField, second: secondField } = cron.fields
  let { year, month, day, hour, minute, second } = wallFields(wall)
  const lastYear = Math.min(maxYear, BOUNDS.year[1])
  for (;;) {
    const y = nextValue(yearField, year, lastYear)
    if (y === undefined) return undefined
    if (y !== year) [year, month, day, hour, minute, second] = [y, 1, 1, 0, 0, 0]

    const m = nextValue(monthField, month, 12)
    if (m === undefined) {
      ;[year, month, day, hour, minute, second] = [year + 1, 1, 1, 0, 0, 0]
      continue
    }
    if (m !== month) [month, day, hour, minute, second] = [m, 1, 0, 0, 0]

    const days = daysInMonth(year, month)
    const d = nextDay(cron.dayMask(year, month), day, days)
    if (d === undefined) {
      ;[year, month, day, hour, minute, second] = month === 12 ? [year + 1, 1, 1, 0, 0, 0] : [year, month + 1, 1, 0, 0, 0]
      continue
    }
    if (d !== day) [day, hour, minute, second] = [d, 0, 0, 0]

    const h = nextValue(hourField, hour, 23)
    if (h === undefined) {
      ;({ year, month, day, hour, minute, second } = wallFields(wallMs(year, month, day + 1)))
      continue
    }
    if (h !== hour) [hour, minute, second] = [h, 0, 0]

    const mi = nextValue(minuteField, minute, 59)
    if (mi === undefined) {
      ;({ year, month, day, hour, minute, second } = wallFields(wallMs(year, month, day, hour + 1)))
      continue
    }
    if (mi !== minute) [minute, second] = [mi, 0]

    const s = nextValue(secondField, second, 59)
    if (s === undefined) {
      ;({ year, month, day, hour, minute, second } = wallFields(wallMs(year, month, day, hour, minute + 1)))
      continue
    }
    return wallMs(year, month, day, hour, minute, s)
  }
}
