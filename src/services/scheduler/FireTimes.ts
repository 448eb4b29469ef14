/**
 * What a due schedule turns into: the fire times that came due (coalesced),
 * the jobs for them (jitter capped so a job never moves past the following fire
 * time, start deadline from the misfire grace time, result expiration), and the
 * schedule advanced past now. Pure except for the jitter, drawn from Random.
 */
import { Effect, Either, Random } from "effect"
import type { CoalescePolicy } from "../../domain/Coalesce.js"
import type { MaxIterationsReached } from "../../domain/errors.js"
import type { JobId } from "../../domain/ids.js"
import { instanceOf, withFields } from "../../domain/instances.js"
import { Job } from "../../domain/Job.js"
import type { Schedule } from "../../domain/Schedule.js"
import type { Task } from "../../domain/Task.js"
import type { Trigger } from "../../domain/triggers/schema.js"
import { next } from "../../domain/triggers/Trigger.js"
import { uuid7 } from "../../domain/uuid7.js"

/** Result of moving a schedule's trigger past the fire times that satisfy a condition. */
export interface Advanced {
  /** Fire times passed over, in order (the schedule's stored nextFireTime first). */
  readonly passed: ReadonlyArray<Date>
  readonly trigger: Trigger
  /** First fire time not passed over; null when the trigger has no more. */
  readonly nextFireTime: Date | null
  /** Set when the trigger gave up (an and-trigger's iteration budget); the schedule then ends. */
  readonly failure: MaxIterationsReached | null
}

/** Advances the schedule's trigger while its next fire time satisfies `pass`. */
export const advanceWhile = (schedule: Schedule, pass: (fireTime: Date) => boolean): Advanced => {
  const passed: Array<Date> = []
  let trigger = schedule.trigger
  let nextFireTime = schedule.nextFireTime
  while (nextFireTime !== null && pass(nextFireTime)) {
    passed.push(nextFireTime)
    const step = next(trigger)
    if (Either.isLeft(step)) return { passed, trigger, nextFireTime: null, failure: step.left }
    trigger = step.right.trigger
    nextFireTime = step.right.fireTime
  }
  return { passed, trigger, nextFireTime, failure: null }
}

/** The fire times due at `now` (stored nextFireTime up to and including now). */
export const dueFireTimes = (schedule: Schedule, now: Date): Advanced => {
  const nowMs = now.getTime()
  return advanceWhile(schedule, (fireTime) => fireTime.getTime() <= nowMs)
}

/** Skips fire times before `resumeFrom` (used when a paused schedule resumes). */
export const skipFireTimesBefore = (schedule: Schedule, resumeFrom: Date): Advanced => {
  const fromMs = resumeFrom.getTime()
  return advanceWhile(schedule, (fireTime) => fireTime.getTime() < fromMs)
}

/** Which of several due fire times become jobs. */
export const coalesce = (policy: CoalescePolicy, fireTimes: ReadonlyArray<Date>): ReadonlyArray<Date> => {
  if (fireTimes.length <= 1 || policy === "all") return fireTimes
  return policy === "earliest" ? [fireTimes[0]!] : [fireTimes[fireTimes.length - 1]!]
}

/**
 * Largest jitter (ms) for a job at `fireTime`: the schedule's maxJitter, but
 * strictly less than the gap to the following fire time so jobs keep their order.
 */
export const jitterCapMs = (maxJitterSeconds: number | null, fireTime: Date, following: Date | null): number => {
  if (maxJitterSeconds === null || maxJitterSeconds <= 0) return 0
  const cap = Math.floor(maxJitterSeconds * 1000)
  if (following === null) return cap
  return Math.max(0, Math.min(cap, following.getTime() - fireTime.getTime() - 1))
}

/** The schedule's misfire grace time, or else the task's (seconds; null = no deadline). */
export const misfireGraceSeconds = (schedule: Schedule, task: Task): number | null =>
  schedule.misfireGraceTime ?? task.misfireGraceTime

/** Latest start of a job due at `fireTime` (jitter included). */
export const startDeadline = (fireTime: Date, graceSeconds: number | null): Date | null =>
  graceSeconds === null ? null : new Date(fireTime.getTime() + graceSeconds * 1000)

/** Job ids are version-7 UUIDs (the JobId brand checks UUIDs): they sort by creation, so store indexes grow at one end. */
export const newJobId = (): JobId => uuid7() as JobId

/**
 * The job for `fireTime`, moved by `jitterMs`; built directly (instanceOf) from
 * the schedule's and task's already-valid fields.
 */
const jobAt = (schedule: Schedule, task: Task, fireTime: Date, jitterMs: number, createdAt: Date): Job => {
  const scheduledFireTime = jitterMs > 0 ? new Date(fireTime.getTime() + jitterMs) : fireTime
  return instanceOf(Job, {
    id: newJobId(),
    taskId: task.id,
    scheduleId: schedule.id,
    args: schedule.args,
    kwargs: schedule.kwargs,
    scheduledFireTime,
    jitterMs,
    executor: task.executor,
    startDeadline: startDeadline(scheduledFireTime, misfireGraceSeconds(schedule, task)),
    resultExpirationTime: schedule.jobResultExpirationTime,
    metadata: schedule.metadata,
    createdAt,
    attempt: 1,
    // A jittered job must not start before its jittered time.
    availableAt: jitterMs > 0 ? scheduledFireTime : null,
    acquiredBy: null,
    acquiredUntil: null,
    startedAt: null
  })
}

/** Whether the schedule's jobs get a random jitter (drawn by jobsForFireTimes). */
export const hasJitter = (schedule: Schedule): boolean => schedule.maxJitter !== null && schedule.maxJitter > 0

/** One job per fire time, without jitter: for a schedule that has none (see hasJitter), no effect needed. */
export const unjitteredJobs = (
  schedule: Schedule,
  task: Task,
  fireTimes: ReadonlyArray<Date>,
  createdAt: Date
): Array<Job> => fireTimes.map((fireTime) => jobAt(schedule, task, fireTime, 0, createdAt))

/** One job per fire time, each with its jitter drawn in [0, cap]; without jitter no effect runs per job. */
export const jobsForFireTimes = (
  schedule: Schedule,
  task: Task,
  fireTimes: ReadonlyArray<Date>,
  nextFireTime: Date | null,
  createdAt: Date
): Effect.Effect<ReadonlyArray<Job>> => {
  if (!hasJitter(schedule)) return Effect.succeed(unjitteredJobs(schedule, task, fireTimes, createdAt))
  return Effect.forEach(fireTimes, (fireTime, i) => {
    const cap = jitterCapMs(schedule.maxJitter, fireTime, fireTimes[i + 1] ?? nextFireTime)
    if (cap === 0) return Effect.succeed(jobAt(schedule, task, fireTime, 0, createdAt))
    return Effect.map(
      Random.nextIntBetween(0, cap + 1),
      (jitterMs) => jobAt(schedule, task, fireTime, jitterMs, createdAt)
    )
  })
}

/** The schedule as released after processing `advanced`: trigger, next and last fire time moved on. */
export const advancedSchedule = (schedule: Schedule, advanced: Advanced, lastFireTime: Date | null): Schedule =>
  withFields(schedule, {
    trigger: advanced.trigger,
    nextFireTime: advanced.nextFireTime,
    lastFireTime: lastFireTime ?? schedule.lastFireTime
  })
