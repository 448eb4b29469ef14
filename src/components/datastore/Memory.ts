/**
 * The `memory` DataStore: everything in process memory, indexed for the
 * scheduler's hot paths (see memory/ScheduleTable.ts and memory/JobTable.ts).
 *
 * Each operation reads the time once through Clock, changes the tables
 * synchronously (so it is atomic with respect to other fibers), then publishes
 * the events describing the change. Operations are uninterruptible so a change
 * is never left without its events.
 */
import { Clock, Duration, Effect, Either, Layer, Option, Random } from "effect"
import type { ConflictPolicy } from "../../domain/Coalesce.js"
import { ConflictingId, JobNotFound, ScheduleNotFound, TaskNotFound } from "../../domain/errors.js"
import {
  JobReleased,
  ScheduleAdded,
  ScheduleRemoved,
  ScheduleUpdated,
  type SchedulerEvent,
  TaskAdded,
  TaskRemoved,
  TaskUpdated
} from "../../domain/events.js"
import type { JobId, ScheduleId, SchedulerId, TaskId } from "../../domain/ids.js"
import type { Job } from "../../domain/Job.js"
import { JobError, type JobOutcome, JobResult } from "../../domain/JobResult.js"
import type { Schedule } from "../../domain/Schedule.js"
import { hasAttemptsLeft, RetryPolicy, retryDelayMs, type Task } from "../../domain/Task.js"
import {
  type CancelJobOutcome,
  cancelledResult,
  DataStore,
  type DataStoreShape,
  type JobRelease,
  type ScheduleRelease
} from "../../services/DataStore.js"
import { EventBroker } from "../../services/EventBroker.js"
import { JobTable, type LeaseSnapshot } from "./memory/JobTable.js"
import { Results } from "./memory/Results.js"
import { ScheduleTable } from "./memory/ScheduleTable.js"
import { instanceOf, withFields } from "../../domain/instances.js"
import { jobAcquired, jobAdded } from "./jobEvents.js"

/** The error recorded for a job whose scheduler stopped holding it mid-run. */
export const abandonedErrorTag = "JobAbandoned"

const defaultRetryPolicy = RetryPolicy.make({})

interface AttemptEnd {
  readonly outcome: JobOutcome
  readonly startedAt: Date | null
  readonly finishedAt: Date
  readonly error: JobError | null
}

// Events are built with instanceOf (see domain/instances.ts): the store makes
// two or three per job, from fields that come from validated models.

const jobReleased = (job: Job, schedulerId: SchedulerId, end: AttemptEnd, willRetry: boolean): JobReleased =>
  instanceOf(JobReleased, {
    _tag: "JobReleased",
    timestamp: end.finishedAt,
    jobId: job.id,
    taskId: job.taskId,
    scheduleId: job.scheduleId,
    schedulerId,
    attempt: job.attempt,
    outcome: end.outcome,
    willRetry,
    scheduledFireTime: job.scheduledFireTime,
    startedAt: end.startedAt,
    finishedAt: end.finishedAt,
    error: end.error
  })

const scheduleChanged = (Event: typeof ScheduleAdded | typeof ScheduleUpdated, schedule: Schedule, now: number) =>
  instanceOf<ScheduleAdded | ScheduleUpdated>(Event, {
    _tag: Event === ScheduleAdded ? "ScheduleAdded" : "ScheduleUpdated",
    timestamp: new Date(now),
    scheduleId: schedule.id,
    taskId: schedule.taskId,
    nextFireTime: schedule.nextFireTime
  })

const scheduleRemoved = (schedule: Schedule, now: number, finished: boolean): ScheduleRemoved =>
  instanceOf(ScheduleRemoved, {
    _tag: "ScheduleRemoved",
    timestamp: new Date(now),
    scheduleId: schedule.id,
    taskId: schedule.taskId,
    finished
  })

const taskEvent = (Event: typeof TaskAdded | typeof TaskUpdated | typeof TaskRemoved, taskId: TaskId, now: number) =>
  new Event({ timestamp: new Date(now), taskId }, true)

/** The final result of a job that ended without running to completion. */
const resultOf = (job: Job, end: AttemptEnd): JobResult =>
  instanceOf(JobResult, {
    jobId: job.id,
    taskId: job.taskId,
    outcome: end.outcome,
    attempt: job.attempt,
    startedAt: end.startedAt,
    finishedAt: end.finishedAt,
    expiresAt: new Date(end.finishedAt.getTime() + job.resultExpirationTime * 1000),
    error: end.error,
    returnValue: null
  })

export const make: Effect.Effect<DataStoreShape, never, EventBroker> = Effect.gen(function* () {
  const broker = yield* EventBroker
  const tasks = new Map<TaskId, Task>()
  const schedules = new ScheduleTable()
  const jobs = new JobTable((taskId) => tasks.get(taskId)?.maxRunningJobs ?? null)
  const results = new Results()

  /** Runs a synchronous change at the current time, then publishes the events it produced. */
  const change = <A>(f: (now: number, events: Array<SchedulerEvent>) => A): Effect.Effect<A> =>
    Effect.uninterruptible(
      Effect.clockWith((clock) => {
        const events: Array<SchedulerEvent> = []
        const value = f(clock.unsafeCurrentTimeMillis(), events)
        if (events.length === 0) return Effect.succeed(value)
        return Effect.as(events.length === 1 ? broker.publish(events[0]!) : broker.publishAll(events), value)
      })
    )

  /** Dies before changing anything if a job id is already stored or repeated (ids are UUIDs: this is a bug). */
  const assertNewJobId = (id: JobId): void => {
    if (jobs.has(id)) throw new Error(`job id '${id}' is already stored`)
  }
  const assertNewJobIds = (added: ReadonlyArray<Job>): void => {
    const seen = new Set<JobId>()
    for (const job of added) {
      assertNewJobId(job.id)
      if (seen.has(job.id)) throw new Error(`job id '${job.id}' is repeated`)
      seen.add(job.id)
    }
  }

  /** Adds the jobs, or dies having added none if an id is already stored or repeated; one lookup per job. */
  const addNewJobs = (added: ReadonlyArray<Job>, now: number): void => {
    added.forEach((job, index) => {
      if (jobs.has(job.id)) {
        for (const earlier of added.slice(0, index)) jobs.remove(jobs.entry(earlier.id)!)
        throw new Error(`job id '${job.id}' is already stored or repeated`)
      }
      jobs.add(job, now)
    })
  }

  const noJobs: Effect.Effect<ReadonlyArray<Job>> = Effect.succeed([])

  /**
   * Ends the attempt of jobs whose scheduler no longer runs them: each is
   * retried per its task's policy or finished as abandoned. Snapshots that
   * changed since they were taken (released, extended) are left alone.
   */
  const reap = (snapshots: ReadonlyArray<LeaseSnapshot>, reason: (job: Job) => string) =>
    snapshots.length === 0
      ? noJobs
      : Effect.flatMap(Effect.replicateEffect(Random.next, snapshots.length), (randoms) =>
          change((now, events) => {
            const reaped: Array<Job> = []
            snapshots.forEach((snapshot, index) => {
              if (!jobs.isUnchanged(snapshot)) return
              const { entry } = snapshot
              const job = entry.job
              const policy = tasks.get(job.taskId)?.retry ?? defaultRetryPolicy
              const end: AttemptEnd = {
                outcome: "abandoned",
                startedAt: job.startedAt,
                finishedAt: new Date(now),
                error: new JobError({ tag: abandonedErrorTag, message: reason(job) }, true)
              }
              const willRetry = hasAttemptsLeft(policy, job.attempt)
              if (willRetry) {
                const availableAt = new Date(now + retryDelayMs(policy, job.attempt, randoms[index]!))
                jobs.retry(entry, availableAt, now)
              } else {
                jobs.finish(entry)
                results.put(resultOf(job, end), now)
              }
              events.push(jobReleased(job, job.acquiredBy!, end, willRetry))
              reaped.push(job)
            })
            return reaped
          })
        )

  /** Reaps the jobs whose lease ran out (their scheduler died); costs one heap peek when there are none. */
  const reapExpiredJobLeases = Effect.clockWith((clock) =>
    reap(
      jobs.expiredLeases(clock.unsafeCurrentTimeMillis()),
      (job) => `the lease of scheduler '${job.acquiredBy}' expired while the job ran`
    )
  )

  const store: DataStoreShape = {
    addTask: (task) =>
      change((now, events) => {
        const existed = tasks.has(task.id)
        tasks.set(task.id, task)
        jobs.refreshTask(task.id)
        events.push(taskEvent(existed ? TaskUpdated : TaskAdded, task.id, now))
      }),

    removeTask: (id) =>
      Effect.flatMap(
        change((now, events) => {
          if (!tasks.delete(id)) return false
          jobs.refreshTask(id)
          events.push(taskEvent(TaskRemoved, id, now))
          return true
        }),
        (removed) => (removed ? Effect.void : Effect.fail(new TaskNotFound({ taskId: id })))
      ),

    getTask: (id) =>
      Effect.suspend(() => {
        const task = tasks.get(id)
        return task === undefined ? Effect.fail(new TaskNotFound({ taskId: id })) : Effect.succeed(task)
      }),

    getTasks: () => Effect.sync(() => Array.from(tasks.values()).sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))),

    addSchedule: (schedule: Schedule, conflictPolicy: ConflictPolicy) =>
      Effect.flatten(
        change((now, events): Either.Either<void, ConflictingId> => {
          const exists = schedules.has(schedule.id)
          if (exists && conflictPolicy === "exception")
            return Either.left(new ConflictingId({ kind: "schedule", id: schedule.id }))
          if (exists && conflictPolicy === "do_nothing") return Either.void
          schedules.put(schedule, now)
          events.push(scheduleChanged(exists ? ScheduleUpdated : ScheduleAdded, schedule, now))
          return Either.void
        })
      ),

    getSchedules: (ids) =>
      Effect.sync(() => {
        const found =
          ids === undefined
            ? schedules.all()
            : Array.from(new Set(ids), (id) => schedules.get(id)).filter((s): s is Schedule => s !== undefined)
        return found.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
      }),

    getSchedule: (id) =>
      Effect.suspend(() => {
        const schedule = schedules.get(id)
        return schedule === undefined ? Effect.fail(new ScheduleNotFound({ scheduleId: id })) : Effect.succeed(schedule)
      }),

    updateSchedule: (id, f) =>
      Effect.flatten(
        change((now, events): Either.Either<Schedule, ScheduleNotFound> => {
          const stored = schedules.get(id)
          if (stored === undefined) return Either.left(new ScheduleNotFound({ scheduleId: id }))
          const updated = withFields(f(stored), {
            id: stored.id,
            acquiredBy: stored.acquiredBy,
            acquiredUntil: stored.acquiredUntil
          })
          schedules.put(updated, now)
          events.push(scheduleChanged(ScheduleUpdated, updated, now))
          return Either.right(updated)
        })
      ),

    removeSchedules: (ids) =>
      change((now, events) => {
        const removed: Array<ScheduleId> = []
        for (const id of new Set(ids)) {
          const schedule = schedules.delete(id)
          if (schedule === undefined) continue
          removed.push(id)
          events.push(scheduleRemoved(schedule, now, false))
        }
        return removed
      }),

    acquireSchedules: (schedulerId, leaseDuration, limit) =>
      change((now) => schedules.acquire(schedulerId, now, Duration.toMillis(leaseDuration), limit)),

    acquireSchedulesDueBy: (schedulerId, leaseDuration, limit, dueBy) =>
      change((now) => schedules.acquire(schedulerId, now, Duration.toMillis(leaseDuration), limit, dueBy.getTime())),

    releaseSchedules: (schedulerId, releases: ReadonlyArray<ScheduleRelease>) =>
      change((now, events) => {
        // A release from a scheduler that lost the lease is dropped with its jobs.
        const held = releases.filter((release) => schedules.get(release.schedule.id)?.acquiredBy === schedulerId)
        assertNewJobIds(held.flatMap((release) => release.jobs))
        const timestamp = new Date(now)
        for (const { schedule, jobs: added } of held) {
          const stored = schedules.get(schedule.id)!
          if (schedule.nextFireTime === null) {
            schedules.delete(schedule.id)
            events.push(scheduleRemoved(stored, now, true))
          } else {
            // Only what processing changes is taken from the release; a pause
            // or edit made while the schedule was leased is kept.
            const released = withFields(stored, {
              trigger: schedule.trigger,
              nextFireTime: schedule.nextFireTime,
              lastFireTime: schedule.lastFireTime,
              acquiredBy: null,
              acquiredUntil: null
            })
            schedules.put(released, now)
            events.push(scheduleChanged(ScheduleUpdated, released, now))
          }
          for (const job of added) {
            jobs.add(job, now)
            events.push(jobAdded(job, timestamp))
          }
        }
      }),

    getNextScheduleRunTime: () =>
      Effect.map(Clock.currentTimeMillis, (now) =>
        Option.map(Option.fromNullable(schedules.nextRunTime(now)), (millis) => new Date(millis))
      ),

    extendScheduleLeases: (schedulerId, ids, leaseDuration) =>
      change((now) => schedules.extendLeases(schedulerId, ids, now, Duration.toMillis(leaseDuration))),

    addJob: (job) =>
      change((now, events) => {
        assertNewJobId(job.id)
        jobs.add(job, now)
        events.push(jobAdded(job, new Date(now)))
      }),

    addJobs: (added) =>
      change((now, events) => {
        addNewJobs(added, now)
        const timestamp = new Date(now)
        for (const job of added) events.push(jobAdded(job, timestamp))
      }),

    getJobs: (ids) => Effect.sync(() => jobs.list(ids)),

    acquireJobs: (schedulerId, leaseDuration, limit) =>
      Effect.zipRight(
        reapExpiredJobLeases,
        change((now, events) => {
          const { acquired, missed } = jobs.acquire(schedulerId, now, Duration.toMillis(leaseDuration), limit)
          const timestamp = new Date(now)
          for (const job of missed) {
            const end: AttemptEnd = { outcome: "missed_start_deadline", startedAt: null, finishedAt: timestamp, error: null }
            results.put(resultOf(job, end), now)
            events.push(jobReleased(job, schedulerId, end, false))
          }
          for (const job of acquired) events.push(jobAcquired(job, schedulerId, timestamp))
          return acquired
        })
      ),

    releaseJobs: (schedulerId, releases: ReadonlyArray<JobRelease>) =>
      change((now, events) => {
        for (const release of releases) {
          // Dropped when the job is no longer this scheduler's (its lease was reaped or taken over).
          const entry = jobs.heldBy(schedulerId, release.job.id)
          if (entry === undefined) continue
          const job = entry.job
          const { result } = release
          if (release._tag === "Finished") {
            jobs.finish(entry)
            results.put(result, now)
          } else {
            jobs.retry(entry, release.availableAt, now)
          }
          events.push(jobReleased(job, schedulerId, result, release._tag === "Retry"))
        }
      }),

    extendJobLeases: (schedulerId, ids, leaseDuration) =>
      change((now) => jobs.extendLeases(schedulerId, ids, now, Duration.toMillis(leaseDuration))),

    getNextJobAvailableTime: () =>
      Effect.sync(() => Option.map(Option.fromNullable(jobs.nextAvailableTime()), (millis) => new Date(millis))),

    cancelJob: (schedulerId, id, reason) =>
      Effect.flatten(
        change((now, events): Either.Either<CancelJobOutcome, JobNotFound> => {
          const entry = jobs.entry(id)
          if (entry === undefined) {
            const result = results.get(id, now)
            return result === undefined
              ? Either.left(new JobNotFound({ jobId: id }))
              : Either.right({ _tag: "AlreadyFinished", result })
          }
          const job = entry.job
          if (entry.leased) return Either.right({ _tag: "Running", job, schedulerId: job.acquiredBy! })
          jobs.remove(entry)
          const result = cancelledResult(job, null, now, reason)
          results.put(result, now)
          events.push(jobReleased(job, schedulerId, result, false))
          return Either.right({ _tag: "Cancelled", job, result })
        })
      ),

    getJobResult: (id) => Effect.map(Clock.currentTimeMillis, (now) => Option.fromNullable(results.get(id, now))),

    reapAbandonedJobs: (schedulerId) =>
      Effect.suspend(() =>
        reap(jobs.leasedTo(schedulerId), () => `scheduler '${schedulerId}' restarted while the job ran`)
      ),

    cleanup: () =>
      Effect.zipRight(
        reapExpiredJobLeases,
        change((now, events) => {
          results.purge(now)
          for (const schedule of schedules.finished(now)) {
            schedules.delete(schedule.id)
            events.push(scheduleRemoved(schedule, now, true))
          }
        })
      )
  }
  return store
})

export const layer: Layer.Layer<DataStore, never, EventBroker> = Layer.effect(DataStore, make)
