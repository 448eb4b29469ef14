/**
 * The schedule loop: leases due schedules in batches, turns their due fire
 * times into jobs and hands schedules and jobs back to the store in one
 * release; then sleeps until the next fire time, or until an event says a
 * schedule became due sooner. With a store that can, it leases the schedules
 * of the next fire time and builds their jobs shortly before it, so that at
 * the fire time only the release is left (see fireAhead).
 */
import { Clock, Duration, Effect, Exit, Option } from "effect"
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
const releaseLogged = Effect.fnUntraced(function*(
  schedule: Schedule,
  task: Task | undefined,
  due: Advanced,
  now: Date
) {
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
    if (schedule.paused) {
      // Paused while leased ahead of its fire time (see fireAhead): given back as it is.
      releases.push({ schedule, jobs: [] })
      continue
    }
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

/**
 * How long before a fire time the loop leases the schedules due then and builds
 * their jobs, with a store that can (DataStore.acquireSchedulesDueBy): at the
 * fire time only the store's release is left. It covers that preparation for a
 * burst of thousands on a busy machine; a change to a schedule meanwhile is
 * caught at the fire time.
 */
export const prepareLeadMs = 100

/**
 * A fire time closer than this is waited for and processed as it comes: there is
 * no idle time before it to prepare in (fires 1 ms apart would pay the preparation's
 * extra store calls for nothing).
 */
const prepareMinAheadMs = 10

/** Schedules leased ahead of their fire time, with the releases built for them then. */
interface Prepared {
  readonly schedules: ReadonlyArray<Schedule>
  readonly releases: ReadonlyArray<ScheduleRelease>
}

/**
 * Fires the schedules due at `target` (epoch ms, at most prepareLeadMs away):
 * leases them and builds their releases now, waits for `target` (processing
 * whatever falls due before it), then releases them batch by batch, letting
 * the job loop start each batch's jobs before the next. Interrupted before
 * `target`, it gives the schedules back unchanged.
 */
const fireAhead = (
  { jobsAdded, options, store, wakeUp }: ScheduleLoopDeps,
  acquireDueBy: NonNullable<DataStoreShape["acquireSchedulesDueBy"]>,
  drainDue: Effect.Effect<void>
) => {
  const prepare = (target: number) =>
    Effect.gen(function*() {
      const at = new Date(target)
      const prepared: Array<Prepared> = []
      while (true) {
        const schedules = yield* acquireDueBy(options.id, options.leaseDuration, options.scheduleBatchSize, at)
        if (schedules.length === 0) break
        const tasks = yield* tasksById(store, schedules.map((schedule) => schedule.taskId))
        prepared.push({ schedules, releases: yield* releasesFor(schedules, tasks, at) })
        if (schedules.length < options.scheduleBatchSize) break
      }
      return prepared
    })

  /** The prepared schedules as stored now, those still leased here split by whether they changed meanwhile. */
  const recheck = ({ schedules }: Prepared) =>
    Effect.map(store.getSchedules(schedules.map((schedule) => schedule.id)), (stored) => {
      const current = new Map(stored.map((schedule) => [schedule.id, schedule]))
      const unchanged: Array<number> = []
      const changed: Array<Schedule> = []
      schedules.forEach((leased, i) => {
        const now = current.get(leased.id)
        // Stores hand out the object they hold, so an unchanged schedule is the very one leased.
        if (now === leased) unchanged.push(i)
        else if (now?.acquiredBy === options.id) changed.push(now)
      })
      return { unchanged, changed }
    })

  /**
   * Releases a prepared batch at its fire time. A schedule changed since it was
   * leased (paused, edited) gets its release built afresh; one removed, or
   * processed early and no longer leased here, is left out.
   */
  const commit = (batch: Prepared) =>
    Effect.gen(function*() {
      const { changed, unchanged } = yield* recheck(batch)
      const releases = unchanged.map((i) => batch.releases[i]!)
      if (changed.length > 0) {
        const now = new Date(yield* Clock.currentTimeMillis)
        const tasks = yield* tasksById(store, changed.map((schedule) => schedule.taskId))
        releases.push(...(yield* releasesFor(changed, tasks, now)))
      }
      yield* store.releaseSchedules(options.id, releases)
      if (releases.some((release) => release.jobs.length > 0)) jobsAdded()
    })

  /** Gives the prepared schedules still leased here back as they are stored now. */
  const giveBack = (prepared: ReadonlyArray<Prepared>) =>
    Effect.forEach(prepared, (batch) =>
      Effect.flatMap(recheck(batch), ({ changed, unchanged }) =>
        store.releaseSchedules(options.id, [
          ...unchanged.map((i) => ({ schedule: batch.schedules[i]!, jobs: [] })),
          ...changed.map((schedule) => ({ schedule, jobs: [] }))
        ])), { discard: true })

  /** Waits for `target`, processing the schedules that fall due before it (added meanwhile). */
  const waitFor = (target: number) =>
    Effect.gen(function*() {
      let wakeAt = target
      while (true) {
        yield* wakeUp.sleepUntil(wakeAt)
        if ((yield* Clock.currentTimeMillis) >= target) return
        yield* drainDue
        // The prepared schedules count at their lease's end here, so this is the next of the others.
        const next = Option.match(yield* store.getNextScheduleRunTime(), {
          onNone: () => target,
          onSome: (at) => at.getTime()
        })
        wakeAt = next > (yield* Clock.currentTimeMillis) ? Math.min(target, next) : target
      }
    })

  return (target: number): Effect.Effect<void> =>
    Effect.uninterruptibleMask((restore) =>
      Effect.gen(function*() {
        const prepared = yield* prepare(target)
        // Nothing free is due then (another scheduler took it): wait as without preparing.
        if (prepared.length === 0) return yield* restore(wakeUp.sleepUntil(target))
        const waited = yield* Effect.exit(restore(waitFor(target)))
        if (Exit.isFailure(waited)) {
          yield* giveBack(prepared)
          return yield* waited
        }
        for (const batch of prepared) {
          yield* commit(batch)
          yield* Effect.yieldNow()
        }
      })
    )
}

export const scheduleLoop = (deps: ScheduleLoopDeps): Effect.Effect<never> => {
  const { options, store, wakeUp } = deps
  // A due schedule we could not acquire is leased by another scheduler: it either releases it
  // (its ScheduleUpdated wakes us) or dies; look again after a second at most.
  const contendedRecheckMs = Math.min(1000, Duration.toMillis(options.leaseDuration))
  const processBatch = processDueSchedules(deps)
  const drainDue: Effect.Effect<void> = Effect.gen(function*() {
    // Between full batches the job loop gets to start the batch's jobs.
    while ((yield* processBatch) === options.scheduleBatchSize) yield* Effect.yieldNow()
  })
  const fireAt = store.acquireSchedulesDueBy === undefined
    ? undefined
    : fireAhead(deps, store.acquireSchedulesDueBy, drainDue)
  return Effect.gen(function*() {
    while (true) {
      const lookedAtMs = yield* Clock.currentTimeMillis
      const processed = yield* processBatch
      if (processed === options.scheduleBatchSize) {
        // More are due: let the job loop start this batch's jobs before taking the next.
        yield* Effect.yieldNow()
        continue
      }
      const next = yield* store.getNextScheduleRunTime()
      const nowMs = yield* Clock.currentTimeMillis
      const target = Option.match(next, { onNone: () => Number.POSITIVE_INFINITY, onSome: (at) => at.getTime() })
      if (target <= nowMs) {
        // Processed some, or it fell due after the batch looked: take it now. Else another scheduler holds it.
        if (processed > 0 || target > lookedAtMs) continue
        yield* wakeUp.sleepUntil(nowMs + contendedRecheckMs)
      } else if (fireAt === undefined || target - nowMs < prepareMinAheadMs) {
        yield* wakeUp.sleepUntil(target)
      } else if (target - nowMs > prepareLeadMs) {
        yield* wakeUp.sleepUntil(target - prepareLeadMs)
      } else {
        yield* fireAt(target)
      }
    }
  })
}
