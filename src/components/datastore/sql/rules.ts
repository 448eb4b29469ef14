/**
 * The rules every SQL store (sqlite, postgres) applies to jobs and schedules,
 * written once: how an attempt is settled (removed with its result kept, or
 * put back for a retry, and logged), what happens to a job whose scheduler
 * died (abandoned, retried per its task's policy), which candidates an
 * acquisition leases (per-task slots, missed start deadlines, rows that no
 * longer decode), what releasing schedules writes, and what cleanup removes.
 *
 * A store supplies its statements (SettleStatements, AcquireStatements,
 * CleanupStatements): how it locks, batches and spells them is its dialect.
 */
import { SqlError } from "@effect/sql"
import { Effect, type Either, ParseResult, Random } from "effect"
import {
  JobReleased,
  ScheduleRemoved,
  ScheduleUpdated,
  type SchedulerEvent
} from "../../../domain/events.js"
import type { ScheduleId, SchedulerId, TaskId } from "../../../domain/ids.js"
import { instanceOf } from "../../../domain/instances.js"
import type { Job } from "../../../domain/Job.js"
import { JobError, JobResult } from "../../../domain/JobResult.js"
import type { Schedule } from "../../../domain/Schedule.js"
import { hasAttemptsLeft, retryDelayMs, type Task } from "../../../domain/Task.js"
import type { JobRelease, ScheduleRelease } from "../../../services/DataStore.js"
import type { EventBrokerShape } from "../../../services/EventBroker.js"
import { type ExecutionRecordFields, executionRecord } from "../../../services/ExecutionLog.js"
import { jobAcquired, jobAdded } from "../jobEvents.js"

/** One attempt being released: finished (retryAt null) or retried at `retryAt`. */
export interface Settlement {
  readonly job: Job
  readonly result: JobResult
  readonly retryAt: Date | null
  readonly schedulerId: SchedulerId
}

export type StorageError = SqlError.SqlError | ParseResult.ParseError

const isStorageError = (error: unknown): error is StorageError =>
  error instanceof SqlError.SqlError || ParseResult.isParseError(error)

/** Storage failures that outlast the store's retries are not something a caller can handle: they become defects. */
export const orDieOnStorage = <A, E, R>(
  effect: Effect.Effect<A, E, R>
): Effect.Effect<A, Exclude<E, StorageError>, R> =>
  Effect.catchIf(effect, isStorageError, (error) => Effect.die(error)) as Effect.Effect<A, Exclude<E, StorageError>, R>

export const unique = <A>(values: Iterable<A>): ReadonlyArray<A> => [...new Set(values)]

/**
 * A store's write path: runs `body` (again, per `retry`, when the database was
 * busy or away), then publishes the events it returned, after the commit.
 */
export const makeCommitThenPublish =
  (broker: EventBrokerShape, retry: <A, E, R>(what: string, effect: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>) =>
  <A, E, R>(
    what: string,
    body: Effect.Effect<readonly [A, ReadonlyArray<SchedulerEvent>], E, R>
  ): Effect.Effect<A, Exclude<E, StorageError>, R> =>
    retry(what, body).pipe(
      orDieOnStorage,
      Effect.flatMap(([value, events]) =>
        events.length === 0 ? Effect.succeed(value) : Effect.as(broker.publishAll(events), value)
      )
    )

// Events of the per-job paths, built without their Schema constructors (see domain/instances.ts).

export const jobReleased = ({ job, result, retryAt, schedulerId }: Settlement, timestamp: Date): JobReleased =>
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

/** The result of an attempt that ends without its handler returning (abandoned, missed, undecodable). */
export const finalResult = (job: Job, now: Date, fields: Pick<JobResult, "outcome" | "startedAt" | "error">) =>
  new JobResult({
    jobId: job.id,
    taskId: job.taskId,
    attempt: job.attempt,
    finishedAt: now,
    expiresAt: new Date(now.getTime() + job.resultExpirationTime * 1000),
    returnValue: null,
    ...fields
  })

/** What settling writes, in the store's dialect. */
export interface SettleStatements {
  /** The tasks of these jobs (for the execution log's handler names and retry policies). */
  readonly loadTasks: (taskIds: ReadonlyArray<TaskId>) => Effect.Effect<ReadonlyMap<TaskId, Task>, StorageError>
  /**
   * Removes finished jobs; with `holder`, only those still leased to it.
   * Succeeds with the ids it removed.
   */
  readonly deleteJobs: (
    jobIds: ReadonlyArray<string>,
    holder: SchedulerId | null
  ) => Effect.Effect<ReadonlyArray<string>, StorageError>
  /**
   * Frees jobs for their next attempt at `availableAt`; with `holder`, only
   * those still leased to it. Succeeds with the ids it freed.
   */
  readonly scheduleRetries: (
    retries: ReadonlyArray<{ readonly job: Job; readonly availableAt: number }>,
    holder: SchedulerId | null
  ) => Effect.Effect<ReadonlyArray<string>, StorageError>
  readonly putResults: (results: ReadonlyArray<JobResult>) => Effect.Effect<unknown, StorageError>
  readonly insertExecutions: (records: ReadonlyArray<ExecutionRecordFields>) => Effect.Effect<unknown, StorageError>
  /**
   * Optional: the four writes above in one statement, results and records kept only for
   * the jobs it removed or freed; succeeds with their ids. A store on a server spares
   * the round trips (a release of one job was five).
   */
  readonly writeAll?: (batch: SettleBatch) => Effect.Effect<ReadonlyArray<string>, StorageError>
}

/** What settling writes at once: see SettleStatements.writeAll. */
export interface SettleBatch {
  readonly finished: ReadonlyArray<string>
  readonly retries: ReadonlyArray<{ readonly job: Job; readonly availableAt: number }>
  readonly holder: SchedulerId | null
  readonly results: ReadonlyArray<JobResult>
  readonly executions: ReadonlyArray<ExecutionRecordFields>
}

export const makeSettlement = (statements: SettleStatements) => {
  const write = (
    settlements: ReadonlyArray<Settlement>,
    tasks: ReadonlyMap<TaskId, Task>,
    now: Date,
    holder: SchedulerId | null
  ): Effect.Effect<Array<JobReleased>, StorageError> =>
    Effect.gen(function* () {
      if (settlements.length === 0) return []
      const finished: Array<string> = []
      const retries: Array<{ readonly job: Job; readonly availableAt: number }> = []
      for (const s of settlements) {
        if (s.retryAt === null) finished.push(s.job.id)
        else retries.push({ job: s.job, availableAt: s.retryAt.getTime() })
      }
      const kept = (s: Settlement) => s.retryAt === null && s.result.expiresAt.getTime() > s.result.finishedAt.getTime()
      const record = (s: Settlement) =>
        executionRecord({
          job: s.job,
          result: s.result,
          task: tasks.get(s.job.taskId),
          schedulerId: s.schedulerId,
          willRetry: s.retryAt !== null
        })
      const held = (ids: ReadonlyArray<string>) => {
        if (ids.length === settlements.length) return settlements
        const set = new Set(ids)
        return settlements.filter((s) => set.has(s.job.id))
      }
      if (statements.writeAll !== undefined) {
        const ids = yield* statements.writeAll({
          finished,
          retries,
          holder,
          // A result with no lifetime (resultExpirationTime 0) is never readable, so it is not written.
          results: settlements.filter(kept).map((s) => s.result),
          executions: settlements.map(record)
        })
        return held(ids).map((s) => jobReleased(s, now))
      }
      const removed = yield* statements.deleteJobs(finished, holder)
      const freed = yield* statements.scheduleRetries(retries, holder)
      const settled = held([...removed, ...freed])
      yield* statements.putResults(settled.filter(kept).map((s) => s.result))
      yield* statements.insertExecutions(settled.map(record))
      return settled.map((s) => jobReleased(s, now))
    })

  /**
   * Records attempts: finished jobs are removed and their results kept, retried jobs wait
   * for their backoff; every attempt is logged. With `holder`, only jobs still leased to
   * it are settled (a late release of a job reaped or taken over is dropped).
   */
  const settle = (settlements: ReadonlyArray<Settlement>, now: Date, holder: SchedulerId | null = null) =>
    settlements.length === 0
      ? Effect.succeed([])
      : Effect.flatMap(
          statements.loadTasks(unique(settlements.map((s) => s.job.taskId))),
          (tasks) => write(settlements, tasks, now, holder)
        )

  /** Jobs whose scheduler died mid-attempt: retried per their task's policy, else released as abandoned. */
  const abandon = (jobs: ReadonlyArray<Job>, now: Date) =>
    Effect.gen(function* () {
      if (jobs.length === 0) return []
      const tasks = yield* statements.loadTasks(unique(jobs.map((job) => job.taskId)))
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
      return yield* write(settlements, tasks, now, null)
    })

  return { settle, abandon }
}

export type SettlementRules = ReturnType<typeof makeSettlement>

/** What a scheduler's releases of its jobs settle: each attempt, finished or retried at its `availableAt`. */
export const releaseSettlements = (schedulerId: SchedulerId, releases: ReadonlyArray<JobRelease>) =>
  releases.map(
    (release): Settlement => ({
      job: release.job,
      result: release.result,
      retryAt: release._tag === "Retry" ? release.availableAt : null,
      schedulerId
    })
  )

/** How many of each task's jobs hold a slot, against the tasks' `maxRunningJobs`. */
export class TaskSlots {
  readonly limits = new Map<string, number | null>()
  readonly running = new Map<string, number>()
  isFull(taskId: string): boolean {
    const max = this.limits.get(taskId) ?? null
    return max !== null && (this.running.get(taskId) ?? 0) >= max
  }
  take(taskId: string): void {
    if ((this.limits.get(taskId) ?? null) !== null) this.running.set(taskId, (this.running.get(taskId) ?? 0) + 1)
  }
}

/** What acquiring jobs reads and writes, in the store's dialect; `Row` is a job row as its store fetches it. */
export interface AcquireStatements<Row> {
  /** Unleased jobs whose backoff is over, oldest first, of tasks other than `excluded`; locked where the dialect locks. */
  readonly freeJobs: (excluded: ReadonlyArray<string>, limit: number) => Effect.Effect<ReadonlyArray<Row>, StorageError>
  readonly taskIdOf: (row: Row) => TaskId
  /** Records in `slots` the limits of these tasks and how many of their jobs hold a slot now. */
  readonly countSlots: (taskIds: ReadonlyArray<TaskId>, slots: TaskSlots) => Effect.Effect<void, StorageError>
  /** The row as a Job already leased by this acquisition. */
  readonly decode: (row: Row) => Either.Either<Job, ParseResult.ParseError>
  /** Enough of a row that no longer decodes to report and remove it. */
  readonly undecodable: (row: Row) => Job
  readonly lease: (jobs: ReadonlyArray<Job>) => Effect.Effect<void, StorageError>
}

/**
 * Leases up to `limit` free jobs for `schedulerId`, oldest first, within
 * their tasks' slots. Jobs past their start deadline, and rows that no longer
 * decode, are settled as such on the way. Succeeds with the jobs leased and
 * the events to publish once the transaction commits.
 */
export const acquireFreeJobs = <Row>(
  statements: AcquireStatements<Row>,
  rules: SettlementRules,
  schedulerId: SchedulerId,
  timestamp: Date,
  limit: number
): Effect.Effect<readonly [Array<Job>, Array<SchedulerEvent>], StorageError> =>
  Effect.gen(function* () {
    const at = timestamp.getTime()
    const slots = new TaskSlots()
    const saturated = new Set<string>()
    const acquired: Array<Job> = []
    const events: Array<SchedulerEvent> = []
    // Each round either leases jobs, removes missed ones, or finds another task full (excluded next
    // round), so the loop ends; a round that found fewer candidates than asked for was the last.
    while (acquired.length < limit) {
      const wanted = limit - acquired.length
      const candidates = yield* statements.freeJobs([...saturated], wanted)
      if (candidates.length === 0) break
      const unknown = unique(candidates.map(statements.taskIdOf)).filter((id) => !slots.limits.has(id))
      if (unknown.length > 0) yield* statements.countSlots(unknown, slots)
      const leased: Array<Job> = []
      const missed: Array<Settlement> = []
      for (const row of candidates) {
        const decoded = statements.decode(row)
        if (decoded._tag === "Left") {
          const job = statements.undecodable(row)
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
        if (slots.isFull(job.taskId)) {
          saturated.add(job.taskId)
          continue
        }
        slots.take(job.taskId)
        if (slots.isFull(job.taskId)) saturated.add(job.taskId)
        leased.push(job)
      }
      yield* statements.lease(leased)
      // Missed and undecodable jobs leave the table now, so the next round moves past them.
      for (const event of yield* rules.settle(missed, timestamp)) events.push(event)
      for (const job of leased) acquired.push(job)
      const exhausted = candidates.length < wanted
      if (exhausted || (leased.length === 0 && missed.length === 0)) break
    }
    for (const job of acquired) events.push(jobAcquired(job, schedulerId, timestamp))
    return [acquired, events] as const
  })

/**
 * The writes of releasing schedules this scheduler holds: finished ones
 * (no next fire time) are removed, the others advanced, and the jobs they
 * fired added. Releases of schedules in `held` only.
 */
export const scheduleReleaseWrites = (
  releases: ReadonlyArray<ScheduleRelease>,
  held: ReadonlySet<string>,
  timestamp: Date
) => {
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
    for (const job of released) {
      jobs.push(job)
      events.push(jobAdded(job, timestamp))
    }
  }
  return { finished, advanced, jobs, events }
}

/** What cleanup reads and removes, in the store's dialect. */
export interface CleanupStatements {
  readonly deleteExpiredResults: (now: number) => Effect.Effect<unknown, StorageError>
  /** Jobs whose lease ran out (their scheduler died mid-attempt), locked where the dialect locks. */
  readonly jobsWithLapsedLeases: (now: number) => Effect.Effect<ReadonlyArray<Job>, StorageError>
  /** Removes schedules that will not fire again; succeeds with what it removed. */
  readonly deleteFinishedSchedules: (
    now: number
  ) => Effect.Effect<ReadonlyArray<{ readonly id: ScheduleId; readonly task_id: TaskId }>, StorageError>
  readonly trimExecutionLog: (
    options: { readonly maxRows: number | null; readonly olderThan: number | null }
  ) => Effect.Effect<unknown, StorageError>
}

/**
 * One cleanup pass: expired results go, jobs with lapsed leases are
 * abandoned, finished schedules removed, the execution log trimmed to its
 * retention. Succeeds with the events to publish after the commit.
 */
export const cleanupPass = (
  statements: CleanupStatements,
  rules: SettlementRules,
  retention: { readonly executionLogMaxRows: number | null; readonly executionLogMaxAgeMs: number | null },
  timestamp: Date
) =>
  Effect.gen(function* () {
    const at = timestamp.getTime()
    yield* statements.deleteExpiredResults(at)
    const events: Array<SchedulerEvent> = [...(yield* rules.abandon(yield* statements.jobsWithLapsedLeases(at), timestamp))]
    for (const row of yield* statements.deleteFinishedSchedules(at)) {
      events.push(new ScheduleRemoved({ timestamp, scheduleId: row.id, taskId: row.task_id, finished: true }, true))
    }
    yield* statements.trimExecutionLog({
      maxRows: retention.executionLogMaxRows,
      olderThan: retention.executionLogMaxAgeMs === null ? null : at - retention.executionLogMaxAgeMs
    })
    return events
  })
