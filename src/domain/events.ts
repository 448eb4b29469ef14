/**
 * Everything the scheduler reports, as a tagged union. Published on the
 * EventBroker; encoded to JSON for the portal's SSE stream and ZeroMQ.
 */
import { Schema } from "effect"
import { JobId, ScheduleId, SchedulerId, TaskId } from "./ids.js"
import { JobError, JobOutcome } from "./JobResult.js"

const timestamp = Schema.Date

export class TaskAdded extends Schema.TaggedClass<TaskAdded>()("TaskAdded", { timestamp, taskId: TaskId }) {}
export class TaskUpdated extends Schema.TaggedClass<TaskUpdated>()("TaskUpdated", { timestamp, taskId: TaskId }) {}
export class TaskRemoved extends Schema.TaggedClass<TaskRemoved>()("TaskRemoved", { timestamp, taskId: TaskId }) {}

export class ScheduleAdded extends Schema.TaggedClass<ScheduleAdded>()("ScheduleAdded", {
  timestamp,
  scheduleId: ScheduleId,
  taskId: TaskId,
  nextFireTime: Schema.NullOr(Schema.Date)
}) {}
export class ScheduleUpdated extends Schema.TaggedClass<ScheduleUpdated>()("ScheduleUpdated", {
  timestamp,
  scheduleId: ScheduleId,
  taskId: TaskId,
  nextFireTime: Schema.NullOr(Schema.Date)
}) {}
export class ScheduleRemoved extends Schema.TaggedClass<ScheduleRemoved>()("ScheduleRemoved", {
  timestamp,
  scheduleId: ScheduleId,
  taskId: TaskId,
  /** True when the schedule was removed because its trigger has no more fire times. */
  finished: Schema.Boolean
}) {}

/**
 * A schedule was paused or resumed through the Scheduler (published besides
 * the store's ScheduleUpdated, so subscribers can filter on just these).
 */
export class SchedulePaused extends Schema.TaggedClass<SchedulePaused>()("SchedulePaused", {
  timestamp,
  scheduleId: ScheduleId,
  taskId: TaskId
}) {}
export class ScheduleResumed extends Schema.TaggedClass<ScheduleResumed>()("ScheduleResumed", {
  timestamp,
  scheduleId: ScheduleId,
  taskId: TaskId,
  nextFireTime: Schema.NullOr(Schema.Date)
}) {}

export class JobAdded extends Schema.TaggedClass<JobAdded>()("JobAdded", {
  timestamp,
  jobId: JobId,
  taskId: TaskId,
  scheduleId: Schema.NullOr(ScheduleId)
}) {}
export class JobAcquired extends Schema.TaggedClass<JobAcquired>()("JobAcquired", {
  timestamp,
  jobId: JobId,
  taskId: TaskId,
  scheduleId: Schema.NullOr(ScheduleId),
  schedulerId: SchedulerId,
  attempt: Schema.Int
}) {}
export class JobReleased extends Schema.TaggedClass<JobReleased>()("JobReleased", {
  timestamp,
  jobId: JobId,
  taskId: TaskId,
  scheduleId: Schema.NullOr(ScheduleId),
  schedulerId: SchedulerId,
  attempt: Schema.Int,
  outcome: JobOutcome,
  /** True when another attempt follows this one. */
  willRetry: Schema.Boolean,
  scheduledFireTime: Schema.NullOr(Schema.Date),
  startedAt: Schema.NullOr(Schema.Date),
  finishedAt: Schema.Date,
  error: Schema.NullOr(JobError)
}) {}

/**
 * A caller asked to cancel a job that another scheduler is running: that
 * scheduler (`schedulerId`) interrupts the attempt, which ends as cancelled.
 */
export class JobCancelRequested extends Schema.TaggedClass<JobCancelRequested>()("JobCancelRequested", {
  timestamp,
  jobId: JobId,
  taskId: TaskId,
  /** The scheduler running the job, which is to cancel it. */
  schedulerId: SchedulerId,
  /** The scheduler the request was made to. */
  requestedBy: SchedulerId,
  reason: Schema.NullOr(Schema.String)
}) {}

/** A handler instance registered (or came back) with the registry. */
export class HandlerOnline extends Schema.TaggedClass<HandlerOnline>()("HandlerOnline", {
  timestamp,
  /** As the handler registered (the registry takes any non-empty name). */
  handlerId: Schema.NonEmptyString,
  instanceId: Schema.NonEmptyString,
  /** This handler's instances online after the change. */
  instancesOnline: Schema.Int
}) {}

/** Why a handler instance went offline. */
export const HandlerOfflineReason = Schema.Literal("heartbeat_lost", "drained", "replaced")
export type HandlerOfflineReason = typeof HandlerOfflineReason.Type

/** A handler instance left the registry: its heartbeats stopped, it drained and left, or a new connection replaced it. */
export class HandlerOffline extends Schema.TaggedClass<HandlerOffline>()("HandlerOffline", {
  timestamp,
  /** As the handler registered (the registry takes any non-empty name). */
  handlerId: Schema.NonEmptyString,
  instanceId: Schema.NonEmptyString,
  reason: HandlerOfflineReason,
  /** This handler's instances online after the change (0: the handler is gone). */
  instancesOnline: Schema.Int
}) {}

export class SchedulerStarted extends Schema.TaggedClass<SchedulerStarted>()("SchedulerStarted", {
  timestamp,
  schedulerId: SchedulerId
}) {}
export class SchedulerStopped extends Schema.TaggedClass<SchedulerStopped>()("SchedulerStopped", {
  timestamp,
  schedulerId: SchedulerId
}) {}

/** What an edge box reports through its outbox (docs/edge.md); zmq topic `edge.<edgeId>.<kind>`. */
export const EdgeEventKind = Schema.Literal(
  "schedule.added",
  "schedule.removed",
  "schedule.paused",
  "schedule.resumed",
  "scheduler.started",
  "scheduler.stopped"
)
export type EdgeEventKind = typeof EdgeEventKind.Type

/**
 * Something that happened on an edge box, republished by the server's edge
 * hub once delivered. A tag of its own, so the server's scheduler, peers and
 * metrics never take an edge's schedule or scheduler for their own.
 * `timestamp` is the edge's clock.
 */
export class EdgeEvent extends Schema.TaggedClass<EdgeEvent>()("EdgeEvent", {
  timestamp,
  edgeId: Schema.NonEmptyString,
  kind: EdgeEventKind,
  scheduleId: Schema.NullOr(Schema.String),
  taskId: Schema.NullOr(Schema.String),
  schedulerId: Schema.NullOr(Schema.String)
}) {}

export const SchedulerEvent = Schema.Union(
  TaskAdded,
  TaskUpdated,
  TaskRemoved,
  ScheduleAdded,
  ScheduleUpdated,
  ScheduleRemoved,
  SchedulePaused,
  ScheduleResumed,
  JobAdded,
  JobAcquired,
  JobReleased,
  JobCancelRequested,
  HandlerOnline,
  HandlerOffline,
  SchedulerStarted,
  SchedulerStopped,
  EdgeEvent
)
export type SchedulerEvent = typeof SchedulerEvent.Type
export type SchedulerEventTag = SchedulerEvent["_tag"]
