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

export class SchedulerStarted extends Schema.TaggedClass<SchedulerStarted>()("SchedulerStarted", {
  timestamp,
  schedulerId: SchedulerId
}) {}
export class SchedulerStopped extends Schema.TaggedClass<SchedulerStopped>()("SchedulerStopped", {
  timestamp,
  schedulerId: SchedulerId
}) {}

export const SchedulerEvent = Schema.Union(
  TaskAdded,
  TaskUpdated,
  TaskRemoved,
  ScheduleAdded,
  ScheduleUpdated,
  ScheduleRemoved,
  JobAdded,
  JobAcquired,
  JobReleased,
  JobCancelRequested,
  SchedulerStarted,
  SchedulerStopped
)
export type SchedulerEvent = typeof SchedulerEvent.Type
export type SchedulerEventTag = SchedulerEvent["_tag"]
