/**
 * The trigger engine's public face. `next` is APScheduler 4's stateful
 * `Trigger.next()` done functionally: given a trigger, its next fire time
 * (null = finished) and the trigger with its state advanced; the caller
 * stores the returned trigger. Also here: the user-facing spec (`TriggerSpec`,
 * `fromSpec`), `describeTrigger` and `formatInZone`.
 */
import { Either } from "effect"
import type { MaxIterationsReached } from "../errors.js"
import { nextCalendarInterval } from "./calendarInterval.js"
import { type NextFire, nextAnd, nextOr } from "./combining.js"
import { nextCron } from "./cron/cronTrigger.js"
import { nextDate } from "./date.js"
import { nextInterval } from "./interval.js"
import type { Trigger } from "./schema.js"

export type { NextFire } from "./combining.js"
export { describeTrigger } from "./describe.js"
export { formatInZone } from "./format.js"
export {
  AndSpec,
  CalendarIntervalSpec,
  CronSpec,
  DateSpec,
  decodeSpec,
  fromSpec,
  IntervalSpec,
  OrSpec,
  parseSpecJson,
  TriggerSpec
} from "./spec.js"

export const next = (trigger: Trigger): Either.Either<NextFire, MaxIterationsReached> => {
  switch (trigger._tag) {
    case "DateTrigger":
      return Either.right(nextDate(trigger))
    case "IntervalTrigger":
      return Either.right(nextInterval(trigger))
    case "CronTrigger":
      return Either.right(nextCron(trigger))
    case "CalendarIntervalTrigger":
      return Either.right(nextCalendarInterval(trigger))
    case "AndTrigger":
      return nextAnd(trigger, next)
    case "OrTrigger":
      return nextOr(trigger, next)
  }
}
