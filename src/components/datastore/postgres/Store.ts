/**
 * The DataStore on PostgreSQL, shared by several schedulers. Every change is
 * one transaction (batched: acquiring or releasing N jobs is one transaction)
 * and publishes its events after the commit.
 *
 * Several schedulers never hold the same row: acquisition locks the rows it
 * takes with `FOR UPDATE SKIP LOCKED` (a competitor skips them instead of
 * waiting) and leases them before the commit; releases lock and check the
 * rows they hand back. Per-task limits are counted under a lock on the task
 * row, so two schedulers fill a task's slots in turn.
 *
 * Operations that fail because the server restarted or a connection broke are
 * run again (transient.ts); acquireJobs tags its leases with a token so that a
 * retry after a lost COMMIT reply returns the jobs the first try leased.
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
  orDieOnStorage,
  releaseSettlements,
  scheduleReleaseWrites,
  type StorageError,
  unique
} from "../sql/rules.js"
import { PostgresStoreOptions } from "./Client.js"
import { makeQueries, type RawJobRow } from "./queries.js"
import { retryTransient } from "./transient.js"

export const make = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  const q = yield* makeQueries
  const broker = yield* EventBroker
  const options = yield* PostgresStoreOptions

  /** Runs `body` (again after a transient failure); after it committed, publishes the events it returned. */
  const commitThenPublish = makeCommitThenPublish(broker, (what, effect) =>
    retryTransient(options.reconnectTimeoutMs, what)(effect)
  )

  /** Runs `body` in one transaction; after the commit, publishes the events it returned. */
  const write = <A, E, R>(what: string, body: Effect.Effect<readonly [A, ReadonlyArray<SchedulerEvent>], E, R>) =>
    commitThenPublish(what, sql.withTransaction(body))

  /**
   * For a change that is a single statement (atomic by itself): autocommit
   * spares the BEGIN and COMMIT round trips.
   */
  const writeStatement = commitThenPublish

  const read = <A, E, R>(what: string, effect: Effect.Effect<A, E, R>) =>
    orDieOnStorage(retryTransient(options.reconnectTimeoutMs, what)(effect))

  const loadTasks = (ids: ReadonlyArray<TaskId>) =>
    ids.length === 0
      ? Effect.succeed(new Map<TaskId, Task>())
      : Effect.map(q.getTasksByIds(ids), (tasks) => new Map(tasks.map((task) => [task.id, task] as const)))

  // Releases need no lock of their own: DELETE and UPDATE lock each row and re-check its holder.
  const rules = makeSettlement({
    loadTasks,
    deleteJobs: q.deleteJobs,
    scheduleRetries: q.scheduleRetries,
    putResults: q.putResults,
    insertExecutions: q.insertExecutions
  })
  const { abandon, settle } = rules

  const now = Effect.map(Clock.currentTimeMillis, (ms) => new Date(ms))

  // --- tasks

  const addTask = Effect.fn("PostgresDataStore.addTask")((task: Task) =>
    writeStatement(
      "addTask",
      Effect.gen(function* () {
        const inserted = yield* q.putTask(task)
        const timestamp = yield* now
        const event = inserted
          ? new TaskAdded({ timestamp, taskId: task.id }, true)
          : new TaskUpdated({ timestamp, taskId: task.id }, true)
        return [undefined, [event]] as const
      })
    )
  )

  const removeTask = Effect.fn("PostgresDataStore.removeTask")((id: TaskId) =>
    writeStatement(
      "removeTask",
      Effect.gen(function* () {
        if (!(yield* q.deleteTask(id))) return yield* new TaskNotFound({ taskId: id })
        return [undefined, [new TaskRemoved({ timestamp: yield* now, taskId: id }, true)]] as const
      })
    )
  )

  // getTask runs for every batch the scheduler acquires: no span of its own.
  const getTask = (id: TaskId) =>
    read(
      "getTask",
      Effect.flatMap(q.getTask(id), Option.match({ onNone: () => new TaskNotFound({ taskId: id }), onSome: Effect.succeed }))
    )

  const getTasks = Effect.fn("PostgresDataStore.getTasks")(() => read("getTasks", q.getTasks()))

  // --- schedules

  const addSchedule = Effect.fn("PostgresDataStore.addSchedule")(
    (schedule: Schedule, conflictPolicy: ConflictPolicy) =>
      writeStatement(
        "addSchedule",
        Effect.gen(function* () {
          const { inserted, written } = yield* q.putSchedule(schedule, conflictPolicy === "replace" ? "replace" : "keep")
          if (!written) {
            if (conflictPolicy === "exception") return yield* new ConflictingId({ kind: "schedule", id: schedule.id })
            return [undefined, []] as const
          }
          const fields = {
            timestamp: yield* now,
            scheduleId: schedule.id,
            taskId: schedule.taskId,
            nextFireTime: schedule.nextFireTime
          }
          return [undefined, [inserted ? new ScheduleAdded(fields, true) : new ScheduleUpdated(fields, true)]] as const
        })
      )
  )

  const getSchedules = Effect.fn("PostgresDataStore.getSchedules")((ids?: ReadonlyArray<ScheduleId>) =>
    read("getSchedules", ids === undefined ? q.getAllSchedules() : q.getSchedulesByIds(unique(ids)))
  )

  const getSchedule = Effect.fn("PostgresDataStore.getSchedule")((id: ScheduleId) =>
    read(
      "getSchedule",
      Effect.flatMap(
        q.getSchedule(id),
        Option.match({ onNone: () => new ScheduleNotFound({ scheduleId: id }), onSome: Effect.succeed })
      )
    )
  )

  const updateSchedule = Effect.fn("PostgresDataStore.updateSchedule")(
    (id: ScheduleId, f: (schedule: Schedule) => Schedule) =>
      write(
        "updateSchedule",
        Effect.gen(function* () {
          const stored = yield* q.lockSchedule(id)
          if (Option.isNone(stored)) return yield* new ScheduleNotFound({ scheduleId: id })
          const { acquiredBy, acquiredUntil } = stored.value
          const updated = new Schedule({ ...f(stored.value), id, acquiredBy, acquiredUntil }, true)
          yield* q.putSchedule(updated, "replace")
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

  const removeSchedules = Effect.fn("PostgresDataStore.removeSchedules")((ids: ReadonlyArray<ScheduleId>) =>
    writeStatement(
      "removeSchedules",
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

  const byFireTime = (a: Schedule, b: Schedule) =>
    a.nextFireTime!.getTime() - b.nextFireTime!.getTime() || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)

  const acquireSchedules = Effect.fn("PostgresDataStore.acquireSchedules")(
    (schedulerId: SchedulerId, leaseDuration: Duration.Duration, limit: number) =>
      // Commits without waiting for the disk (see queries.ts, unsynced).
      writeStatement(
        "acquireSchedules",
        Effect.gen(function* () {
          const none: ReadonlyArray<SchedulerEvent> = []
          if (limit <= 0) return [[] as ReadonlyArray<Schedule>, none] as const
          const at = yield* Clock.currentTimeMillis
          const until = at + Duration.toMillis(leaseDuration)
          const leased = yield* q.acquireDueSchedules({ now: at, until, schedulerId, limit })
          return [[...leased].sort(byFireTime) as ReadonlyArray<Schedule>, none] as const
        })
      )
  )

  const releaseSchedules = Effect.fn("PostgresDataStore.releaseSchedules")(
    (schedulerId: SchedulerId, releases: ReadonlyArray<ScheduleRelease>) =>
      // Commits without waiting for the disk once it holds a schedule (see queries.ts, unsynced).
      write(
        "releaseSchedules",
        Effect.gen(function* () {
          if (releases.length === 0) return [undefined, []] as const
          const held = yield* q.lockSchedulesHeldBy(
            releases.map((r) => r.schedule.id),
            schedulerId
          )
          const writes = scheduleReleaseWrites(releases, new Set(held.map((row) => row.id)), yield* now)
          yield* q.deleteSchedules(writes.finished)
          yield* q.advanceSchedules(writes.advanced)
          yield* q.insertJobs(writes.jobs)
          return [undefined, writes.events] as const
        })
      )
  )

  const getNextScheduleRunTime = Effect.fn("PostgresDataStore.getNextScheduleRunTime")(() =>
    read(
      "getNextScheduleRunTime",
      Effect.map(Effect.flatMap(Clock.currentTimeMillis, q.nextScheduleRunTime), (ms) =>
        Option.map(Option.fromNullable(ms), (t) => new Date(t))
      )
    )
  )

  const extendScheduleLeases = Effect.fn("PostgresDataStore.extendScheduleLeases")(
    (schedulerId: SchedulerId, ids: ReadonlyArray<ScheduleId>, leaseDuration: Duration.Duration) =>
      writeStatement(
        "extendScheduleLeases",
        Effect.gen(function* () {
          const until = (yield* Clock.currentTimeMillis) + Duration.toMillis(leaseDuration)
          yield* q.extendScheduleLeases(ids, schedulerId, until)
          return [undefined, []] as const
        })
      )
  )

  // --- jobs

  const addJobs = (jobs: ReadonlyArray<Job>) =>
    writeStatement(
      "addJobs",
      Effect.gen(function* () {
        if (jobs.length === 0) return [undefined, []] as const
        yield* q.insertJobs(jobs)
        const timestamp = yield* now
        return [undefined, jobs.map((job) => jobAdded(job, timestamp))] as const
      })
    )

  const addJob = (job: Job) => addJobs([job])

  const getJobs = Effect.fn("PostgresDataStore.getJobs")((ids?: ReadonlyArray<JobId>) =>
    read("getJobs", ids === undefined ? q.getAllJobs() : q.getJobsByIds(unique(ids)))
  )

  /** A job row that no longer decodes: enough of it to report and remove it. */
  const undecodable = (row: RawJobRow) =>
    new Job(
      {
        id: row.id as JobId,
        taskId: row.task_id as TaskId,
        scheduleId: row.schedule_id as ScheduleId | null,
        createdAt: new Date(row.created_at),
        attempt: row.attempt
      },
      true
    )

  /** One try of acquireJobs; `token` marks its leases. */
  const acquireJobsOnce = (
    schedulerId: SchedulerId,
    leaseMs: number,
    limit: number,
    token: string
  ): Effect.Effect<readonly [ReadonlyArray<Job>, ReadonlyArray<SchedulerEvent>], StorageError> =>
    Effect.gen(function* () {
      const timestamp = yield* now
      const at = timestamp.getTime()
      const until = at + leaseMs
      // A lapsed lease means its scheduler died mid-attempt: that attempt is over (abandoned, maybe
      // retried), never silently run a second time under the same attempt number.
      const reaped = yield* abandon(yield* q.lockJobsWithLapsedLeases(at), timestamp)
      const statements: AcquireStatements<RawJobRow> = {
        freeJobs: (excluded, wanted) => q.lockFreeJobs(at, excluded, wanted),
        taskIdOf: (row) => row.task_id as TaskId,
        countSlots: (taskIds, slots) =>
          Effect.gen(function* () {
            // Locked in id order: schedulers count a limited task's running jobs one after the other.
            const limited = yield* q.lockLimitedTasks(taskIds)
            for (const id of taskIds) slots.limits.set(id, null)
            for (const row of limited) slots.limits.set(row.id, row.max_running_jobs)
            if (limited.length === 0) return
            for (const row of yield* q.runningCounts(limited.map((row) => row.id), at)) {
              slots.running.set(row.task_id, row.running)
            }
          }),
        // Decoded as leased already: one Job instance per acquired job.
        decode: (row) => q.decodeJobRow({ ...row, acquired_by: schedulerId, acquired_until: until, started_at: at }),
        undecodable,
        lease: (jobs) =>
          q.leaseJobs(
            jobs.map((job) => job.id),
            schedulerId,
            until,
            at,
            token
          )
      }
      const [acquired, events] = yield* acquireFreeJobs(statements, rules, schedulerId, timestamp, limit)
      return [acquired, [...reaped, ...events]] as const
    })

  const acquireJobs = Effect.fn("PostgresDataStore.acquireJobs")(
    (schedulerId: SchedulerId, leaseDuration: Duration.Duration, limit: number) =>
      Effect.gen(function* () {
        const token = crypto.randomUUID()
        let tries = 0
        return yield* write(
          "acquireJobs",
          Effect.suspend(() => {
            tries++
            if (tries === 1) return acquireJobsOnce(schedulerId, Duration.toMillis(leaseDuration), limit, token)
            // A try before this one may have committed although its reply was lost.
            return Effect.flatMap(q.jobsLeasedWith(token), (earlier) =>
              earlier.length > 0
                ? Effect.succeed([earlier, [] as ReadonlyArray<SchedulerEvent>] as const)
                : acquireJobsOnce(schedulerId, Duration.toMillis(leaseDuration), limit, token)
            )
          })
        )
      })
  )

  const releaseJobs = Effect.fn("PostgresDataStore.releaseJobs")(
    (schedulerId: SchedulerId, releases: ReadonlyArray<JobRelease>) =>
      write(
        "releaseJobs",
        Effect.gen(function* () {
          // A job this scheduler no longer holds was reaped or taken over: its late release is dropped.
          const settled = yield* settle(releaseSettlements(schedulerId, releases), yield* now, schedulerId)
          return [undefined, settled] as const
        })
      )
  )

  const cancelJob = Effect.fn("PostgresDataStore.cancelJob")((schedulerId: SchedulerId, id: JobId, reason?: string) =>
    write(
      "cancelJob",
      Effect.gen(function* () {
        const none: ReadonlyArray<SchedulerEvent> = []
        const [job] = yield* q.lockJob(id)
        const at = yield* Clock.currentTimeMillis
        if (job === undefined) {
          const kept = yield* q.getResult({ id, now: at })
          if (Option.isNone(kept)) return yield* new JobNotFound({ jobId: id })
          return [{ _tag: "AlreadyFinished", result: kept.value } as CancelJobOutcome, none] as const
        }
        if (job.acquiredBy !== null) {
          return [{ _tag: "Running", job, schedulerId: job.acquiredBy } as CancelJobOutcome, none] as const
        }
        const result = cancelledResult(job, null, at, reason)
        const events = yield* settle([{ job, result, retryAt: null, schedulerId }], new Date(at))
        return [{ _tag: "Cancelled", job, result } as CancelJobOutcome, events] as const
      })
    )
  )

  const extendJobLeases = Effect.fn("PostgresDataStore.extendJobLeases")(
    (schedulerId: SchedulerId, ids: ReadonlyArray<JobId>, leaseDuration: Duration.Duration) =>
      writeStatement(
        "extendJobLeases",
        Effect.gen(function* () {
          const until = (yield* Clock.currentTimeMillis) + Duration.toMillis(leaseDuration)
          yield* q.extendJobLeases(ids, schedulerId, until)
          return [undefined, []] as const
        })
      )
  )

  const getNextJobAvailableTime = Effect.fn("PostgresDataStore.getNextJobAvailableTime")(() =>
    read(
      "getNextJobAvailableTime",
      Effect.map(q.nextJobAvailableTime(), (ms) => Option.map(Option.fromNullable(ms), (t) => new Date(t)))
    )
  )

  const getJobResult = Effect.fn("PostgresDataStore.getJobResult")((id: JobId) =>
    read("getJobResult", Effect.flatMap(Clock.currentTimeMillis, (at) => q.getResult({ id, now: at })))
  )

  // --- maintenance

  const reapAbandonedJobs = Effect.fn("PostgresDataStore.reapAbandonedJobs")((schedulerId: SchedulerId) =>
    write(
      "reapAbandonedJobs",
      Effect.gen(function* () {
        const jobs = yield* q.lockJobsOwnedBy(schedulerId)
        const events = yield* abandon(jobs, yield* now)
        return [jobs, events] as const
      })
    )
  )

  const cleanup = Effect.fn("PostgresDataStore.cleanup")(() =>
    write(
      "cleanup",
      Effect.gen(function* () {
        const statements = {
          deleteExpiredResults: q.deleteExpiredResults,
          jobsWithLapsedLeases: q.lockJobsWithLapsedLeases,
          deleteFinishedSchedules: q.deleteFinishedSchedules,
          trimExecutionLog: q.trimExecutionLog
        }
        return [undefined, yield* cleanupPass(statements, rules, options, yield* now)] as const
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
    cancelJob,
    extendJobLeases,
    getNextJobAvailableTime,
    getJobResult,
    reapAbandonedJobs,
    cleanup
  }
  return store
})
