/**
 * The schedule loop: leases due schedules in batches, turns their due fire
 * times into jobs and hands schedules and jobs back to the store in one
 * release; then sleeps until the next fire time, or until an event says a
 * schedule became due sooner. With a store that can, it leases the schedules
 * of the next fire times (a window of prepareWindowMs) and builds their jobs
 * shortly before them, so that at each fire time a look at what changed and
 * the release are left (see fireAhead).
 */
import { Clock, Duration, Effect, Exit, Option, Schema } from "effect"
import type { TaskId } from "../../domain/ids.js"
import { Schedule as ScheduleSchema, type Schedule } from "../../domain/Schedule.js"
import { withFields } from "../../domain/instances.js"
import type { Job } from "../../domain/Job.js"
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

/** One batch of due schedules processed. */
export interface Processed {
  /** How many were acquired. */
  readonly count: number
  /** When the batch looked (epoch ms). */
  readonly lookedAtMs: number
  /** The fire times of the batch, first and last (epoch ms; 0 when it was empty). */
  readonly firstFireMs: number
  readonly lastFireMs: number
}

/**
 * Processes one batch of due schedules. Uninterruptible so that a stop never leaves
 * schedules leased.
 */
export const processDueSchedules = (
  { jobsAdded, options, store }: Omit<ScheduleLoopDeps, "wakeUp">
): Effect.Effect<Processed> =>
  Effect.uninterruptible(Effect.gen(function*() {
    const lookedAtMs = yield* Clock.currentTimeMillis
    const schedules = yield* store.acquireSchedules(options.id, options.leaseDuration, options.scheduleBatchSize)
    if (schedules.length === 0) return { count: 0, lookedAtMs, firstFireMs: 0, lastFireMs: 0 }
    let firstFireMs = Number.POSITIVE_INFINITY
    let lastFireMs = Number.NEGATIVE_INFINITY
    for (const schedule of schedules) {
      // Acquired as due: each has a next fire time.
      const at = schedule.nextFireTime!.getTime()
      if (at < firstFireMs) firstFireMs = at
      if (at > lastFireMs) lastFireMs = at
    }
    const now = new Date(yield* Clock.currentTimeMillis)
    const tasks = yield* tasksById(store, schedules.map((schedule) => schedule.taskId))
    const releases = yield* releasesFor(schedules, tasks, now)
    yield* store.releaseSchedules(options.id, releases)
    if (releases.some((release) => release.jobs.length > 0)) jobsAdded()
    return { count: schedules.length, lookedAtMs, firstFireMs, lastFireMs }
  }))

/**
 * Whether the batch is part of a stream of fire times: spread over a span (1,000
 * schedules a second fire one a millisecond), at a rate that had another one due
 * while the batch was processed. Fire times all at one instant (a burst) or far
 * apart say nothing of what follows.
 */
export const streaming = (processed: Processed, nowMs: number): boolean => {
  const spanMs = processed.lastFireMs - processed.firstFireMs
  return processed.count > 1 && spanMs > 0 && ((processed.count - 1) * (nowMs - processed.lookedAtMs)) / spanMs >= 1
}

/**
 * How long before a fire time the loop leases the schedules due then and builds
 * their jobs, with a store that can (DataStore.acquireSchedulesDueBy): at the
 * fire time only the store's release is left. It covers that preparation for a
 * burst of thousands on a busy machine; a change to a schedule meanwhile is
 * caught at the fire time.
 */
export const prepareLeadMs = 100

/**
 * The fire times one preparation takes, from its first: those of the next
 * `prepareWindowMs` are leased in the same store call. Fire times a millisecond
 * apart (1,000 schedules a second) then cost one lease for the window and, at
 * each fire time, a look at what changed and the release; several schedulers
 * each take a window in turn instead of all contending for every fire time.
 */
export const prepareWindowMs = 30

/** Schedules leased ahead of their fire time, with the releases built for them then. */
interface Prepared {
  /** Their fire time (epoch ms). */
  readonly at: number
  readonly schedules: ReadonlyArray<Schedule>
  readonly releases: ReadonlyArray<ScheduleRelease>
}

const encodeSchedule = Schema.encodeSync(ScheduleSchema)

/**
 * The releases with their jobs due after `nowMs` available from their fire time on: released
 * ahead of it (DataStore.releaseAheadMs), a job must not start before it.
 */
const availableAtFireTimes = (releases: ReadonlyArray<ScheduleRelease>, nowMs: number): Array<ScheduleRelease> => {
  const early = (job: Job) => job.availableAt === null && job.scheduledFireTime!.getTime() > nowMs
  return releases.map((release) =>
    release.jobs.some(early)
      ? {
        schedule: release.schedule,
        jobs: release.jobs.map((job) => (early(job) ? withFields(job, { availableAt: job.scheduledFireTime }) : job))
      }
      : release
  )
}

/**
 * Whether the stored schedule is the one leased, unchanged. Stores that hand out
 * the object they hold (memory) give the very one; others read a new object each
 * time, compared by value.
 */
const unchanged = (stored: Schedule, leased: Schedule): boolean =>
  stored === leased || JSON.stringify(encodeSchedule(stored)) === JSON.stringify(encodeSchedule(leased))

/**
 * Fires the schedules due from `target` (epoch ms, at most prepareLeadMs away) to
 * prepareWindowMs after it: leases them and builds their releases now, then, fire
 * time by fire time, waits for it (processing whatever falls due before it) and
 * releases the schedules due by then, letting the job loop start each batch's jobs
 * before the next. Interrupted, it gives the schedules not released yet back
 * unchanged.
 */
const fireAhead = (
  { jobsAdded, options, store, wakeUp }: ScheduleLoopDeps,
  acquireDueBy: NonNullable<DataStoreShape["acquireSchedulesDueBy"]>,
  drainDue: Effect.Effect<void>
) => {
  const paceMs = store.streamPaceMs ?? 0
  const aheadMs = store.releaseAheadMs ?? 0
  const prepare = (target: number) =>
    Effect.gen(function*() {
      const dueBy = new Date(target + prepareWindowMs)
      const leased: Array<Schedule> = []
      while (true) {
        const schedules = yield* acquireDueBy(options.id, options.leaseDuration, options.scheduleBatchSize, dueBy)
        leased.push(...schedules)
        if (schedules.length < options.scheduleBatchSize) break
      }
      if (leased.length === 0) return []
      const tasks = yield* tasksById(store, leased.map((schedule) => schedule.taskId))
      const byFireTime = new Map<number, Array<Schedule>>()
      for (const schedule of leased) {
        // Leased as due by `dueBy`: each has a next fire time.
        const at = schedule.nextFireTime!.getTime()
        const group = byFireTime.get(at)
        if (group === undefined) byFireTime.set(at, [schedule])
        else group.push(schedule)
      }
      const prepared: Array<Prepared> = []
      for (const at of [...byFireTime.keys()].sort((x, y) => x - y)) {
        const schedules = byFireTime.get(at)!
        for (let i = 0; i < schedules.length; i += options.scheduleBatchSize) {
          const batch = schedules.slice(i, i + options.scheduleBatchSize)
          prepared.push({ at, schedules: batch, releases: yield* releasesFor(batch, tasks, new Date(at)) })
        }
      }
      return prepared
    })

  /** The prepared schedules as stored now, those still leased here split by whether they changed meanwhile. */
  const recheck = (schedules: ReadonlyArray<Schedule>) =>
    Effect.map(store.getSchedules(schedules.map((schedule) => schedule.id)), (stored) => {
      const current = new Map(stored.map((schedule) => [schedule.id, schedule]))
      const same: Array<number> = []
      const changed: Array<Schedule> = []
      schedules.forEach((leased, i) => {
        const now = current.get(leased.id)
        if (now === undefined) return
        if (unchanged(now, leased)) same.push(i)
        else if (now.acquiredBy === options.id) changed.push(now)
      })
      return { unchanged: same, changed }
    })

  /**
   * Releases prepared batches at their fire time, in one store call. A schedule changed
   * since it was leased (paused, edited) gets its release built afresh; one removed, or
   * processed early and no longer leased here, is left out. A store that can release
   * them only if unchanged (DataStore.releaseLeasedSchedules) does so first, and only
   * what it left is read back.
   */
  const commit = (batches: ReadonlyArray<Prepared>, nowMs: number) =>
    Effect.gen(function*() {
      let schedules = batches.flatMap((batch) => batch.schedules)
      let built = batches.flatMap((batch) => batch.releases)
      if (aheadMs > 0) built = availableAtFireTimes(built, nowMs)
      const releasedJobs = (releases: ReadonlyArray<ScheduleRelease>) => releases.some((release) => release.jobs.length > 0)
      if (store.releaseLeasedSchedules !== undefined) {
        const left = yield* store.releaseLeasedSchedules(options.id, built, schedules)
        const leftSet = new Set(left)
        if (releasedJobs(built.filter((_, i) => !leftSet.has(i)))) jobsAdded()
        if (left.length === 0) return
        schedules = left.map((i) => schedules[i]!)
        built = left.map((i) => built[i]!)
      }
      const { changed, unchanged: same } = yield* recheck(schedules)
      const releases = same.map((i) => built[i]!)
      if (changed.length > 0) {
        const now = new Date(yield* Clock.currentTimeMillis)
        const tasks = yield* tasksById(store, changed.map((schedule) => schedule.taskId))
        releases.push(...(yield* releasesFor(changed, tasks, now)))
      }
      yield* store.releaseSchedules(options.id, releases)
      if (releasedJobs(releases)) jobsAdded()
    })

  /** Gives the prepared schedules still leased here back as they are stored now. */
  const giveBack = (prepared: ReadonlyArray<Prepared>) =>
    prepared.length === 0 ? Effect.void : Effect.flatMap(
      recheck(prepared.flatMap((batch) => batch.schedules)),
      ({ changed, unchanged: same }) => {
        const schedules = prepared.flatMap((batch) => batch.schedules)
        return store.releaseSchedules(options.id, [
          ...same.map((i) => ({ schedule: schedules[i]!, jobs: [] })),
          ...changed.map((schedule) => ({ schedule, jobs: [] }))
        ])
      }
    )

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
        let next = 0
        let committedAtMs = Number.NEGATIVE_INFINITY
        while (next < prepared.length) {
          // Fire times closer together than the store's pace are released together (DataStore.streamPaceMs),
          // up to the store's releaseAheadMs before the first.
          const waited = yield* Effect.exit(
            restore(waitFor(Math.max(prepared[next]!.at - aheadMs, committedAtMs + paceMs)))
          )
          if (Exit.isFailure(waited)) {
            yield* giveBack(prepared.slice(next))
            return yield* waited
          }
          // What else is due by now (and the store's releaseAheadMs) goes in the same release, up to a
          // batch (fire times a busy machine reached late together).
          const nowMs = yield* Clock.currentTimeMillis
          committedAtMs = nowMs
          let end = next + 1
          let size = prepared[next]!.schedules.length
          while (end < prepared.length && prepared[end]!.at <= nowMs + aheadMs) {
            size += prepared[end]!.schedules.length
            if (size > options.scheduleBatchSize) break
            end++
          }
          yield* commit(prepared.slice(next, end), nowMs)
          next = end
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
    while ((yield* processBatch).count === options.scheduleBatchSize) yield* Effect.yieldNow()
  })
  const fireAt = store.acquireSchedulesDueBy === undefined
    ? undefined
    : fireAhead(deps, store.acquireSchedulesDueBy, drainDue)
  const paceMs = store.streamPaceMs ?? 0
  /**
   * More are due after a batch: at the store's pace, or, where the loop can fire ahead, by
   * leasing what is due and the next window at once (fireAhead), which releases the overdue
   * fire times now and the window's ahead of their time. Taking due ones at the pace instead,
   * schedulers that fell behind a stream would each keep taking the few due every pace.
   */
  const catchUp = (processed: Processed) =>
    fireAt !== undefined
      ? Effect.flatMap(Clock.currentTimeMillis, fireAt)
      : paceMs > 0
      ? wakeUp.sleepUntil(processed.lookedAtMs + paceMs)
      : Effect.void
  return Effect.gen(function*() {
    while (true) {
      const processed = yield* processBatch
      if (processed.count === options.scheduleBatchSize) {
        // More are due: let the job loop start this batch's jobs before taking the next.
        yield* Effect.yieldNow()
        continue
      }
      if (paceMs > 0 && streaming(processed, yield* Clock.currentTimeMillis)) {
        // More are due by the next lease: asking the store for the next fire time would only say "now".
        yield* catchUp(processed)
        continue
      }
      const next = yield* store.getNextScheduleRunTime()
      const nowMs = yield* Clock.currentTimeMillis
      const target = Option.match(next, { onNone: () => Number.POSITIVE_INFINITY, onSome: (at) => at.getTime() })
      if (target <= nowMs) {
        // Processed some, or it fell due after the batch looked: take it (at the store's pace). Else
        // another scheduler holds it.
        if (processed.count > 0 || target > processed.lookedAtMs) {
          yield* catchUp(processed)
          continue
        }
        yield* wakeUp.sleepUntil(nowMs + contendedRecheckMs)
      } else if (fireAt === undefined) {
        yield* wakeUp.sleepUntil(target)
      } else if (target - nowMs > prepareLeadMs) {
        yield* wakeUp.sleepUntil(target - prepareLeadMs)
      } else {
        yield* fireAt(target)
      }
    }
  })
}
