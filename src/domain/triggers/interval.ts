/**
 * Interval trigger iteration: absolute time is added (a 24-hour interval is
 * 24 real hours across a DST change); the first fire is at the start time and
 * the end time is inclusive.
 */
import { IntervalTrigger } from "./schema.js"

export const intervalMillis = (t: {
  readonly weeks: number
  readonly days: number
  readonly hours: number
  readonly minutes: number
  readonly seconds: number
  readonly milliseconds: number
}): number => ((((t.weeks * 7 + t.days) * 24 + t.hours) * 60 + t.minutes) * 60 + t.seconds) * 1000 + t.milliseconds

export const nextInterval = (trigger: IntervalTrigger): { fireTime: Date | null; trigger: IntervalTrigger } => {
  const fire =
    trigger.lastFireTime === null ? trigger.startTime : new Date(trigger.lastFireTime.getTime() + intervalMillis(trigger))
  if (trigger.endTime !== null && fire.getTime() > trigger.endTime.getTime()) return { fireTime: null, trigger }
  return { fireTime: fire, trigger: new IntervalTrigger({ ...trigger, lastFireTime: fire }, true) }
}
