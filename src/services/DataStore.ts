/**
 * The persistence contract (APScheduler 4's data store, extended with retries
 * and atomic schedule release). Implementations: memory, sqlite, postgres.
 *
 * Every method reads the time through Effect's Clock, so TestClock drives it.
 * Stores publish the task/schedule/job events on the EventBroker themselves,
 * after the change is committed.
 */
import { Context, type Duration, type Effect, type Option } from "effect"
import type { ConflictPolicy } from "../domain/Coalesce.js"
import type { ConflictingId, JobNotFound, ScheduleNotFound, TaskNotFound } from "../domain/errors.js"
import type { JobId, ScheduleId, SchedulerId, TaskId } from "../domain/ids.js"
import { instanceOf } from "../domain/instances.js"
import type { Job } from "../domain/Job.js"
import { JobError, JobResult } from "../domain/JobResult.js"
import type { Schedule } from "../domain/Schedule.js"
import type { Task } from "../domain/Task.js"

/** A processed schedule handed back by the scheduler that acquired it. */
export interface ScheduleRelease {
  /** The schedule with its advanced trigger, nextFireTime and lastFireTime; nextFireTime null = finished (removed). */
  readonly schedule: Schedule
  /** Jobs created from the fire times that came due; added in the same transaction. */
  readonly jobs: ReadonlyArray<Job>
}

/** What happened to an acquired job. */
export type JobRelease =
  /** The job is done (any outcome); it is removed and its result kept until `result.expiresAt`. */
  | { readonly _tag: "Finished"; readonly job: Job; readonly result: JobResult }
  /** The attempt failed and another follows: the job stays, with attempt + 1, available at `availableAt`. */
  | { readonly _tag: "Retry"; readonly job: Job; readonly result: JobResult; readonly availableAt: Date }

/** What `cancelJob` found. */
export type CancelJobOutcome =
  /** The job was queued (or waiting for a retry): it is removed and `result` (outcome cancelled) recorded. */
  | { readonly _tag: "Cancelled"; readonly job: Job; readonly result: JobResult }
  /** The job is leased by `schedulerId`, which runs it; the store changed nothing. */
  | { readonly _tag: "Running"; readonly job: Job; readonly schedulerId: SchedulerId }
  /** The job no longer exists but its result is kept. */
  | { readonly _tag: "AlreadyFinished"; readonly result: JobResult }

/** The error tag of a result cancelled on request (a scheduler's graceful stop records no error). */
export const cancelledErrorTag = "JobCancelled"

/** The reason recorded when a cancellation gives none. */
export const defaultCancelReason = "cancelled on request"

/** The result every store records for a job cancelled on request; `startedAtMs` null when it never started. */
export const cancelledResult = (
  job: Job,
  startedAtMs: number | null,
  finishedAtMs: number,
  reason: string | undefined
): JobResult =>
  instanceOf(JobResult, {
    jobId: job.id,
    taskId: job.taskId,
    outcome: "cancelled",
    attempt: job.attempt,
    startedAt: startedAtMs === null ? null : new Date(startedAtMs),
    finishedAt: new Date(finishedAtMs),
    expiresAt: new Date(finishedAtMs + job.resultExpirationTime * 1000),
    error: instanceOf(JobError, { tag: cancelledErrorTag, message: reason ?? defaultCancelReason }),
    returnValue: null
  })

export interface DataStoreShape {
  // tasks
  /** Inserts or replaces the task (TaskAdded or TaskUpdated). */
  readonly addTask: (task: Task) => Effect.Effect<void>
  readonly removeTask: (id: TaskId) => Effect.Effect<void, TaskNotFound>
  readonly getTask: (id: TaskId) => Effect.Effect<Task, TaskNotFound>
  readonly getTasks: () => Effect.Effect<ReadonlyArray<Task>>

  // schedules
  /** Adds a schedule; with conflict policy `exception` a taken id fails with ConflictingId. */
  readonly addSchedule: (schedule: Schedule, conflictPolicy: ConflictPolicy) => Effect.Effect<void, ConflictingId>
  /** All schedules, or those with the given ids (unknown ids are left out), ordered by id. */
  readonly getSchedules: (ids?: ReadonlyArray<ScheduleId>) => Effect.Effect<ReadonlyArray<Schedule>>
  readonly getSchedule: (id: ScheduleId) => Effect.Effect<Schedule, ScheduleNotFound>
  /** Atomically applies `f` to the stored schedule (lease fields are kept as stored) and publishes ScheduleUpdated. */
  readonly updateSchedule: (
    id: ScheduleId,
    f: (schedule: Schedule) => Schedule
  ) => Effect.Effect<Schedule, ScheduleNotFound>
  /** Removes the schedules (ScheduleRemoved for each that existed); returns the ids removed. */
  readonly removeSchedules: (ids: ReadonlyArray<ScheduleId>) => Effect.Effect<ReadonlyArray<ScheduleId>>
  /**
   * Leases up to `limit` unpaused schedules with nextFireTime <= now whose lease is free,
   * expired, or already this scheduler's; ordered by nextFireTime.
   */
  readonly acquireSchedules: (
    schedulerId: SchedulerId,
    leaseDuration: Duration.Duration,
    limit: number
  ) => Effect.Effect<ReadonlyArray<Schedule>>
  /**
   * Optional: as acquireSchedules, but for the free schedules due by `dueBy`, a moment
   * ahead, and never this scheduler's own leases (it calls this repeatedly to take them
   * all, maybe past `dueBy` on a busy machine). The scheduler leases
   * the schedules of a coming fire time shortly before it and builds their jobs ahead;
   * with a store without this, it acquires them when they are due.
   */
  readonly acquireSchedulesDueBy?: (
    schedulerId: SchedulerId,
    leaseDuration: Duration.Duration,
    limit: number,
    dueBy: Date
  ) => Effect.Effect<ReadonlyArray<Schedule>>
  /**
   * Optional: how often, at most, the scheduler should lease a stream of fire times
   * (fire times a millisecond apart) and release fire times it leased ahead, in ms. For
   * a store whose every call is a round trip (PostgreSQL): a lease or release costs the
   * same however few fire times it takes, so leasing again as soon as one was released
   * spends the machine on round trips of a fire time or two each. A fire time then waits
   * up to this long for its lease or release. Absent (memory, SQLite): each at once.
   */
  readonly streamPaceMs?: number
  /**
   * Optional: how long before a fire time leased ahead (acquireSchedulesDueBy) the scheduler
   * releases it, in ms, so that the release's round trip is over by the fire time. Its jobs
   * are added available from their fire time on (Job.availableAt): acquireJobs hands them out
   * then, not before. A change to the schedule after that release applies from its following
   * fire time. Absent (memory, SQLite): released at the fire time.
   */
  readonly releaseAheadMs?: number
  /**
   * Stores the advanced schedules, adds their jobs and clears the leases, all at once.
   * A release for a schedule this scheduler no longer holds (removed, or lease taken
   * over) is dropped together with its jobs. A store may add jobs that can start now
   * leased to this scheduler already (JobAdded then JobAcquired): its next acquireJobs
   * returns them, and no other scheduler contends for them (postgres does).
   */
  readonly releaseSchedules: (
    schedulerId: SchedulerId,
    releases: ReadonlyArray<ScheduleRelease>
  ) => Effect.Effect<void>
  /**
   * Optional: releaseSchedules for schedules leased ahead of their fire time, each
   * released only if the stored schedule is unchanged since `leased[i]` (as a lease
   * returned it) was leased, so that the caller need not read them back first. Returns
   * the indexes of the releases it did not do: the schedule changed meanwhile (edited,
   * paused, or only its lease extended), was removed or is no longer this scheduler's;
   * the caller looks at those again.
   */
  readonly releaseLeasedSchedules?: (
    schedulerId: SchedulerId,
    releases: ReadonlyArray<ScheduleRelease>,
    leased: ReadonlyArray<Schedule>
  ) => Effect.Effect<ReadonlyArray<number>>
  /** Earliest nextFireTime among unpaused schedules. */
  readonly getNextScheduleRunTime: () => Effect.Effect<Option.Option<Date>>
  readonly extendScheduleLeases: (
    schedulerId: SchedulerId,
    ids: ReadonlyArray<ScheduleId>,
    leaseDuration: Duration.Duration
  ) => Effect.Effect<void>

  // jobs
  readonly addJob: (job: Job) => Effect.Effect<void>
  /** Adds the jobs at once (one transaction, one JobAdded each): bulk enqueueing without a commit per job. */
  readonly addJobs: (jobs: ReadonlyArray<Job>) => Effect.Effect<void>
  /** All jobs, or those with the given ids, ordered by createdAt. */
  readonly getJobs: (ids?: ReadonlyArray<JobId>) => Effect.Effect<ReadonlyArray<Job>>
  /**
   * Leases up to `limit` free jobs (not acquired, or lease expired; availableAt <= now),
   * oldest first, honouring each task's maxRunningJobs across all schedulers.
   * Jobs whose startDeadline has passed are not returned: they are released at once
   * with outcome missed_start_deadline.
   */
  readonly acquireJobs: (
    schedulerId: SchedulerId,
    leaseDuration: Duration.Duration,
    limit: number
  ) => Effect.Effect<ReadonlyArray<Job>>
  /** Records finished or retried attempts, frees the task slots, publishes JobReleased. */
  readonly releaseJobs: (schedulerId: SchedulerId, releases: ReadonlyArray<JobRelease>) => Effect.Effect<void>
  readonly extendJobLeases: (
    schedulerId: SchedulerId,
    ids: ReadonlyArray<JobId>,
    leaseDuration: Duration.Duration
  ) => Effect.Effect<void>
  /**
   * Earliest availableAt among free jobs waiting for a retry; now, from a store whose
   * acquireJobs returned leased-at-release jobs without looking for free ones.
   */
  readonly getNextJobAvailableTime: () => Effect.Effect<Option.Option<Date>>
  /**
   * Cancels a job that is not running: a queued job, or one waiting for a retry, is
   * removed, its `cancelledResult` kept per its resultExpirationTime, and JobReleased
   * (outcome cancelled, willRetry false, schedulerId = `schedulerId`, the canceller)
   * published; stores with an execution log record the attempt like any release.
   * A leased job is left alone (`Running`: its scheduler must interrupt it).
   * JobNotFound when there is neither a job nor a kept result.
   */
  readonly cancelJob: (
    schedulerId: SchedulerId,
    id: JobId,
    reason?: string
  ) => Effect.Effect<CancelJobOutcome, JobNotFound>
  /** A finished job's result, while it is kept. */
  readonly getJobResult: (id: JobId) => Effect.Effect<Option.Option<JobResult>>

  // maintenance
  /**
   * Called when a scheduler (re)starts with this id: jobs still leased to it were
   * interrupted by a crash. Each is retried per its task's policy or released as
   * abandoned. Returns the jobs reaped.
   */
  readonly reapAbandonedJobs: (schedulerId: SchedulerId) => Effect.Effect<ReadonlyArray<Job>>
  /**
   * Deletes expired results; jobs whose lease expired (their scheduler died) are
   * retried or released as abandoned, like reapAbandonedJobs; frees their task slots.
   */
  readonly cleanup: () => Effect.Effect<void>
}

export class DataStore extends Context.Tag("schedulezero/DataStore")<DataStore, DataStoreShape>() {}
