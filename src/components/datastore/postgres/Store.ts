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
import { PostgresStoreOptions } from "./Client.js"
import { makeQueries, type RawJobRow } from "./queries.js"
import { retryTransient } from "./transient.js"

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

/** Storage failures that outlast the retries are not something a caller can handle: they become defects. */
const orDieOnStorage = <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, Exclude<E, StorageError>, R> =>
  Effect.catchIf(effect, isStorageError, (error) => Effect.die(error)) as Effect.Effect<A, Exclude<E, StorageError>, R>

const unique = <A>(values: Iterable<A>): ReadonlyArray<A> => [...new Set(values)]

export const make = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  const q = yield* makeQueries
  const broker = yield* EventBroker
  const options = yield* PostgresStoreOptions

  /** Runs `body` (again after a transient failure); after it committed, publishes the events it returned. */
  const commitThenPublish = <A, E, R>(
    what: string,
    body: Effect.Effect<readonly [A, ReadonlyArray<SchedulerEvent>], E, R>
  ) =>
    body.pipe(
      retryTransient(options.reconnectTimeoutMs, what),
      orDieOnStorage,
      Effect.flatMap(([value, events]) =>
        events.length === 0 ? Effect.succeed(value) : Effect.as(broker.publishAll(events), value)
      )
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

  const loadTasks = (taskIds: Iterable<TaskId>) => {
    const ids = unique(taskIds)
    return ids.length === 0
      ? Effect.succeed(new Map<TaskId, Task>())
      : Effect.map(q.getTasksByIds(ids), (tasks) => new Map(tasks.map((task) => [task.id, task] as const)))
  }

  /** Records attempts: finished jobs are removed and their results kept, retried jobs wait for their backoff; every attempt is logged. */
  const settle = (settlements: ReadonlyArray<Settlement>, tasks: ReadonlyMap<TaskId, Task>, now: Date) =>
    Effect.gen(function* () {
      if (settlements.length === 0) return []
      const finished = settlements.filter((s) => s.retryAt === null)
      yield* q.deleteJobs(finished.map((s) => s.job.id))
      // A result with no lifetime (resultExpirationTime 0) is never readable, so it is not written.
      yield* q.putResults(finished.map((s) => s.result).filter((r) => r.expiresAt.getTime() > r.finishedAt.getTime()))
      yield* q.scheduleRetries(
        settlements.flatMap((s) => (s.retryAt === null ? [] : [{ job: s.job, availableAt: s.retryAt.getTime() }]))
      )
      yield* q.insertExecutions(
        settlements.map((s) =>
          executionRecord({
            job: s.job,
            result: s.result,
            task: tasks.get(s.job.taskId),
            schedulerId: s.schedulerId,
            willRetry: s.retryAt !== null
          })
        )
      )
      return settlements.map(
        (s) =>
          new JobReleased({
            timestamp: now,
            jobId: s.job.id,
            taskId: s.job.taskId,
            scheduleId: s.job.scheduleId,
            schedulerId: s.schedulerId,
            attempt: s.result.attempt,
            outcome: s.result.outcome,
            willRetry: s.retryAt !== null,
            scheduledFireTime: s.job.scheduledFireTime,
            startedAt: s.result.startedAt,
            finishedAt: s.result.finishedAt,
            error: s.result.error
          }, true)
      )
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
      if (jobs.length === 0) return []
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
      write(
        "releaseSchedules",
        Effect.gen(function* () {
          if (releases.length === 0) return [undefined, []] as const
          const held = new Set(
            (yield* q.lockSchedulesHeldBy(
              releases.map((r) => r.schedule.id),
              schedulerId
            )).map((row) => row.id)
          )
          const timestamp = yield* now
          const events: Array<SchedulerEvent> = []
          const jobs: Array<Job> = []
          const finished: Array<ScheduleId> = []
          const advanced: Array<Schedule> = []
          for (const { jobs: released, schedule } of releases) {
            if (!held.has(schedule.id)) continue
            const fields = { timestamp, scheduleId: schedule.id, taskId: schedule.taskId }
            if (schedule.nextFireTime === null) {
              finished.push(schedule.id)
              events.push(new ScheduleRemoved({ ...fields, finished: true }, true))
            } else {
              advanced.push(schedule)
              events.push(new ScheduleUpdated({ ...fields, nextFireTime: schedule.nextFireTime }, true))
            }
            jobs.push(...released)
            for (const job of released) {
              events.push(new JobAdded({ timestamp, jobId: job.id, taskId: job.taskId, scheduleId: job.scheduleId }, true))
            }
          }
          yield* q.deleteSchedules(finished)
          yield* q.advanceSchedules(advanced)
          yield* q.insertJobs(jobs)
          return [undefined, events] as const
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
        const events = jobs.map(
          (job) => new JobAdded({ timestamp, jobId: job.id, taskId: job.taskId, scheduleId: job.scheduleId }, true)
        )
        return [undefined, events] as const
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
      const limits = new Map<string, number | null>()
      const running = new Map<string, number>()
      const saturated = new Set<string>()
      const isFull = (taskId: string) => {
        const max = limits.get(taskId) ?? null
        return max !== null && (running.get(taskId) ?? 0) >= max
      }
      const acquired: Array<Job> = []
      const settlements: Array<Settlement> = []
      // Each round either leases jobs, removes missed ones, or finds another task full (excluded next
      // round), so the loop ends; a round that found fewer candidates than asked for was the last.
      while (acquired.length < limit) {
        const wanted = limit - acquired.length
        const settledBefore = settlements.length
        const candidates = yield* q.lockFreeJobs(at, [...saturated], wanted)
        if (candidates.length === 0) break
        const unknownTasks = unique(candidates.map((row) => row.task_id)).filter((id) => !limits.has(id))
        if (unknownTasks.length > 0) {
          // Locked in id order: schedulers count a limited task's running jobs one after the other.
          const limited = yield* q.lockLimitedTasks(unknownTasks)
          for (const id of unknownTasks) limits.set(id, null)
          for (const row of limited) limits.set(row.id, row.max_running_jobs)
          if (limited.length > 0) {
            const counts = yield* q.runningCounts(limited.map((row) => row.id), at)
            for (const row of counts) running.set(row.task_id, row.running)
          }
        }
        const leased: Array<Job> = []
        let progressed = false
        for (const row of candidates) {
          // Decoded as leased already: one Job instance per acquired job.
          const decoded = q.decodeJobRow({ ...row, acquired_by: schedulerId, acquired_until: until, started_at: at })
          if (decoded._tag === "Left") {
            const job = undecodable(row)
            const error = new JobError({
              tag: "DeserializationFailed",
              message: ParseResult.TreeFormatter.formatErrorSync(decoded.left).slice(0, 1000)
            })
            const result = finalResult(job, timestamp, { outcome: "deserialization_failed", startedAt: null, error })
            settlements.push({ job, result, retryAt: null, schedulerId })
            progressed = true
            continue
          }
          const job = decoded.right
          // The deadline bounds the first start only: a retry waits for its backoff, not the schedule.
          if (job.attempt === 1 && job.startDeadline !== null && job.startDeadline.getTime() < at) {
            const result = finalResult(job, timestamp, { outcome: "missed_start_deadline", startedAt: null, error: null })
            settlements.push({ job, result, retryAt: null, schedulerId })
            progressed = true
            continue
          }
          if (isFull(job.taskId)) {
            saturated.add(job.taskId)
            continue
          }
          running.set(job.taskId, (running.get(job.taskId) ?? 0) + 1)
          if (isFull(job.taskId)) saturated.add(job.taskId)
          leased.push(job)
          progressed = true
        }
        yield* q.leaseJobs(
          leased.map((job) => job.id),
          schedulerId,
          until,
          at,
          token
        )
        // Missed and undecodable jobs leave the table now so the next round moves past them.
        yield* q.deleteJobs(settlements.slice(settledBefore).map((s) => s.job.id))
        acquired.push(...leased)
        const exhausted = candidates.length < wanted
        if (exhausted || !progressed) break
      }
      const tasks = yield* loadTasks(settlements.map((s) => s.job.taskId))
      const events: Array<SchedulerEvent> = [...reaped, ...(yield* settle(settlements, tasks, timestamp))]
      for (const job of acquired) {
        events.push(
          new JobAcquired({
            timestamp,
            jobId: job.id,
            taskId: job.taskId,
            scheduleId: job.scheduleId,
            schedulerId,
            attempt: job.attempt
          }, true)
        )
      }
      return [acquired, events] as const
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
          if (releases.length === 0) return [undefined, []] as const
          // A job this scheduler no longer holds was reaped or taken over: its late release is dropped.
          const held = new Set(
            (yield* q.lockJobsHeldBy(
              releases.map((r) => r.job.id),
              schedulerId
            )).map((row) => row.id)
          )
          const settlements: Array<Settlement> = releases
            .filter((release) => held.has(release.job.id))
            .map((release) => ({
              job: release.job,
              result: release.result,
              retryAt: release._tag === "Retry" ? release.availableAt : null,
              schedulerId
            }))
          const tasks = yield* loadTasks(settlements.map((s) => s.job.taskId))
          return [undefined, yield* settle(settlements, tasks, yield* now)] as const
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
        const tasks = yield* loadTasks([job.taskId])
        const events = yield* settle([{ job, result, retryAt: null, schedulerId }], tasks, new Date(at))
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
        const timestamp = yield* now
        const at = timestamp.getTime()
        yield* q.deleteExpiredResults(at)
        const events: Array<SchedulerEvent> = [...(yield* abandon(yield* q.lockJobsWithLapsedLeases(at), timestamp))]
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
    cancelJob,
    extendJobLeases,
    getNextJobAvailableTime,
    getJobResult,
    reapAbandonedJobs,
    cleanup
  }
  return store
})
