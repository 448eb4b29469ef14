/** Cron trigger iteration: the next matching instant after the last fire time (or from the start time). */
import { Either } from "effect"
import { SECOND } from "../calendar.js"
import { CronTrigger } from "../schema.js"
import { zoneNamed } from "../zone.js"
import { type CompiledCron, type CronFieldValues, compileCron } from "./compile.js"
import { nextCronInstant } from "./nextInstant.js"

export const cronFieldValues = (trigger: CronTrigger): CronFieldValues => ({
  year: trigger.year,
  month: trigger.month,
  day: trigger.day,
  week: trigger.week,
  day_of_week: trigger.dayOfWeek,
  hour: trigger.hour,
  minute: trigger.minute,
  second: trigger.second
})

/**
 * Decoded and spec-built triggers are validated, so a failure here means a
 * trigger was constructed around validation: a defect, not a user error.
 */
export const compiledCronOf = (trigger: CronTrigger): CompiledCron =>
  Either.getOrThrowWith(compileCron(cronFieldValues(trigger)), (error) => new Error(`invalid CronTrigger: ${error.message}`))

export const nextCron = (trigger: CronTrigger): { fireTime: Date | null; trigger: CronTrigger } => {
  const zone = zoneNamed(trigger.timezone)
  if (zone === undefined) throw new Error(`invalid CronTrigger: unknown time zone '${trigger.timezone}'`)
  const from = trigger.lastFireTime === null ? trigger.startTime.getTime() : trigger.lastFireTime.getTime() + SECOND
  const instant = nextCronInstant(compiledCronOf(trigger), zone, from, trigger.endTime?.getTime() ?? null)
  if (instant === null) return { fireTime: null, trigger }
  const fireTime = new Date(instant)
  return { fireTime, trigger: new CronTrigger({ ...trigger, lastFireTime: fireTime }, true) }
}
