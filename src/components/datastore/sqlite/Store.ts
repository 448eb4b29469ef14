/**
 * The DataStore on SQLite. Every change runs in one `BEGIN IMMEDIATE`
 * transaction (batched: acquiring or releasing N jobs is one transaction) and
 * publishes its events after the commit. Nothing inside a transaction waits on
 * anything but the database.
 */
import { SqlClient } from "@effect/sql"
import { Clock, Duration, Effect, Option } from "effect"
import type { ConflictPolicy } from "../../../domain/Coalesce.js"
import { ConflictingId, JobNotFound, ScheduleNotFound, TaskNotFound } from "../../../domain/errors.js"
import {
  ScheduleAdded,
  ScheduleRemoved,
  ScheduleUpdated,
  type SchedulerEvent,
  TaskAdded,
  TaskRemoved,
  TaskUpdated
} from "../../../domain/events.js"
import type { JobId, ScheduleId, SchedulerId, TaskId } from "../../../domain/ids.js"
import { Job } from "../../../domain/Job.js"
import { Schedule } from "../../../domain/Schedule.js"
import type { Task } from "../../../domain/Task.js"
import {
  type CancelJobOutcome,
  cancelledResult,
  type DataStoreShape,
  type JobRelease,
  type ScheduleRelease
} from "../../../services/DataStore.js"
import { EventBroker } from "../../../services/EventBroker.js"
import { jobAdded } from "../jobEvents.js"
import {
  acquireFreeJobs,
  type AcquireStatements,
  cleanupPass,
  makeCommitThenPublish,
  makeSettlement,
  releaseSettlements,
  scheduleReleaseWrites,
  unique,
  orDieOnStorage
} from "../sql/rules.js"
import { SqliteStoreOptions } from "./Client.js"
import { makeQueries } from "./queries.js"
import { jobColumns, jobRecord } from "./rows.js"
import { makeTaskCache } from "./taskCache.js"
import { makeImmediateTransaction, retryWhenBusy } from "./transaction.js"

const taskIdColumn = jobColumns.indexOf("task_id")

export const make = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  const q = yield* makeQueries
  const broker = yield* EventBroker
  const options = yield* SqliteStoreOptions
  const immediate = makeImmediateTransaction(sql)
  const taskCache = makeTaskCache(sql)

  const commitThenPublish = makeCommitThenPublish(broker, (_what, effect) => retryWhenBusy(effect))

  /** Runs `body` in one write transaction; after the commit, publishes the events it returned. */
  const write = <A, E, R>(body: Effect.Effect<readonly [A, ReadonlyArray<SchedulerEvent>], E, R>) =>
    commitThenPublish("write", immediate(body))

  /**
   * For a change that is a single statement (atomic by itself): SQLite's
   * autocommit spares the BEGIN/COMMIT round trips. addJob is called once per
   * job, so this is most of its cost.
   */
  const writeStatement = <A, E, R>(body: Effect.Effect<readonly [A, ReadonlyArray<SchedulerEvent>], E, R>) =>
    commitThenPublish("write", body)

  const read = <A, E, R>(effect: Effect.Effect<A, E, R>) => orDieOnStorage(retryWhenBusy(effect))

  /** The tasks of the jobs being settled or leased (decoded once, then from the cache). */
  const loadTasks = (taskIds: ReadonlyArray<TaskId>) => taskCache.getMany(unique(taskIds), q.getTasksByIds)

  const { abandon, settle } = makeSettlement({
    loadTasks,
    deleteJobs: q.deleteJobs,
    scheduleRetries: (retries, holder) =>
      Effect.map(
        Effect.forEach(retries, ({ availableAt, job }) =>
          Effect.map(q.scheduleRetry(job, availableAt, holder), (freed) => (freed ? [job.id] : []))
        ),
        (freed) => freed.flat()
      ),
    putResults: q.putResults,
    insertExecutions: q.insertExecutions
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
          const held = yield* q.schedulesHeldBy(
            releases.map((r) => r.schedule.id),
            schedulerId
          )
          const writes = scheduleReleaseWrites(releases, new Set(held.map((row) => row.id)), yield* now)
          yield* q.deleteSchedules(writes.finished)
          for (const schedule of writes.advanced) yield* q.advanceSchedule(schedule)
          yield* q.insertJobs(writes.jobs)
          return [undefined, writes.events] as const
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
          const reaped = yield* abandon(yield* q.jobsWithLapsedLeases(at), timestamp)
          // One writer at a time: jobs holding a slot are read once, when a candidate's task has a limit at all.
          let counted = false
          const statements: AcquireStatements<ReadonlyArray<unknown>> = {
            freeJobs: (excluded, wanted) => q.freeJobs(at, excluded, wanted),
            taskIdOf: (values) => values[taskIdColumn] as TaskId,
            countSlots: (taskIds, slots) =>
              Effect.gen(function* () {
                const tasks = yield* loadTasks(taskIds)
                for (const id of taskIds) slots.limits.set(id, tasks.get(id)?.maxRunningJobs ?? null)
                if (counted || !taskIds.some((id) => slots.limits.get(id) !== null)) return
                counted = true
                for (const row of yield* q.runningCounts(at)) slots.running.set(row.task_id, row.running)
              }),
            decode: (values) => q.decodeJobValues(values, { acquiredBy: schedulerId, acquiredUntil: until, startedAt: at }),
            undecodable,
            lease: (jobs) =>
              q.leaseJobs(
                jobs.map((job) => job.id),
                schedulerId,
                until,
                at
              )
          }
          const [acquired, events] = yield* acquireFreeJobs(statements, { abandon, settle }, schedulerId, timestamp, limit)
          return [acquired, [...reaped, ...events]] as const
        })
      )
  )

  const releaseJobs = Effect.fn("SqliteDataStore.releaseJobs")(
    (schedulerId: SchedulerId, releases: ReadonlyArray<JobRelease>) =>
      write(
        Effect.gen(function* () {
          // A job this scheduler no longer holds was reaped or taken over: its late release is dropped.
          const settled = yield* settle(releaseSettlements(schedulerId, releases), yield* now, schedulerId)
          return [undefined, settled] as const
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
        const events = yield* settle([{ job, result, retryAt: null, schedulerId }], timestamp)
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
        const statements = {
          deleteExpiredResults: q.deleteExpiredResults,
          jobsWithLapsedLeases: q.jobsWithLapsedLeases,
          deleteFinishedSchedules: q.deleteFinishedSchedules,
          trimExecutionLog: q.trimExecutionLog
        }
        return [undefined, yield* cleanupPass(statements, { abandon, settle }, options, yield* now)] as const
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
