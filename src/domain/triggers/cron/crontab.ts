/**
 * Crontab strings ("0 9 * * mon-fri", or six fields with seconds first) turned
 * into cron trigger fields. Crontab numbers weekdays from sunday = 0 (7 is
 * sunday too) while the trigger's day_of_week counts from monday = 0, so the
 * weekday field is converted to names.
 */
import { Either } from "effect"
import { InvalidTrigger } from "../../errors.js"
import type { CronFieldValues } from "./compile.js"
import { WEEKDAYS } from "./field.js"

const CRONTAB_WEEKDAYS = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"] as const

const fail = (reason: string) => Either.left(new InvalidTrigger({ field: "day_of_week", reason }))

/** A crontab weekday token (0-7 or a name) as a crontab number 0-6. */
const crontabDay = (token: string): Either.Either<number, InvalidTrigger> => {
  if (/^\d+$/.test(token)) {
    const n = Number(token)
    return n > 7 ? fail(`invalid weekday number ${n} (crontab uses 0-7, 0 and 7 = sunday)`) : Either.right(n % 7)
  }
  const index = (CRONTAB_WEEKDAYS as ReadonlyArray<string>).indexOf(token)
  return index < 0 ? fail(`invalid weekday name '${token}'`) : Either.right(index)
}

/** The crontab days a term selects, as a set of crontab numbers. */
const termDays = (term: string): Either.Either<Array<number>, InvalidTrigger> =>
  Either.gen(function* () {
    const match = /^(\*|[a-z0-9]+)(?:-([a-z0-9]+))?(?:\/(\d+))?$/.exec(term)
    if (match === null) return yield* fail(`unrecognized expression '${term}'`)
    const step = match[3] === undefined ? 1 : Number(match[3])
    if (step <= 0) return yield* fail("step must be positive")
    if (match[1] === "*") {
      if (match[2] !== undefined) return yield* fail(`unrecognized expression '${term}'`)
      return [0, 1, 2, 3, 4, 5, 6].filter((d) => d % step === 0)
    }
    const first = yield* crontabDay(match[1]!)
    if (match[2] === undefined && match[3] === undefined) return [first]
    // "7" as a range end means sunday at the end of the week (e.g. 5-7)
    const lastToken = match[2] ?? "6"
    const last = lastToken === "7" ? 7 : yield* crontabDay(lastToken)
    const span = last >= first ? last - first : last + 7 - first
    const days: Array<number> = []
    for (let offset = 0; offset <= span; offset += step) days.push((first + offset) % 7)
    return days
  })

/** Renders a set of weekdays (monday = 0) as names with ranges, e.g. "mon-wed,sun". */
const weekdayText = (days: ReadonlySet<number>): string => {
  if (days.size === 7) return "*"
  const parts: Array<string> = []
  for (let d = 0; d < 7; d++) {
    if (!days.has(d)) continue
    let end = d
    while (end + 1 < 7 && days.has(end + 1)) end++
    parts.push(end === d ? WEEKDAYS[d]! : `${WEEKDAYS[d]}-${WEEKDAYS[end]}`)
    d = end
  }
  return parts.join(",")
}

const convertWeekdays = (field: string): Either.Either<string, InvalidTrigger> =>
  Either.gen(function* () {
    if (field === "*" || field === "?") return "*"
    const days = new Set<number>()
    for (const term of field.toLowerCase().split(",")) {
      for (const d of yield* termDays(term)) days.add((d + 6) % 7)
    }
    return weekdayText(days)
  })

/** Crontab string -> cron fields (5 fields: minute hour day month day_of_week; 6: second first). */
export const parseCrontab = (expr: string): Either.Either<CronFieldValues, InvalidTrigger> =>
  Either.gen(function* () {
    const parts = expr.trim().split(/\s+/).filter((part) => part !== "")
    if (parts.length !== 5 && parts.length !== 6) {
      return yield* Either.left(
        new InvalidTrigger({
          field: "expr",
          reason: `expected 5 fields (minute hour day month day_of_week) or 6 with seconds first, got ${parts.length}`
        })
      )
    }
    const [second, minute, hour, day, month, dayOfWeek] = parts.length === 6 ? parts : ["0", ...parts]
    return {
      second: second!,
      minute: minute!,
      hour: hour!,
      day: day!,
      month: month!,
      day_of_week: yield* convertWeekdays(dayOfWeek!)
    }
  })
