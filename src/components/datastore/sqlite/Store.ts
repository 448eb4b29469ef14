/**
 * The DataStore on SQLite. Every change runs in one `BEGIN IMMEDIATE`
 * transaction (batched: acquiring or releasing N jobs is one transaction) and
 * publishes its events after the commit. Nothing inside a transaction waits on
 * anything but the database.
 */
import { SqlClient, SqlError } from "@effect/sql"
import { Clock, Duration, Effect, Option, ParseResult, Random } from "effect"
import type { ConflictPolicy } from "../../../domain/Coalesce.js"
import { ConflictingId, JobNotFound, ScheduleNotFound, TaskNotFound } from "../../../domain/errors.js"
import {
  JobAcquired,
  JobAdded,
  JobReleased,
  ScheduleAdded,
  ScheduleRemoved,
  ScheduleUpdated,
  type SchedulerEvent,
  TaskAdded,
  TaskRemoved,
  TaskUpdated
} from "../../../domain/events.js"
import type { JobId, ScheduleId, SchedulerId, TaskId } from "../../../domain/ids.js"
import { instanceOf } from "../../../domain/instances.js"
import { Job } from "../../../domain/Job.js"
import { JobError, JobResult } from "../../../domain/JobResult.js"
import { Schedule } from "../../../domain/Schedule.js"
import { hasAttemptsLeft, retryDelayMs, type Task } from "../../../domain/Task.js"
import {
  type CancelJobOutcome,
  cancelledResult,
  type DataStoreShape,
  type JobRelease,
  type ScheduleRelease
} from "../../../services/DataStore.js"
import { EventBroker } from "../../../services/EventBroker.js"
import { executionRecord } from "../../../services/ExecutionLog.js"
import { SqliteStoreOptions } from "./Client.js"
import { makeQueries } from "./queries.js"
import { jobColumns, jobRecord } from "./rows.js"
import { makeTaskCache } from "./taskCache.js"
import { makeImmediateTransaction, retryWhenBusy } from "./transaction.js"

/** One attempt being released: finished (retryAt null) or retried at `retryAt`. */
interface Settlement {
  readonly job: Job
  readonly result: JobResult
  readonly retryAt: Date | null
  readonly schedulerId: SchedulerId
}

type StorageError = SqlError.SqlError | ParseResult.ParseError

const isStorageError = (error: unknown): error is StorageError =>
  error instanceof SqlError.SqlError || ParseResult.isParseError(error)

/** Storage failures are not something a caller can handle: they become defects (logged with their cause). */
const orDieOnStorage = <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, Exclude<E, StorageError>, R> =>
  Effect.catchIf(effect, isStorageError, (error) => Effect.die(error)) as Effect.Effect<A, Exclude<E, StorageError>, R>

const unique = <A>(values: Iterable<A>): ReadonlyArray<A> => [...new Set(values)]

const taskIdColumn = jobColumns.indexOf("task_id")

// Events of the per-job paths, built without their Schema constructors (see domain/instances.ts).

const jobAdded = (job: Job, timestamp: Date): JobAdded =>
  instanceOf(JobAdded, { _tag: "JobAdded", timestamp, jobId: job.id, taskId: job.taskId, scheduleId: job.scheduleId })

const jobAcquired = (job: Job, schedulerId: SchedulerId, timestamp: Date): JobAcquired =>
  instanceOf(JobAcquired, {
    _tag: "JobAcquired",
    timestamp,
    jobId: job.id,
    taskId: job.taskId,
    scheduleId: job.scheduleId,
    schedulerId,
    attempt: job.attempt
  })

const jobReleased = ({ job, result, retryAt, schedulerId }: Settlement, timestamp: Date): JobReleased =>
  instanceOf(JobReleased, {
    _tag: "JobReleased",
    timestamp,
    jobId: job.id,
    taskId: job.taskId,
    scheduleId: job.scheduleId,
    schedulerId,
    attempt: result.attempt,
    outcome: result.outcome,
    willRetry: retryAt !== null,
    scheduledFireTime: job.scheduledFireTime,
    startedAt: result.startedAt,
    finishedAt: result.finishedAt,
    error: result.error
  })

export const make = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  const q = yield* makeQueries
  const broker = yield* EventBroker
  const options = yield* SqliteStoreOptions
  const immediate = makeImmediateTransaction(sql)
  const taskCache = makeTaskCache(sql)

  /** Runs `body` (retried when another process holds the lock too long), then publishes the events it returned. */
  const commitThenPublish = <A, E, R>(
    body: Effect.Effect<readonly [A, ReadonlyArray<SchedulerEvent>], E, R>
  ): Effect.Effect<A, Exclude<E, StorageError>, R> =>
    body.pipe(
      retryWhenBusy,
      orDieOnStorage,
      Effect.flatMap(([value, events]) =>
        events.length === 0 ? Effect.succeed(value) : Effect.as(broker.publishAll(events), value)
      )
    )

  /** Runs `body` in one write transaction; after the commit, publishes the events it returned. */
  const write = <A, E, R>(body: Effect.Effect<readonly [A, ReadonlyArray<SchedulerEvent>], E, R>) =>
    commitThenPublish(immediate(body))

  /**
   * For a change that is a single statement (atomic by itself): SQLite's
   * autocommit spares the BEGIN/COMMIT round trips. addJob is called once per
   * job, so this is most of its cost.
   */
  const writeStatement = commitThenPublish

  const read = <A, E, R>(effect: Effect.Effect<A, E, R>) => orDieOnStorage(retryWhenBusy(effect))

  /** The tasks of the jobs being settled or leased (decoded once, then from the cache). */
  const loadTasks = (taskIds: Iterable<TaskId>) => taskCache.getMany(unique(taskIds), q.getTasksByIds)

  /**
   * Records attempts: finished jobs are removed and their results kept, retried jobs wait
   * for their backoff; every attempt is logged. With `holder`, only jobs still leased to
   * it are settled (a late release of a job reaped or taken over is dropped).
   */
  const settle = (
    settlements: ReadonlyArray<Settlement>,
    tasks: ReadonlyMap<TaskId, Task>,
    now: Date,
    holder: SchedulerId | null = null
  ) =>
    Effect.gen(function* () {
      if (settlements.length === 0) return []
      const finished: Array<string> = []
      for (const s of settlements) if (s.retryAt === null) finished.push(s.job.id)
      const removed = yield* q.deleteJobs(finished, holder)
      const held = new Set<string>(removed)
      for (const s of settlements) {
        if (s.retryAt !== null && (yield* q.scheduleRetry(s.job, s.retryAt.getTime(), holder))) held.add(s.job.id)
      }
      const settled = held.size === settlements.length ? settlements : settlements.filter((s) => held.has(s.job.id))
      // A result with no lifetime (resultExpirationTime 0) is never readable, so it is not written.
      const kept: Array<JobResult> = []
      for (const s of settled) {
        if (s.retryAt === null && s.result.expiresAt.getTime() > s.result.finishedAt.getTime()) kept.push(s.result)
      }
      yield* q.putResults(kept)
      yield* q.insertExecutions(
        settled.map((s) =>
          executionRecord({
            job: s.job,
            result: s.result,
            task: tasks.get(s.job.taskId),
            schedulerId: s.schedulerId,
            willRetry: s.retryAt !== null
          })
        )
      )
      return settled.map((s) => jobReleased(s, now))
    })

  const finalResult = (job: Job, now: Date, fields: Pick<JobResult, "outcome" | "startedAt" | "error">) =>
    new JobResult({
      jobId: job.id,
      taskId: job.taskId,
      attempt: job.attempt,
      finishedAt: now,
      expiresAt: new Date(now.getTime() + job.resultExpirationTime * 1000),
      returnValue: null,
      ...fields
    })

  /** Jobs whose scheduler died mid-attempt: retried per their task's policy, else released as abandoned. */
  const abandon = (jobs: ReadonlyArray<Job>, now: Date) =>
    Effect.gen(function* () {
      const tasks = yield* loadTasks(jobs.map((job) => job.taskId))
      const settlements: Array<Settlement> = []
      for (const job of jobs) {
        const holder = job.acquiredBy ?? ("unknown" as SchedulerId)
        const result = finalResult(job, now, {
          outcome: "abandoned",
          startedAt: job.startedAt,
          error: new JobError({
            tag: "JobAbandoned",
            message: `scheduler '${holder}' stopped before attempt ${job.attempt} finished`
          })
        })
        const task = tasks.get(job.taskId)
        const retryAt =
          task !== undefined && hasAttemptsLeft(task.retry, job.attempt)
            ? new Date(now.getTime() + retryDelayMs(task.retry, job.attempt, yield* Random.next))
            : null
        settlements.push({ job, result, retryAt, schedulerId: holder })
      }
      return yield* settle(settlements, tasks, now)
    })

  const now = Effect.map(Clock.currentTimeMillis, (ms) => new Date(ms))

  // --- tasks

  const addTask = Effect.fn("SqliteDataStore.addTask")((task: Task) =>
    taskCache.invalidating(write(
      Effect.gen(function* () {
        const existed = Option.isSome(yield* q.getTask(task.id))
        yield* q.putTask(task)
        const timestamp = yield* now
        const event = existed
          ? new TaskUpdated({ timestamp, taskId: task.id }, true)
          : new TaskAdded({ timestamp, taskId: task.id }, true)
        return [undefined, [event]] as const
      })
    ))
  )

  const removeTask = Effect.fn("SqliteDataStore.removeTask")((id: TaskId) =>
    taskCache.invalidating(write(
      Effect.gen(function* () {
        if (!(yield* q.deleteTask(id))) return yield* new TaskNotFound({ taskId: id })
        return [undefined, [new TaskRemoved({ timestamp: yield* now, taskId: id }, true)]] as const
      })
    ))
  )

  // getTask and addJob run once per job added: plain functions, as a span each would be a measurable share of that cost.
  // The query is built lazily: building it validates the id (a Schema encode), wasted on a cache hit.
  const getTask = (id: TaskId) =>
    read(
      Effect.flatMap(
        taskCache.get(id, Effect.suspend(() => q.getTask(id))),
        Option.match({ onNone: () => new TaskNotFound({ taskId: id }), onSome: Effect.succeed })
      )
    )

  const getTasks = Effect.fn("SqliteDataStore.getTasks")(() => read(q.getTasks()))

  // --- schedules

  const scheduleEvent = (schedule: Schedule, timestamp: Date, existed: boolean) => {
    const fields = { timestamp, scheduleId: schedule.id, taskId: schedule.taskId, nextFireTime: schedule.nextFireTime }
    return existed ? new ScheduleUpdated(fields, true) : new ScheduleAdded(fields, true)
  }

  // Without replacing, adding is one INSERT that skips a taken id: atomic on its own, so no
  // transaction. Bulk loading adds schedules one call at a time: no span per call either.
  const addSchedule = (schedule: Schedule, conflictPolicy: ConflictPolicy) =>
    conflictPolicy === "replace"
      ? write(
          Effect.gen(function* () {
            const existed = yield* q.scheduleExists(schedule.id)
            yield* q.putSchedule(schedule)
            return [undefined, [scheduleEvent(schedule, yield* now, existed)]] as const
          })
        )
      : writeStatement(
          Effect.gen(function* () {
            if (yield* q.insertScheduleIfAbsent(schedule)) {
              return [undefined, [scheduleEvent(schedule, yield* now, false)]] as const
            }
            if (conflictPolicy === "exception") return yield* new ConflictingId({ kind: "schedule", id: schedule.id })
            return [undefined, []] as const
          })
        )

  const getSchedules = Effect.fn("SqliteDataStore.getSchedules")((ids?: ReadonlyArray<ScheduleId>) =>
    read(
      ids === undefined
        ? q.getAllSchedules()
        : Effect.map(q.getSchedulesByIds(unique(ids)), (schedules) =>
            [...schedules].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
          )
    )
  )

  const getSchedule = Effect.fn("SqliteDataStore.getSchedule")((id: ScheduleId) =>
    read(
      Effect.flatMap(
        q.getSchedule(id),
        Option.match({ onNone: () => new ScheduleNotFound({ scheduleId: id }), onSome: Effect.succeed })
      )
    )
  )

  const updateSchedule = Effect.fn("SqliteDataStore.updateSchedule")(
    (id: ScheduleId, f: (schedule: Schedule) => Schedule) =>
      write(
        Effect.gen(function* () {
          const stored = yield* q.getSchedule(id)
          if (Option.isNone(stored)) return yield* new ScheduleNotFound({ scheduleId: id })
          const { acquiredBy, acquiredUntil } = stored.value
          const updated = new Schedule({ ...f(stored.value), id, acquiredBy, acquiredUntil }, true)
          yield* q.putSchedule(updated)
          const event = new ScheduleUpdated({
            timestamp: yield* now,
            scheduleId: id,
            taskId: updated.taskId,
            nextFireTime: updated.nextFireTime
          }, true)
          return [updated, [event]] as const
        })
      )
  )

  const removeSchedules = Effect.fn("SqliteDataStore.removeSchedules")((ids: ReadonlyArray<ScheduleId>) =>
    write(
      Effect.gen(function* () {
        const removed = yield* q.deleteSchedules(unique(ids))
        const timestamp = yield* now
        const events = removed.map(
          (row) => new ScheduleRemoved({ timestamp, scheduleId: row.id, taskId: row.task_id, finished: false }, true)
        )
        return [removed.map((row) => row.id), events] as const
      })
    )
  )

  const acquireSchedules = Effect.fn("SqliteDataStore.acquireSchedules")(
    (schedulerId: SchedulerId, leaseDuration: Duration.Duration, limit: number) =>
      write(
        Effect.gen(function* () {
          const at = yield* Clock.currentTimeMillis
          const until = new Date(at + Duration.toMillis(leaseDuration))
          const due = limit > 0 ? yield* q.dueSchedules({ now: at, schedulerId, limit }) : []
          yield* q.leaseSchedules(
            due.map((s) => s.id),
            schedulerId,
            until.getTime()
          )
          const leased = due.map((s) => new Schedule({ ...s, acquiredBy: schedulerId, acquiredUntil: until }, true))
          return [leased, []] as const
        })
      )
  )

  const releaseSchedules = Effect.fn("SqliteDataStore.releaseSchedules")(
    (schedulerId: SchedulerId, releases: ReadonlyArray<ScheduleRelease>) =>
      write(
        Effect.gen(function* () {
          if (releases.length === 0) return [undefined, []] as const
          const held = new Set(
            (yield* q.schedulesHeldBy(
              releases.map((r) => r.schedule.id),
              schedulerId
            )).map((row) => row.id)
          )
          const timestamp = yield* now
          const events: Array<SchedulerEvent> = []
          const jobs: Array<Job> = []
          for (const { jobs: released, schedule } of releases) {
            if (!held.has(schedule.id)) continue
            const fields = { timestamp, scheduleId: schedule.id, taskId: schedule.taskId }
            if (schedule.nextFireTime === null) {
              yield* q.deleteSchedules([schedule.id])
              events.push(new ScheduleRemoved({ ...fields, finished: true }, true))
            } else {
              yield* q.advanceSchedule(schedule)
              events.push(new ScheduleUpdated({ ...fields, nextFireTime: schedule.nextFireTime }, true))
            }
            jobs.push(...released)
            for (const job of released) events.push(jobAdded(job, timestamp))
          }
          yield* q.insertJobs(jobs)
          return [undefined, events] as const
        })
      )
  )

  const getNextScheduleRunTime = Effect.fn("SqliteDataStore.getNextScheduleRunTime")(() =>
    read(Effect.map(Effect.flatMap(Clock.currentTimeMillis, q.nextScheduleRunTime), (ms) => Option.map(Option.fromNullable(ms), (t) => new Date(t))))
  )

  const extendScheduleLeases = Effect.fn("SqliteDataStore.extendScheduleLeases")(
    (schedulerId: SchedulerId, ids: ReadonlyArray<ScheduleId>, leaseDuration: Duration.Duration) =>
      write(
        Effect.gen(function* () {
          const until = (yield* Clock.currentTimeMillis) + Duration.toMillis(leaseDuration)
          yield* q.extendScheduleLeases(ids, schedulerId, until)
          return [undefined, []] as const
        })
      )
  )

  // --- jobs

  const addJob = (job: Job) =>
    writeStatement(
      Effect.gen(function* () {
        yield* q.insertJobs([job])
        return [undefined, [jobAdded(job, yield* now)]] as const
      })
    )

  const addJobs = (jobs: ReadonlyArray<Job>) =>
    write(
      Effect.gen(function* () {
        if (jobs.length === 0) return [undefined, []] as const
        yield* q.insertJobs(jobs)
        const timestamp = yield* now
        return [undefined, jobs.map((job) => jobAdded(job, timestamp))] as const
      })
    )

  const getJobs = Effect.fn("SqliteDataStore.getJobs")((ids?: ReadonlyArray<JobId>) =>
    read(ids === undefined ? q.getAllJobs() : q.getJobsByIds(unique(ids)))
  )

  /** A job row that no longer decodes: enough of it to report and remove it. */
  const undecodable = (values: ReadonlyArray<unknown>) => {
    const row = jobRecord(values)
    return new Job(
      {
        id: row.id as JobId,
        taskId: row.task_id as TaskId,
        scheduleId: row.schedule_id as ScheduleId | null,
        createdAt: new Date(row.created_at as number),
        attempt: row.attempt as number
      },
      true
    )
  }

  const acquireJobs = Effect.fn("SqliteDataStore.acquireJobs")(
    (schedulerId: SchedulerId, leaseDuration: Duration.Duration, limit: number) =>
      write(
        Effect.gen(function* () {
          const timestamp = yield* now
          const at = timestamp.getTime()
          const until = at + Duration.toMillis(leaseDuration)
          // A lapsed lease means its scheduler died mid-attempt: that attempt is over (abandoned, maybe
          // retried), never silently run a second time under the same attempt number.
          const events: Array<SchedulerEvent> = [...(yield* abandon(yield* q.jobsWithLapsedLeases(at), timestamp))]
          // Jobs holding a slot of their task: read once a candidate's task has a limit at all.
          let running: Map<string, number> | null = null
          const saturated = new Set<string>()
          const acquired: Array<Job> = []
          // Each round either leases jobs, removes missed ones, or finds another task full (excluded next
          // round), so the loop ends; a round that found fewer candidates than asked for was the last.
          while (acquired.length < limit) {
            const wanted = limit - acquired.length
            const candidates = yield* q.freeJobs(at, [...saturated], wanted)
            if (candidates.length === 0) break
            const taskIds = candidates.map((values) => values[taskIdColumn] as TaskId)
            const tasks = yield* loadTasks(taskIds)
            const maxOf = (taskId: string) => tasks.get(taskId as TaskId)?.maxRunningJobs ?? null
            if (running === null && taskIds.some((taskId) => maxOf(taskId) !== null)) {
              running = new Map((yield* q.runningCounts(at)).map((row) => [row.task_id, row.running] as const))
            }
            const isFull = (taskId: string) => {
              const max = maxOf(taskId)
              return max !== null && running !== null && (running.get(taskId) ?? 0) >= max
            }
            const leased: Array<Job> = []
            const missed: Array<Settlement> = []
            for (const values of candidates) {
              // Decoded as leased already: one Job instance per acquired job.
              const decoded = q.decodeJobValues(values, { acquiredBy: schedulerId, acquiredUntil: until, startedAt: at })
              if (decoded._tag === "Left") {
                const job = undecodable(values)
                const error = new JobError({
                  tag: "DeserializationFailed",
                  message: ParseResult.TreeFormatter.formatErrorSync(decoded.left).slice(0, 1000)
                })
                const result = finalResult(job, timestamp, { outcome: "deserialization_failed", startedAt: null, error })
                missed.push({ job, result, retryAt: null, schedulerId })
                continue
              }
              const job = decoded.right
              // The deadline bounds the first start only: a retry waits for its backoff, not the schedule.
              if (job.attempt === 1 && job.startDeadline !== null && job.startDeadline.getTime() < at) {
                const result = finalResult(job, timestamp, { outcome: "missed_start_deadline", startedAt: null, error: null })
                missed.push({ job, result, retryAt: null, schedulerId })
                continue
              }
              if (isFull(job.taskId)) {
                saturated.add(job.taskId)
                continue
              }
              if (running !== null) running.set(job.taskId, (running.get(job.taskId) ?? 0) + 1)
              if (isFull(job.taskId)) saturated.add(job.taskId)
              leased.push(job)
            }
            yield* q.leaseJobs(
              leased.map((job) => job.id),
              schedulerId,
              until,
              at
            )
            // Missed and undecodable jobs leave the table now, so the next round moves past them.
            for (const event of yield* settle(missed, tasks, timestamp)) events.push(event)
            for (const job of leased) acquired.push(job)
            const exhausted = candidates.length < wanted
            if (exhausted || (leased.length === 0 && missed.length === 0)) break
          }
          for (const job of acquired) events.push(jobAcquired(job, schedulerId, timestamp))
          return [acquired, events] as const
        })
      )
  )

  const releaseJobs = Effect.fn("SqliteDataStore.releaseJobs")(
    (schedulerId: SchedulerId, releases: ReadonlyArray<JobRelease>) =>
      write(
        Effect.gen(function* () {
          if (releases.length === 0) return [undefined, []] as const
          const settlements = releases.map(
            (release): Settlement => ({
              job: release.job,
              result: release.result,
              retryAt: release._tag === "Retry" ? release.availableAt : null,
              schedulerId
            })
          )
          const tasks = yield* loadTasks(settlements.map((s) => s.job.taskId))
          // A job this scheduler no longer holds was reaped or taken over: its late release is dropped.
          return [undefined, yield* settle(settlements, tasks, yield* now, schedulerId)] as const
        })
      )
  )

  const extendJobLeases = Effect.fn("SqliteDataStore.extendJobLeases")(
    (schedulerId: SchedulerId, ids: ReadonlyArray<JobId>, leaseDuration: Duration.Duration) =>
      write(
        Effect.gen(function* () {
          const until = (yield* Clock.currentTimeMillis) + Duration.toMillis(leaseDuration)
          yield* q.extendJobLeases(ids, schedulerId, until)
          return [undefined, []] as const
        })
      )
  )

  const getNextJobAvailableTime = Effect.fn("SqliteDataStore.getNextJobAvailableTime")(() =>
    read(Effect.map(q.nextJobAvailableTime(), (ms) => Option.map(Option.fromNullable(ms), (t) => new Date(t))))
  )

  const cancelled = (outcome: CancelJobOutcome, events: ReadonlyArray<SchedulerEvent> = []) => [outcome, events] as const

  const cancelJob = Effect.fn("SqliteDataStore.cancelJob")((schedulerId: SchedulerId, id: JobId, reason?: string) =>
    write(
      Effect.gen(function* () {
        const timestamp = yield* now
        const [job] = yield* q.getJobsByIds([id])
        if (job === undefined) {
          const kept = yield* q.getResult({ id, now: timestamp.getTime() })
          if (Option.isNone(kept)) return yield* new JobNotFound({ jobId: id })
          return cancelled({ _tag: "AlreadyFinished", result: kept.value })
        }
        // A leased job is its scheduler's to interrupt, even when the lease ran out (cleanup reaps it).
        if (job.acquiredBy !== null) return cancelled({ _tag: "Running", job, schedulerId: job.acquiredBy })
        const result = cancelledResult(job, null, timestamp.getTime(), reason)
        const tasks = yield* loadTasks([job.taskId])
        const events = yield* settle([{ job, result, retryAt: null, schedulerId }], tasks, timestamp)
        return cancelled({ _tag: "Cancelled", job, result }, events)
      })
    )
  )

  const getJobResult = Effect.fn("SqliteDataStore.getJobResult")((id: JobId) =>
    read(Effect.flatMap(Clock.currentTimeMillis, (at) => q.getResult({ id, now: at })))
  )

  // --- maintenance

  const reapAbandonedJobs = Effect.fn("SqliteDataStore.reapAbandonedJobs")((schedulerId: SchedulerId) =>
    write(
      Effect.gen(function* () {
        const jobs = yield* q.jobsOwnedBy(schedulerId)
        const events = yield* abandon(jobs, yield* now)
        return [jobs, events] as const
      })
    )
  )

  const cleanup = Effect.fn("SqliteDataStore.cleanup")(() =>
    write(
      Effect.gen(function* () {
        const timestamp = yield* now
        const at = timestamp.getTime()
        yield* q.deleteExpiredResults(at)
        const events: Array<SchedulerEvent> = [...(yield* abandon(yield* q.jobsWithLapsedLeases(at), timestamp))]
        for (const row of yield* q.deleteFinishedSchedules(at)) {
          events.push(new ScheduleRemoved({ timestamp, scheduleId: row.id, taskId: row.task_id, finished: true }, true))
        }
        yield* q.trimExecutionLog({
          maxRows: options.executionLogMaxRows,
          olderThan: options.executionLogMaxAgeMs === null ? null : at - options.executionLogMaxAgeMs
        })
        return [undefined, events] as const
      })
    )
  )

  const store: DataStoreShape = {
    addTask,
    removeTask,
    getTask,
    getTasks,
    addSchedule,
    getSchedules,
    getSchedule,
    updateSchedule,
    removeSchedules,
    acquireSchedules,
    releaseSchedules,
    getNextScheduleRunTime,
    extendScheduleLeases,
    addJob,
    addJobs,
    getJobs,
    acquireJobs,
    releaseJobs,
    extendJobLeases,
    getNextJobAvailableTime,
    cancelJob,
    getJobResult,
    reapAbandonedJobs,
    cleanup
  }
  return store
})
