/**
 * The schedule loop: leases due schedules in batches, turns their due fire
 * times into jobs and hands schedules and jobs back to the store in one
 * release; then sleeps until the next fire time, or until an event says a
 * schedule became due sooner.
 */
import { Clock, Duration, Effect, Option } from "effect"
import type { TaskId } from "../../domain/ids.js"
import type { Schedule } from "../../domain/Schedule.js"
import type { Task } from "../../domain/Task.js"
import type { DataStoreShape, ScheduleRelease } from "../DataStore.js"
import {
  type Advanced,
  advancedSchedule,
  coalesce,
  dueFireTimes,
  hasJitter,
  jobsForFireTimes,
  unjitteredJobs
} from "./FireTimes.js"
import type { ResolvedSchedulerOptions } from "./SchedulerOptions.js"
import { tasksById } from "./tasks.js"
import type { WakeUp } from "./WakeUp.js"

/** Jobs for the schedule's `due` fire times and the schedule moved past them; logs what keeps it from firing. */
const releaseLogged = Effect.fnUntraced(function*(schedule: Schedule, task: Task | undefined, due: Advanced, now: Date) {
  if (due.failure !== null) {
    yield* Effect.logWarning(`schedule '${schedule.id}' has no further fire times: ${due.failure.message}`)
  }
  const fireTimes = coalesce(schedule.coalesce, due.passed)
  let jobs: ScheduleRelease["jobs"] = []
  if (task === undefined) {
    yield* Effect.logError(
      `schedule '${schedule.id}': task '${schedule.taskId}' not found; ${fireTimes.length} fire time(s) skipped`
    )
  } else {
    jobs = yield* jobsForFireTimes(schedule, task, fireTimes, due.nextFireTime, now)
  }
  const release: ScheduleRelease = { schedule: advancedSchedule(schedule, due, fireTimes.at(-1) ?? null), jobs }
  return release
})

/**
 * The releases of a batch of due schedules. Built in one synchronous pass:
 * an effect per schedule (the runtime's steps, cold on a first burst) would
 * cost more than building its jobs. Only schedules that need one — jitter to
 * draw from Random, something to log — go through `releaseLogged`.
 */
const releasesFor = (
  schedules: ReadonlyArray<Schedule>,
  tasks: ReadonlyMap<TaskId, Task>,
  now: Date
): Effect.Effect<Array<ScheduleRelease>> => {
  const releases: Array<ScheduleRelease> = []
  const withEffects: Array<{ readonly index: number; readonly due: Advanced }> = []
  for (const schedule of schedules) {
    const task = tasks.get(schedule.taskId)
    const due = dueFireTimes(schedule, now)
    if (task === undefined || due.failure !== null || hasJitter(schedule)) {
      withEffects.push({ index: releases.length, due })
      // Its place, filled in below.
      releases.push({ schedule, jobs: [] })
      continue
    }
    const fireTimes = coalesce(schedule.coalesce, due.passed)
    releases.push({
      schedule: advancedSchedule(schedule, due, fireTimes.at(-1) ?? null),
      jobs: unjitteredJobs(schedule, task, fireTimes, now)
    })
  }
  if (withEffects.length === 0) return Effect.succeed(releases)
  return Effect.as(
    Effect.forEach(withEffects, ({ due, index }) => {
      const { schedule } = releases[index]!
      return Effect.map(releaseLogged(schedule, tasks.get(schedule.taskId), due, now), (release) => {
        releases[index] = release
      })
    }, { discard: true }),
    releases
  )
}

export interface ScheduleLoopDeps {
  readonly store: DataStoreShape
  readonly options: ResolvedSchedulerOptions
  readonly wakeUp: WakeUp
  /** Called after a release added jobs: wakes this scheduler's job loop without waiting for the event. */
  readonly jobsAdded: () => void
}

/**
 * Processes one batch of due schedules; returns how many were acquired.
 * Uninterruptible so that a stop never leaves schedules leased.
 */
export const processDueSchedules = (
  { jobsAdded, options, store }: Omit<ScheduleLoopDeps, "wakeUp">
): Effect.Effect<number> =>
  Effect.uninterruptible(Effect.gen(function*() {
    const schedules = yield* store.acquireSchedules(options.id, options.leaseDuration, options.scheduleBatchSize)
    if (schedules.length === 0) return 0
    const now = new Date(yield* Clock.currentTimeMillis)
    const tasks = yield* tasksById(store, schedules.map((schedule) => schedule.taskId))
    const releases = yield* releasesFor(schedules, tasks, now)
    yield* store.releaseSchedules(options.id, releases)
    if (releases.some((release) => release.jobs.length > 0)) jobsAdded()
    return schedules.length
  }))

export const scheduleLoop = (deps: ScheduleLoopDeps): Effect.Effect<never> => {
  const { options, store, wakeUp } = deps
  // A due schedule we could not acquire is leased by another scheduler: it either releases it
  // (its ScheduleUpdated wakes us) or dies; look again after a second at most.
  const contendedRecheckMs = Math.min(1000, Duration.toMillis(options.leaseDuration))
  const processBatch = processDueSchedules(deps)
  return Effect.gen(function*() {
    while (true) {
      const processed = yield* processBatch
      if (processed === options.scheduleBatchSize) {
        // More are due: let the job loop start this batch's jobs before taking the next.
        yield* Effect.yieldNow()
        continue
      }
      const next = yield* store.getNextScheduleRunTime()
      const nowMs = yield* Clock.currentTimeMillis
      let target = Option.match(next, { onNone: () => Number.POSITIVE_INFINITY, onSome: (at) => at.getTime() })
      if (target <= nowMs) {
        if (processed > 0) continue
        target = nowMs + contendedRecheckMs
      }
      yield* wakeUp.sleepUntil(target)
    }
  })
}
