/**
 * A cron trigger's fields compiled for matching, with APScheduler's rule for
 * fields that were not given: those more significant than the least
 * significant given field are `*`, the others take their minimum (so only
 * hour="2" means 02:00:00 every day).
 */
import { Either } from "effect"
import type { InvalidTrigger } from "../../errors.js"
import { daysInMonth, isoWeek, weekday } from "../calendar.js"
import { type CronField, FIELD_NAMES, type FieldName, matches, parseField } from "./field.js"

export type CronFieldValues = Partial<Record<FieldName, string | null>>

const DEFAULTS: Record<FieldName, string> = {
  year: "*",
  month: "1",
  day: "1",
  week: "*",
  day_of_week: "*",
  hour: "0",
  minute: "0",
  second: "0"
}

export interface CompiledCron {
  readonly fields: Readonly<Record<FieldName, CronField>>
  /** Which field names were given explicitly (the others were filled in by the default rule). */
  readonly given: ReadonlySet<FieldName>
  /**
   * Whether a wall-clock time repeated by an autumn fold fires on its second
   * occurrence too: yes when the hour field is `*`, a range or a step (the job
   * follows absolute time), no when it lists fixed hours (the job is pinned to
   * a wall-clock time and must not run twice in a day).
   */
  readonly firesInRepeatedHour: boolean
  /** Bit d-1 set when day d of the month matches day, week and day_of_week. */
  dayMask(year: number, month: number): number
}

/** The expression each field effectively has, after the default rule. */
export const effectiveFields = (values: CronFieldValues): Record<FieldName, string> => {
  const givenIndexes = FIELD_NAMES.flatMap((name, i) => (values[name] != null ? [i] : []))
  const leastSignificant = givenIndexes.length === 0 ? -1 : givenIndexes[givenIndexes.length - 1]!
  const result = {} as Record<FieldName, string>
  FIELD_NAMES.forEach((name, i) => {
    result[name] = values[name] ?? (i < leastSignificant ? "*" : DEFAULTS[name])
  })
  return result
}

const dayRuleDays = (field: CronField, year: number, month: number, days: number): number => {
  let mask = 0
  const firstWeekday = weekday(year, month, 1)
  for (const rule of field.dayRules) {
    if (rule._tag === "LastDay") {
      mask |= 1 << (days - 1)
      continue
    }
    const firstHit = ((rule.weekday - firstWeekday + 7) % 7) + 1
    const day = rule._tag === "NthWeekday" ? firstHit + (rule.nth - 1) * 7 : firstHit + Math.floor((days - firstHit) / 7) * 7
    if (day <= days) mask |= 1 << (day - 1)
  }
  return mask
}

const makeDayMask = (fields: Readonly<Record<FieldName, CronField>>) => {
  const { day, week, day_of_week } = fields
  // one month is asked about many times in a row while searching: remember the last answer
  let cachedKey = -1
  let cachedMask = 0
  return (year: number, month: number): number => {
    const key = year * 16 + month
    if (key === cachedKey) return cachedMask
    const days = daysInMonth(year, month)
    const ruleMask = dayRuleDays(day, year, month, days)
    const firstWeekday = weekday(year, month, 1)
    let mask = 0
    for (let d = 1; d <= days; d++) {
      const bit = 1 << (d - 1)
      const dayOk = day.matchesAll || (ruleMask & bit) !== 0 || matches(day, d)
      if (!dayOk) continue
      if (!day_of_week.matchesAll && !matches(day_of_week, (firstWeekday + d - 1) % 7)) continue
      if (!week.matchesAll && !matches(week, isoWeek(year, month, d))) continue
      mask |= bit
    }
    cachedKey = key
    cachedMask = mask
    return mask
  }
}

const compile = (values: CronFieldValues): Either.Either<CompiledCron, InvalidTrigger> =>
  Either.gen(function* () {
    const effective = effectiveFields(values)
    const fields = {} as Record<FieldName, CronField>
    for (const name of FIELD_NAMES) fields[name] = yield* parseField(name, effective[name])
    return {
      fields,
      given: new Set(FIELD_NAMES.filter((name) => values[name] != null)),
      firesInRepeatedHour: !fields.hour.singleValues,
      dayMask: makeDayMask(fields)
    }
  })

/** Compiled crons are shared by every trigger with the same fields; bounded so odd inputs cannot grow it forever. */
const cache = new Map<string, CompiledCron>()
const CACHE_LIMIT = 2048

export const compileCron = (values: CronFieldValues): Either.Either<CompiledCron, InvalidTrigger> => {
  const key = FIELD_NAMES.map((name) => values[name] ?? "\u0000").join("\u0001")
  const cached = cache.get(key)
  if (cached !== undefined) return Either.right(cached)
  const compiled = compile(values)
  if (Either.isRight(compiled)) {
    if (cache.size >= CACHE_LIMIT) cache.clear()
    cache.set(key, compiled.right)
  }
  return compiled
}
