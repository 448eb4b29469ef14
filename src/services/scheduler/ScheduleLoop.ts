/**
 * The schedule loop: leases due schedules in batches, turns their due fire
 * times into jobs and hands schedules and jobs back to the store in one
 * release; then sleeps until the next fire time, or until an event says a
 * schedule became due sooner.
 */
import { Clock, Duration, Effect, Option } from "effect"
import type { Schedule } from "../../domain/Schedule.js"
import type { Task } from "../../domain/Task.js"
import type { DataStoreShape, ScheduleRelease } from "../DataStore.js"
import { advancedSchedule, coalesce, dueFireTimes, jobsForFireTimes } from "./FireTimes.js"
import type { ResolvedSchedulerOptions } from "./SchedulerOptions.js"
import { tasksById } from "./tasks.js"
import type { WakeUp } from "./WakeUp.js"

/** Jobs for the schedule's due fire times and the schedule moved past now. */
export const releaseSchedule = Effect.fnUntraced(function*(schedule: Schedule, task: Task | undefined, now: Date) {
  const due = dueFireTimes(schedule, now)
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
  const release: ScheduleRelease = {
    schedule: advancedSchedule(schedule, due, fireTimes[fireTimes.length - 1] ?? null),
    jobs
  }
  return release
})

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
    const releases = yield* Effect.forEach(schedules, (schedule) =>
      releaseSchedule(schedule, tasks.get(schedule.taskId), now))
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
