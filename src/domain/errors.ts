/**
 * Errors a caller of the scheduler can meet. They cross boundaries (HTTP,
 * ZeroMQ, disk), so they are Schema.TaggedErrors with a message naming what is
 * wrong and where.
 */
import { Schema } from "effect"

export class TaskNotFound extends Schema.TaggedError<TaskNotFound>()("TaskNotFound", {
  taskId: Schema.String
}) {
  override get message() {
    return `task '${this.taskId}' not found`
  }
}

export class ScheduleNotFound extends Schema.TaggedError<ScheduleNotFound>()("ScheduleNotFound", {
  scheduleId: Schema.String
}) {
  override get message() {
    return `schedule '${this.scheduleId}' not found`
  }
}

export class JobNotFound extends Schema.TaggedError<JobNotFound>()("JobNotFound", {
  jobId: Schema.String
}) {
  override get message() {
    return `job '${this.jobId}' not found`
  }
}

/** A cancellation came too late: the job had already ended with `outcome`. */
export class JobAlreadyFinished extends Schema.TaggedError<JobAlreadyFinished>()("JobAlreadyFinished", {
  jobId: Schema.String,
  outcome: Schema.String
}) {
  override get message() {
    return `job '${this.jobId}' already finished (${this.outcome})`
  }
}

/** The job exists (or existed) but has no result: it has not finished, or its result was not kept. */
export class JobResultNotReady extends Schema.TaggedError<JobResultNotReady>()("JobResultNotReady", {
  jobId: Schema.String
}) {
  override get message() {
    return `job '${this.jobId}' has no result yet`
  }
}

export class ConflictingId extends Schema.TaggedError<ConflictingId>()("ConflictingId", {
  kind: Schema.Literal("task", "schedule", "job"),
  id: Schema.String
}) {
  override get message() {
    return `${this.kind} id '${this.id}' is already in use`
  }
}

/** A trigger specification that cannot be built; `field` names the offending field (e.g. "minute"). */
export class InvalidTrigger extends Schema.TaggedError<InvalidTrigger>()("InvalidTrigger", {
  field: Schema.String,
  reason: Schema.String
}) {
  override get message() {
    return `${this.field}: ${this.reason}`
  }
}

/** An AndTrigger could not find a common fire time within its iteration budget. */
export class MaxIterationsReached extends Schema.TaggedError<MaxIterationsReached>()("MaxIterationsReached", {
  maxIterations: Schema.Number
}) {
  override get message() {
    return `and-trigger found no common fire time within ${this.maxIterations} iterations`
  }
}

export class HandlerNotFound extends Schema.TaggedError<HandlerNotFound>()("HandlerNotFound", {
  handler: Schema.String
}) {
  override get message() {
    return `handler '${this.handler}' is not registered`
  }
}

export class MethodNotFound extends Schema.TaggedError<MethodNotFound>()("MethodNotFound", {
  handler: Schema.String,
  method: Schema.String
}) {
  override get message() {
    return `handler '${this.handler}' has no method '${this.method}'`
  }
}

export class JobTimeout extends Schema.TaggedError<JobTimeout>()("JobTimeout", {
  jobId: Schema.String,
  timeoutMs: Schema.Number
}) {
  override get message() {
    return `job '${this.jobId}' timed out after ${this.timeoutMs} ms`
  }
}

/** A handler method failed; `tag` and `message` describe the failure as the handler reported it. */
export class HandlerFailed extends Schema.TaggedError<HandlerFailed>()("HandlerFailed", {
  tag: Schema.String,
  message: Schema.String
}) {}

/**
 * The remote handler instance running the attempt went silent (missed its
 * heartbeats) or disconnected before reporting a result; the attempt may be
 * retried elsewhere.
 */
export class HandlerLost extends Schema.TaggedError<HandlerLost>()("HandlerLost", {
  handler: Schema.String,
  instanceId: Schema.String,
  jobId: Schema.String
}) {
  override get message() {
    return `handler '${this.handler}' instance '${this.instanceId}' was lost while running job '${this.jobId}'`
  }
}

/** No instance of a known remote handler came online before the job's start deadline. */
export class HandlerOffline extends Schema.TaggedError<HandlerOffline>()("HandlerOffline", {
  handler: Schema.String
}) {
  override get message() {
    return `handler '${this.handler}' has no online instance`
  }
}

/** The scheduler is not running (not started, or stopping). */
export class SchedulerNotRunning extends Schema.TaggedError<SchedulerNotRunning>()("SchedulerNotRunning", {
  state: Schema.String
}) {
  override get message() {
    return `scheduler is ${this.state}`
  }
}
