/**
 * One cron field: its expression text parsed into value ranges (plus the
 * day-of-month rules that depend on the month), validated with messages that
 * name the field and the problem.
 */
import { Either } from "effect"
import { InvalidTrigger } from "../../errors.js"

export const FIELD_NAMES = ["year", "month", "day", "week", "day_of_week", "hour", "minute", "second"] as const
export type FieldName = (typeof FIELD_NAMES)[number]

export const WEEKDAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"] as const
export const MONTHS = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"] as const

/** Value bounds per field (day_of_week: mon = 0 .. sun = 6, as APScheduler's CronTrigger). */
export const BOUNDS: Record<FieldName, readonly [number, number]> = {
  year: [1970, 9999],
  month: [1, 12],
  day: [1, 31],
  week: [1, 53],
  day_of_week: [0, 6],
  hour: [0, 23],
  minute: [0, 59],
  second: [0, 59]
}

/** Inclusive range with a step; a single value is `first === last`. */
export interface Range {
  readonly first: number
  readonly last: number
  readonly step: number
}

/** Day-of-month rules whose day depends on the month: `last`, `2nd fri`, `last sun`. */
export type DayRule =
  | { readonly _tag: "LastDay" }
  | { readonly _tag: "NthWeekday"; readonly nth: number; readonly weekday: number }
  | { readonly _tag: "LastWeekday"; readonly weekday: number }

export interface CronField {
  readonly name: FieldName
  /** The expression as given (normalised to lower case, no spaces around commas). */
  readonly text: string
  readonly ranges: ReadonlyArray<Range>
  readonly dayRules: ReadonlyArray<DayRule>
  /** True for `*` without a step: the field never restricts anything. */
  readonly matchesAll: boolean
  /** True when the field lists only single values (no `*`, range or step). */
  readonly singleValues: boolean
}

const NTH = ["1st", "2nd", "3rd", "4th", "5th"] as const

const fail = (field: FieldName, reason: string) => Either.left(new InvalidTrigger({ field, reason }))

const nameIndex = (field: FieldName, name: string): Either.Either<number, InvalidTrigger> => {
  if (field === "month") {
    const index = (MONTHS as ReadonlyArray<string>).indexOf(name)
    return index < 0 ? fail(field, `invalid month name '${name}'`) : Either.right(index + 1)
  }
  const index = (WEEKDAYS as ReadonlyArray<string>).indexOf(name)
  return index < 0 ? fail(field, `invalid weekday name '${name}'`) : Either.right(index)
}

const hasNames = (field: FieldName) => field === "month" || field === "day_of_week"
/** Months and weekdays are cyclic, so `fri-mon` and `nov-feb` wrap around. */
const wraps = hasNames

/** A value token: a number, or a month/weekday name where the field has names. */
const parseValue = (field: FieldName, token: string, term: string): Either.Either<number, InvalidTrigger> => {
  if (/^\d+$/.test(token)) {
    const value = Number(token)
    const [min, max] = BOUNDS[field]
    return value < min || value > max
      ? fail(field, `value ${value} in '${term}' is out of range ${min}-${max}`)
      : Either.right(value)
  }
  if (/^[a-z]+$/.test(token) && hasNames(field)) return nameIndex(field, token)
  return fail(field, `unrecognized expression '${term}'`)
}

const parseStep = (field: FieldName, step: string | undefined): Either.Either<number | undefined, InvalidTrigger> => {
  if (step === undefined) return Either.right(undefined)
  const value = Number(step)
  return value <= 0 ? fail(field, "step must be positive") : Either.right(value)
}

const checkStepFits = (field: FieldName, term: string, step: number, first: number, last: number) =>
  step > last - first && last > first
    ? fail(field, `step ${step} in '${term}' is larger than the range it steps through (${last - first})`)
    : step > last - first
      ? fail(field, `step ${step} in '${term}' needs a range to step through`)
      : Either.right(undefined)

type Term = { readonly ranges: Array<Range>; readonly dayRules: Array<DayRule> }

const parseDayRule = (term: string): Either.Either<DayRule, InvalidTrigger> | undefined => {
  if (term === "last") return Either.right({ _tag: "LastDay" })
  const match = /^(1st|2nd|3rd|4th|5th|last)\s+([a-z0-9]+)$/.exec(term)
  if (match === null) return undefined
  return Either.map(nameIndex("day", match[2]!), (weekday): DayRule =>
    match[1] === "last" ? { _tag: "LastWeekday", weekday } : { _tag: "NthWeekday", nth: NTH.indexOf(match[1] as "1st") + 1, weekday }
  )
}

const parseTerm = (field: FieldName, term: string): Either.Either<Term, InvalidTrigger> => {
  const [min, max] = BOUNDS[field]
  if (field === "day") {
    const rule = parseDayRule(term)
    if (rule !== undefined) return Either.map(rule, (r) => ({ ranges: [], dayRules: [r] }))
  }
  const all = /^\*(?:\/(\d+))?$/.exec(term)
  if (all !== null) {
    return Either.gen(function* () {
      const step = (yield* parseStep(field, all[1])) ?? 1
      if (all[1] !== undefined) yield* checkStepFits(field, term, step, min, max)
      return { ranges: [{ first: min, last: max, step }], dayRules: [] }
    })
  }
  const range = /^([a-z0-9]+)(?:-([a-z0-9]+))?(?:\/(\d+))?$/.exec(term)
  if (range === null) return fail(field, `unrecognized expression '${term}'`)
  return Either.gen(function* () {
    const first = yield* parseValue(field, range[1]!, term)
    const step = yield* parseStep(field, range[3])
    // `a/n` steps from a to the field's maximum, as APScheduler does
    const last = range[2] !== undefined ? yield* parseValue(field, range[2], term) : step !== undefined ? max : first
    if (first > last) {
      if (!wraps(field)) return yield* fail(field, `range start ${first} is after its end ${last} in '${term}'`)
      if (step !== undefined) return yield* fail(field, `a wrap-around range cannot have a step ('${term}')`)
      return {
        ranges: [
          { first, last: max, step: 1 },
          { first: min, last, step: 1 }
        ],
        dayRules: []
      }
    }
    if (step !== undefined) yield* checkStepFits(field, term, step, first, last)
    return { ranges: [{ first, last, step: step ?? 1 }], dayRules: [] }
  })
}

/** Parses a field expression: comma-separated terms (`*`, `*\/n`, `a`, `a-b`, `a-b/n`, `a/n`, names, day rules). */
export const parseField = (name: FieldName, expression: string): Either.Either<CronField, InvalidTrigger> =>
  Either.gen(function* () {
    const text = expression.trim().toLowerCase()
    if (text === "") return yield* fail(name, "empty expression")
    const terms = text.split(/\s*,\s*/)
    const ranges: Array<Range> = []
    const dayRules: Array<DayRule> = []
    let singleValues = true
    for (const term of terms) {
      if (term === "") return yield* fail(name, `empty term in '${text}'`)
      const parsed = yield* parseTerm(name, term)
      ranges.push(...parsed.ranges)
      dayRules.push(...parsed.dayRules)
      if (parsed.dayRules.length > 0 || parsed.ranges.some((r) => r.first !== r.last)) singleValues = false
    }
    return {
      name,
      text: terms.join(","),
      ranges,
      dayRules,
      matchesAll: text === "*",
      singleValues
    }
  })

/** The smallest value >= `from` (and <= `limit`) that the field's ranges allow, or undefined. */
export const nextValue = (field: CronField, from: number, limit: number): number | undefined => {
  let best: number | undefined
  for (const r of field.ranges) {
    if (from > r.last) continue
    const start = Math.max(from, r.first)
    const value = start + ((r.step - ((start - r.first) % r.step)) % r.step)
    if (value <= r.last && value <= limit && (best === undefined || value < best)) best = value
  }
  return best
}

export const matches = (field: CronField, value: number): boolean => nextValue(field, value, value) === value
