/**
 * The scheduler: turns due fire times into jobs (schedule loop) and runs jobs on
 * handlers in supervised fibers (job loop). Its loops start when its layer is
 * built and stop gracefully when the layer's scope closes.
 */
import { Context, type Duration, type Effect, type Option, type ParseResult, type Scope, type Stream } from "effect"
import type { ConflictPolicy, CoalescePolicy } from "../domain/Coalesce.js"
import type {
  ConflictingId,
  HandlerNotFound,
  InvalidTrigger,
  JobAlreadyFinished,
  JobNotFound,
  JobResultNotReady,
  MethodNotFound,
  ScheduleNotFound,
  SchedulerNotRunning,
  TaskNotFound
} from "../domain/errors.js"
import type { SchedulerEvent } from "../domain/events.js"
import type { JobId, Metadata, ScheduleId, SchedulerId, TaskId } from "../domain/ids.js"
import type { JobResult } from "../domain/JobResult.js"
import type { Schedule } from "../domain/Schedule.js"
import type { RetryPolicy, Task } from "../domain/Task.js"
import type { Trigger } from "../domain/triggers/schema.js"

export interface TaskConfig {
  readonly id: string
  readonly handler: string
  readonly method: string
  readonly maxRunningJobs?: number | null
  readonly misfireGraceTime?: number | null
  readonly retry?: Partial<Pick<RetryPolicy, "maxAttempts" | "backoffBaseMs" | "backoffCapMs" | "jitter">>
  readonly timeoutMs?: number | null
  readonly metadata?: Metadata
}

export interface AddScheduleInput {
  readonly id?: string
  readonly taskId: string
  readonly trigger: Trigger
  readonly args?: ReadonlyArray<unknown>
  readonly kwargs?: Record<string, unknown>
  readonly paused?: boolean
  readonly coalesce?: CoalescePolicy
  readonly misfireGraceTime?: number | null
  readonly maxJitter?: number | null
  readonly jobResultExpirationTime?: number
  readonly metadata?: Metadata
  readonly conflictPolicy?: ConflictPolicy
}

export interface AddJobInput {
  readonly taskId: string
  readonly args?: ReadonlyArray<unknown>
  readonly kwargs?: Record<string, unknown>
  /** Seconds to keep the result (0 = not kept); runJob keeps it long enough to read it. */
  readonly resultExpirationTime?: number
  readonly metadata?: Metadata
}

export interface UnpauseOptions {
  /** Skip fire times before this instant (default: now); "none" keeps every missed fire time. */
  readonly resumeFrom?: Date | "now" | "none"
}

/** How a cancellation ended. */
export type JobCancellation =
  /**
   * The job ended as cancelled and its result (outcome cancelled, error JobCancelled)
   * is recorded: it was queued or waiting for a retry, or (`wasRunning`) this
   * scheduler interrupted its attempt.
   */
  | { readonly _tag: "Cancelled"; readonly result: JobResult; readonly wasRunning: boolean }
  /** Another scheduler runs the job; it was asked (JobCancelRequested) to interrupt it. */
  | { readonly _tag: "CancelRequested"; readonly schedulerId: SchedulerId }

export type SchedulerState = "starting" | "running" | "stopping" | "stopped"

export interface SchedulerShape {
  readonly id: SchedulerId
  readonly state: Effect.Effect<SchedulerState>
  /**
   * Creates or updates a task after checking its handler and method exist; fields left
   * out keep their stored (or default) values. ParseError names an invalid field.
   */
  readonly configureTask: (
    config: TaskConfig
  ) => Effect.Effect<Task, HandlerNotFound | MethodNotFound | ParseResult.ParseError>
  readonly getTask: (id: TaskId) => Effect.Effect<Task, TaskNotFound>
  readonly getTasks: () => Effect.Effect<ReadonlyArray<Task>>
  /**
   * Computes the first fire time and stores the schedule; returns its id (generated when not given).
   * InvalidTrigger when the trigger has no fire time; ParseError names an invalid field.
   */
  readonly addSchedule: (
    input: AddScheduleInput
  ) => Effect.Effect<ScheduleId, ConflictingId | TaskNotFound | InvalidTrigger | ParseResult.ParseError>
  readonly getSchedule: (id: ScheduleId) => Effect.Effect<Schedule, ScheduleNotFound>
  readonly getSchedules: () => Effect.Effect<ReadonlyArray<Schedule>>
  readonly pauseSchedule: (id: ScheduleId) => Effect.Effect<Schedule, ScheduleNotFound>
  readonly unpauseSchedule: (id: ScheduleId, options?: UnpauseOptions) => Effect.Effect<Schedule, ScheduleNotFound>
  readonly removeSchedule: (id: ScheduleId) => Effect.Effect<void, ScheduleNotFound>
  /** Queues a one-off job; returns its id at once. */
  readonly addJob: (input: AddJobInput) => Effect.Effect<JobId, TaskNotFound | ParseResult.ParseError>
  /** Queues the one-off jobs together (one store transaction); returns their ids in input order. Adds none if any fails. */
  readonly addJobs: (
    inputs: ReadonlyArray<AddJobInput>
  ) => Effect.Effect<ReadonlyArray<JobId>, TaskNotFound | ParseResult.ParseError>
  /** Queues a one-off job and waits for its final result. */
  readonly runJob: (
    input: AddJobInput
  ) => Effect.Effect<JobResult, TaskNotFound | SchedulerNotRunning | ParseResult.ParseError>
  /** A finished job's result; with `wait`, waits up to that long for the job to finish. */
  readonly getJobResult: (
    id: JobId,
    options?: { readonly wait?: Duration.DurationInput }
  ) => Effect.Effect<JobResult, JobNotFound | JobResultNotReady>
  /**
   * Cancels a job: a queued one is removed, one running here is interrupted (no
   * retry follows), one running on another scheduler is cancelled by it on request.
   * JobAlreadyFinished when it ended first (its result still kept); JobNotFound when
   * neither the job nor its result exists.
   */
  readonly cancelJob: (
    id: JobId,
    options?: { readonly reason?: string }
  ) => Effect.Effect<JobCancellation, JobNotFound | JobAlreadyFinished>
  readonly cleanup: () => Effect.Effect<void>
  /** Subscribes now; see EventBroker.subscribe. */
  readonly subscribe: (
    filter?: (event: SchedulerEvent) => boolean
  ) => Effect.Effect<Stream.Stream<SchedulerEvent>, never, Scope.Scope>
  /** The earliest next fire time across unpaused schedules. */
  readonly nextFireTime: () => Effect.Effect<Option.Option<Date>>
}

export class Scheduler extends Context.Tag("schedulezero/Scheduler")<Scheduler, SchedulerShape>() {}
