/**
 * Calendar-interval trigger iteration (APScheduler's rules): years and months
 * are added keeping the day of month, repeating while the date does not exist
 * (Jan 31 + 1 month -> Mar 31); then weeks and days are added. The date is
 * combined with the wall-clock time of day in the zone: a time inside a
 * spring-forward gap discards that date and moves on by another interval; a
 * time repeated by an autumn fold fires at its first occurrence.
 */
import { DAY, formatIsoDate, isValidDate, parseIsoDate, wallFields, wallMs } from "./calendar.js"
import { CalendarIntervalTrigger } from "./schema.js"
import { zoneNamed } from "./zone.js"

interface CivilDate {
  readonly year: number
  readonly month: number
  readonly day: number
}

const civil = (iso: string): CivilDate => {
  const date = parseIsoDate(iso)
  if (date === undefined) throw new Error(`invalid CalendarIntervalTrigger date '${iso}'`)
  return date
}

const advance = (trigger: CalendarIntervalTrigger, previous: CivilDate): CivilDate => {
  let { year, month } = previous
  for (;;) {
    month += trigger.months
    year += trigger.years + Math.floor((month - 1) / 12)
    month = ((month - 1) % 12) + 1
    if (isValidDate(year, month, previous.day)) break
  }
  const { year: y, month: m, day: d } = wallFields(wallMs(year, month, previous.day) + (trigger.weeks * 7 + trigger.days) * DAY)
  return { year: y, month: m, day: d }
}

export const nextCalendarInterval = (
  trigger: CalendarIntervalTrigger
): { fireTime: Date | null; trigger: CalendarIntervalTrigger } => {
  const zone = zoneNamed(trigger.timezone)
  if (zone === undefined) throw new Error(`invalid CalendarIntervalTrigger: unknown time zone '${trigger.timezone}'`)
  const end = trigger.endDate
  let previous = trigger.lastFireDate === null ? undefined : civil(trigger.lastFireDate)
  for (;;) {
    const date = previous === undefined ? civil(trigger.startDate) : advance(trigger, previous)
    const iso = formatIsoDate(date.year, date.month, date.day)
    if (end !== null && iso > end) return { fireTime: null, trigger }
    const wall = wallMs(date.year, date.month, date.day, trigger.hour, trigger.minute, trigger.second)
    const instants = zone.toInstants(wall)
    if (instants.length === 0) {
      // In a gap: continue from the date the wall time normalises to (as APScheduler does)
      const normalised = wallFields(zone.toWall(wall - zone.offsetAt(wall - DAY)))
      previous = { year: normalised.year, month: normalised.month, day: normalised.day }
      continue
    }
    const fireTime = new Date(instants[0]!)
    return { fireTime, trigger: new CalendarIntervalTrigger({ ...trigger, lastFireDate: iso }, true) }
  }
}
