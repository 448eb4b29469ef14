/**
 * The Scheduler's public operations over the store, broker and registry:
 * tasks, schedules (add with a first fire time, pause, resume, remove), one-off
 * jobs and their results. Waiting (runJob, getJobResult with `wait`) is woken by
 * the job's release (see ReleaseWaiters); nothing polls.
 */
import { Clock, Effect, Either, Option, ParseResult, Predicate, type Ref, Schema } from "effect"
import { JobCancelRequested, SchedulePaused, ScheduleResumed } from "../../domain/events.js"
import {
  InvalidTrigger,
  JobAlreadyFinished,
  JobNotFound,
  JobResultNotReady,
  ScheduleNotFound,
  SchedulerNotRunning
} from "../../domain/errors.js"
import { type HandlerId, type JobId, type Metadata, ScheduleId, type TaskId } from "../../domain/ids.js"
import { instanceOf } from "../../domain/instances.js"
import { Job } from "../../domain/Job.js"
import type { JobResult } from "../../domain/JobResult.js"
import { Schedule, scheduleSettingsFields } from "../../domain/Schedule.js"
import { RetryPolicy, Task } from "../../domain/Task.js"
import { next } from "../../domain/triggers/Trigger.js"
import type { CancelJobOutcome, DataStoreShape, JobRelease } from "../DataStore.js"
import type { EventBrokerShape } from "../EventBroker.js"
import type { HandlerRegistryShape } from "../HandlerRegistry.js"
import type { AddJobInput, JobCancellation, SchedulerShape, SchedulerState, TaskConfig } from "../Scheduler.js"
import { newJobId, skipFireTimesBefore } from "./FireTimes.js"
import type { ReleaseWaiters } from "./ReleaseWaiters.js"
import type { ResolvedSchedulerOptions } from "./SchedulerOptions.js"

/** runJob keeps the result at least this long (seconds), so it can still be read after the job ends. */
export const runJobResultRetentionSeconds = 60

export interface ApiDeps {
  readonly store: DataStoreShape
  readonly broker: EventBrokerShape
  readonly registry: HandlerRegistryShape
  readonly options: ResolvedSchedulerOptions
  readonly state: Ref.Ref<SchedulerState>
  /** Wakes this scheduler's job loop at once (the JobAdded event would too, a few hops later). */
  readonly jobsAdded: () => void
  /** Callers waiting for jobs to end, woken by the job runner, the event listener and the stop. */
  readonly waiters: ReleaseWaiters
  /** Adds a job and runs it at once in the caller's fiber when it can (see JobRunner.runNow). */
  readonly runNow: <E>(jobId: JobId, enqueue: Effect.Effect<unknown, E>) => Effect.Effect<void, E>
  /** Interrupts a job this scheduler runs and waits for its release (see JobRunner.cancel). */
  readonly cancelRunning: (jobId: JobId, reason: string | undefined) => Effect.Effect<Option.Option<JobRelease>>
}

/**
 * How many times a cancellation re-reads the store after the job moved on between
 * reads (released, retried, re-acquired); each re-read follows a change of state.
 */
const cancelRereads = 3

/** Runs a Schema class constructor (which validates), turning its ParseError into a typed failure. */
const construct = <A>(build: () => A): Effect.Effect<A, ParseResult.ParseError> =>
  Effect.suspend(() => {
    try {
      return Effect.succeed(build())
    } catch (error) {
      return ParseResult.isParseError(error) ? Effect.fail(error) : Effect.die(error)
    }
  })

/**
 * The caller-supplied fields of a schedule, validated by a parser compiled once: the
 * Schedule constructor would re-validate the (already valid) trigger union on every
 * call, which costs most of a millisecond.
 */
const validateScheduleFields = Schema.validate(
  Schema.Struct({ id: ScheduleId, ...scheduleSettingsFields })
)

/** A field given in the config, else the stored value, else the default. */
const given = <A>(value: A | undefined, stored: A | undefined, fallback: A): A =>
  value !== undefined ? value : stored !== undefined ? stored : fallback

/** Whether the fields a caller gives addJob have the types the Job schema requires. */
const callerFieldsValid = (input: AddJobInput): boolean =>
  (input.args === undefined || Array.isArray(input.args)) &&
  (input.kwargs === undefined || Predicate.isRecord(input.kwargs)) &&
  (input.metadata === undefined || Predicate.isRecord(input.metadata)) &&
  (input.resultExpirationTime === undefined ||
    (typeof input.resultExpirationTime === "number" && input.resultExpirationTime >= 0))

// Shared by every job that has none: a queued job should hold no more than it needs.
const noArgs: ReadonlyArray<unknown> = Object.freeze([])
const noKwargs: Readonly<Record<string, unknown>> = Object.freeze({})
const noMetadata: Metadata = Object.freeze({})
const isEmpty = (record: object): boolean => {
  for (const _ in record) return false
  return true
}

/**
 * Operations callers may issue in bulk (adding schedules, running and awaiting jobs) use
 * Effect.fnUntraced: Effect.fn captures a stack trace per call, which costs tens of
 * microseconds, more than the operation itself.
 */
export const makeApi = (deps: ApiDeps): SchedulerShape => {
  const { broker, cancelRunning, jobsAdded, options, registry, runNow, state, store, waiters } = deps

  const now = Effect.map(Clock.currentTimeMillis, (ms) => new Date(ms))

  const ensureRunning = Effect.flatMap(state.get, (current) =>
    current === "running" ? Effect.void : Effect.fail(new SchedulerNotRunning({ state: current })))

  /** The stored result; None while the job is still queued or running; JobNotFound when neither exists. */
  const findResult = (jobId: JobId): Effect.Effect<Option.Option<JobResult>, JobNotFound> =>
    Effect.gen(function*() {
      const result = yield* store.getJobResult(jobId)
      if (Option.isSome(result)) return result
      const jobs = yield* store.getJobs([jobId])
      if (jobs.length > 0) return Option.none()
      // The job may have finished between the two reads.
      const late = yield* store.getJobResult(jobId)
      if (Option.isSome(late)) return late
      return yield* new JobNotFound({ jobId })
    })

  // addJob is a hot path (bulk enqueueing): when the caller's fields have the right types
  // the job is built directly from them and what the scheduler supplies (already valid);
  // only otherwise does the Schema constructor run, to describe what is wrong.
  const jobOf = (task: Task, jobId: JobId, input: AddJobInput, minResultSeconds: number, createdAt: Date) => {
    const fields: Job = {
      id: jobId,
      taskId: task.id,
      scheduleId: null,
      args: input.args ?? noArgs,
      kwargs: input.kwargs ?? noKwargs,
      scheduledFireTime: null,
      jitterMs: 0,
      executor: task.executor,
      startDeadline: null,
      resultExpirationTime: Math.max(input.resultExpirationTime ?? 0, minResultSeconds),
      metadata: input.metadata ?? noMetadata,
      createdAt,
      attempt: 1,
      availableAt: null,
      acquiredBy: null,
      acquiredUntil: null,
      startedAt: null
    }
    return callerFieldsValid(input) ? Effect.succeed(instanceOf(Job, fields)) : construct(() => new Job(fields))
  }

  /** Stores the job; the caller wakes the job loop (or runs the job itself). */
  const storeJob = (jobId: JobId, input: AddJobInput, minResultSeconds: number) =>
    Effect.flatMap(store.getTask(input.taskId as TaskId), (task) =>
      Effect.clockWith((clock) =>
        Effect.flatMap(
          jobOf(task, jobId, input, minResultSeconds, new Date(clock.unsafeCurrentTimeMillis())),
          store.addJob
        )
      ))

  /** Every job built first (each task read once), then stored in one call: nothing is added unless all are valid. */
  const enqueueJobs = (inputs: ReadonlyArray<AddJobInput>) =>
    Effect.gen(function*() {
      const tasks = new Map<string, Task>()
      for (const input of inputs) {
        if (!tasks.has(input.taskId)) tasks.set(input.taskId, yield* store.getTask(input.taskId as TaskId))
      }
      const createdAt = new Date(yield* Clock.currentTimeMillis)
      const jobs: Array<Job> = []
      for (const input of inputs) jobs.push(yield* jobOf(tasks.get(input.taskId)!, newJobId(), input, 0, createdAt))
      if (jobs.length === 0) return []
      yield* store.addJobs(jobs)
      jobsAdded()
      // The job runner gets a turn before the caller queues more: a bulk producer then stays
      // close behind it, and jobs start while still young (cheap for the garbage collector).
      yield* Effect.yieldNow()
      return jobs.map((job) => job.id)
    })

  const requestCancel = (outcome: Extract<CancelJobOutcome, { _tag: "Running" }>, reason: string | undefined) =>
    Effect.flatMap(now, (timestamp) =>
      Effect.as(
        broker.publish(
          new JobCancelRequested({
            timestamp,
            jobId: outcome.job.id,
            taskId: outcome.job.taskId,
            schedulerId: outcome.schedulerId,
            requestedBy: options.id,
            reason: reason ?? null
          })
        ),
        { _tag: "CancelRequested", schedulerId: outcome.schedulerId } satisfies JobCancellation
      ))

  const cancelJob = (
    jobId: JobId,
    reason: string | undefined,
    rereads: number
  ): Effect.Effect<JobCancellation, JobNotFound | JobAlreadyFinished> => {
    const again = rereads > 0 ? cancelJob(jobId, reason, rereads - 1) : null
    return Effect.flatMap(store.cancelJob(options.id, jobId, reason), (outcome) => {
      switch (outcome._tag) {
        case "Cancelled":
          return Effect.succeed<JobCancellation>({ _tag: "Cancelled", result: outcome.result, wasRunning: false })
        case "AlreadyFinished":
          return Effect.fail(new JobAlreadyFinished({ jobId, outcome: outcome.result.outcome }))
        case "Running":
          if (outcome.schedulerId !== options.id) {
            const leaseExpired = Effect.map(
              Clock.currentTimeMillis,
              (nowMs) => (outcome.job.acquiredUntil?.getTime() ?? Number.POSITIVE_INFINITY) <= nowMs
            )
            // A scheduler whose lease ran out is presumed dead: cleanup reaps the job, then it can be cancelled.
            return Effect.flatMap(leaseExpired, (expired) =>
              expired && again !== null ? Effect.zipRight(store.cleanup(), again) : requestCancel(outcome, reason))
          }
          return Effect.flatMap(cancelRunning(jobId, reason), (release) => {
            if (Option.isSome(release) && release.value._tag === "Finished") {
              const { result } = release.value
              return result.outcome === "cancelled"
                ? Effect.succeed<JobCancellation>({ _tag: "Cancelled", result, wasRunning: true })
                : Effect.fail(new JobAlreadyFinished({ jobId, outcome: result.outcome }))
            }
            // The attempt failed into a retry, or was released before we looked: the store has moved on.
            if (again !== null) return again
            return Effect.as(
              Effect.logWarning(`job '${jobId}': still leased to this scheduler after ${cancelRereads} cancel attempts`),
              { _tag: "CancelRequested", schedulerId: options.id } satisfies JobCancellation
            )
          })
      }
    })
  }

  return {
    id: options.id,
    state: state.get,

    configureTask: Effect.fn("Scheduler.configureTask")(function*(config: TaskConfig) {
      yield* registry.validate(config.handler, config.method)
      const stored = Option.getOrUndefined(yield* Effect.option(store.getTask(config.id as TaskId)))
      const task = yield* construct(() =>
        new Task({
          id: config.id as TaskId,
          handler: config.handler as HandlerId,
          method: config.method,
          executor: stored?.executor ?? "async",
          maxRunningJobs: given(config.maxRunningJobs, stored?.maxRunningJobs, 1),
          misfireGraceTime: given(config.misfireGraceTime, stored?.misfireGraceTime, null),
          retry: new RetryPolicy({ ...stored?.retry, ...config.retry }),
          timeoutMs: given(config.timeoutMs, stored?.timeoutMs, null),
          metadata: given(config.metadata, stored?.metadata, {})
        })
      )
      yield* store.addTask(task)
      return task
    }),

    getTask: (id) => store.getTask(id),
    getTasks: () => store.getTasks(),

    addSchedule: Effect.fnUntraced(function*(input) {
      const task = yield* store.getTask(input.taskId as TaskId)
      const first = next(input.trigger)
      if (Either.isLeft(first)) {
        return yield* new InvalidTrigger({ field: "trigger", reason: first.left.message })
      }
      if (first.right.fireTime === null) {
        return yield* new InvalidTrigger({ field: "trigger", reason: "the trigger has no fire times" })
      }
      const fields = yield* validateScheduleFields({
        id: input.id ?? crypto.randomUUID(),
        args: input.args ?? [],
        kwargs: input.kwargs ?? {},
        paused: input.paused ?? false,
        coalesce: input.coalesce ?? "latest",
        misfireGraceTime: input.misfireGraceTime ?? null,
        maxJitter: input.maxJitter ?? null,
        jobResultExpirationTime: input.jobResultExpirationTime ?? 0,
        metadata: input.metadata ?? {}
      })
      // Every field listed, in one literal: the instance gets a shared hidden class with its
      // fields in-object. Validation copies; a schedule kept for hours holds the shared
      // empties instead of its own.
      const schedule = instanceOf(Schedule, {
        id: fields.id,
        taskId: task.id,
        trigger: first.right.trigger,
        args: fields.args.length === 0 ? noArgs : fields.args,
        kwargs: isEmpty(fields.kwargs) ? noKwargs : fields.kwargs,
        paused: fields.paused,
        coalesce: fields.coalesce,
        misfireGraceTime: fields.misfireGraceTime,
        maxJitter: fields.maxJitter,
        jobResultExpirationTime: fields.jobResultExpirationTime,
        metadata: isEmpty(fields.metadata) ? noMetadata : fields.metadata,
        nextFireTime: first.right.fireTime,
        lastFireTime: null,
        acquiredBy: null,
        acquiredUntil: null
      })
      yield* store.addSchedule(schedule, input.conflictPolicy ?? "exception")
      return schedule.id
    }),

    getSchedule: (id) => store.getSchedule(id),
    getSchedules: () => store.getSchedules(),

    // Besides the store's ScheduleUpdated, a change of state publishes SchedulePaused/ScheduleResumed
    // (topics schedule.paused/resumed), so subscribers can filter on it.
    pauseSchedule: Effect.fnUntraced(function*(id) {
      let wasPaused = false
      const schedule = yield* store.updateSchedule(id, (schedule) => {
        wasPaused = schedule.paused
        return new Schedule({ ...schedule, paused: true }, true)
      })
      if (!wasPaused) {
        yield* broker.publish(new SchedulePaused({ timestamp: yield* now, scheduleId: schedule.id, taskId: schedule.taskId }))
      }
      return schedule
    }),

    unpauseSchedule: Effect.fn("Scheduler.unpauseSchedule")(function*(id, unpauseOptions) {
      const resumeFrom = unpauseOptions?.resumeFrom ?? "now"
      const from = resumeFrom === "none" ? null : resumeFrom === "now" ? yield* now : resumeFrom
      let wasPaused = false
      const schedule = yield* store.updateSchedule(id, (schedule) => {
        wasPaused = schedule.paused
        if (!schedule.paused) return schedule
        if (from === null) return new Schedule({ ...schedule, paused: false }, true)
        const resumed = skipFireTimesBefore(schedule, from)
        return new Schedule(
          { ...schedule, paused: false, trigger: resumed.trigger, nextFireTime: resumed.nextFireTime },
          true
        )
      })
      if (wasPaused) {
        yield* broker.publish(
          new ScheduleResumed({
            timestamp: yield* now,
            scheduleId: schedule.id,
            taskId: schedule.taskId,
            nextFireTime: schedule.nextFireTime
          })
        )
      }
      return schedule
    }),

    removeSchedule: Effect.fnUntraced(function*(id) {
      const removed = yield* store.removeSchedules([id])
      if (removed.length === 0) return yield* new ScheduleNotFound({ scheduleId: id })
    }),

    addJob: (input) => {
      const jobId = newJobId()
      return Effect.map(storeJob(jobId, input, 0), () => {
        jobsAdded()
        return jobId
      })
    },
    addJobs: enqueueJobs,

    // No scope, race or fiber: the waiter is completed in place (see ReleaseWaiters). When slots
    // are free the job runs from this fiber (runNow): no hop through the job loops on the way.
    runJob: (input) =>
      Effect.flatMap(ensureRunning, () => {
        const jobId = newJobId()
        // Waiting starts before the job exists, so its release cannot be missed.
        const wait = waiters.waitFor(jobId)
        return runNow(jobId, storeJob(jobId, input, runJobResultRetentionSeconds)).pipe(
          Effect.zipRight(wait.await),
          Effect.zipRight(Effect.suspend(() => store.getJobResult(jobId))),
          Effect.flatMap((result) => {
            if (Option.isSome(result)) return Effect.succeed(result.value)
            if (waiters.closed()) return Effect.flatMap(state.get, (current) => new SchedulerNotRunning({ state: current }))
            return Effect.dieMessage(`job '${jobId}' was released but its result is gone`)
          }),
          Effect.ensuring(Effect.sync(wait.cancel))
        )
      }),

    getJobResult: (jobId, resultOptions) => {
      const result = Effect.flatMap(findResult(jobId), (found) =>
        Option.isSome(found) ? Effect.succeed(found.value) : Effect.fail(new JobResultNotReady({ jobId })))
      const timeout = resultOptions?.wait
      if (timeout === undefined) return result
      return Effect.suspend(() => {
        const wait = waiters.waitFor(jobId)
        return Effect.flatMap(findResult(jobId), (ready) =>
          Option.isSome(ready)
            ? Effect.succeed(ready.value)
            : Effect.zipRight(Effect.ignore(Effect.timeout(wait.await, timeout)), result)).pipe(
            Effect.ensuring(Effect.sync(wait.cancel))
          )
      })
    },

    cancelJob: (jobId, cancelOptions) => cancelJob(jobId, cancelOptions?.reason, cancelRereads),
    cleanup: () => store.cleanup(),
    subscribe: (filter) => broker.subscribe(filter),
    nextFireTime: () => store.getNextScheduleRunTime()
  }
}
