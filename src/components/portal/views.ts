/**
 * What the API returns: snake_case JSON with every instant as ISO-8601 with
 * its offset. Each view is a Schema (documented in the OpenAPI spec) plus the
 * function that builds it from the domain model.
 */
import { Schema } from "effect"
import type { Job } from "../../domain/Job.js"
import type { JobResult } from "../../domain/JobResult.js"
import type { Schedule } from "../../domain/Schedule.js"
import type { Task } from "../../domain/Task.js"
import { describeTrigger } from "../../domain/triggers/Trigger.js"
import type { ExecutionEntry, ExecutionStats } from "../../services/ExecutionLog.js"
import { ProcessState, type ProcessStatus } from "../../services/Governor.js"
import type { HandlerInfo } from "../../services/HandlerRegistry.js"
import { isoTime, isoTimeOrNull } from "./time.js"
import { specOf, zoneOf } from "./triggerSpec.js"

const Time = Schema.String.annotations({ description: "ISO-8601 with offset, e.g. 2026-03-30T09:30:00+02:00" })
const NullableTime = Schema.NullOr(Time)
const Json = Schema.Record({ key: Schema.String, value: Schema.Unknown })

export const TriggerView = Schema.Struct({
  kind: Schema.String,
  description: Schema.String,
  timezone: Schema.String,
  spec: Schema.Unknown.annotations({ description: "The trigger as a specification (the shape POST takes)" })
})

export const ScheduleView = Schema.Struct({
  id: Schema.String,
  task_id: Schema.String,
  handler: Schema.NullOr(Schema.String),
  method: Schema.NullOr(Schema.String),
  trigger: TriggerView,
  args: Schema.Array(Schema.Unknown),
  kwargs: Json,
  paused: Schema.Boolean,
  coalesce: Schema.String,
  misfire_grace_time: Schema.NullOr(Schema.Number),
  max_jitter: Schema.NullOr(Schema.Number),
  job_result_expiration_time: Schema.Number,
  metadata: Json,
  next_fire_time: NullableTime,
  last_fire_time: NullableTime
})
export type ScheduleView = typeof ScheduleView.Type

export const scheduleView = (schedule: Schedule, task: Task | undefined): ScheduleView => {
  const zone = zoneOf(schedule.trigger)
  return {
    id: schedule.id,
    task_id: schedule.taskId,
    handler: task?.handler ?? null,
    method: task?.method ?? null,
    trigger: {
      kind: schedule.trigger._tag,
      description: describeTrigger(schedule.trigger),
      timezone: zone,
      spec: specOf(schedule.trigger)
    },
    args: schedule.args,
    kwargs: schedule.kwargs,
    paused: schedule.paused,
    coalesce: schedule.coalesce,
    misfire_grace_time: schedule.misfireGraceTime,
    max_jitter: schedule.maxJitter,
    job_result_expiration_time: schedule.jobResultExpirationTime,
    metadata: schedule.metadata,
    next_fire_time: isoTimeOrNull(schedule.nextFireTime, zone),
    last_fire_time: isoTimeOrNull(schedule.lastFireTime, zone)
  }
}

export const SchedulePage = Schema.Struct({
  schedules: Schema.Array(ScheduleView),
  next_cursor: Schema.NullOr(Schema.String).annotations({ description: "Pass as `cursor` for the next page" })
})

export const JobView = Schema.Struct({
  id: Schema.String,
  task_id: Schema.String,
  schedule_id: Schema.NullOr(Schema.String),
  status: Schema.Literal("queued", "running"),
  attempt: Schema.Number,
  args: Schema.Array(Schema.Unknown),
  kwargs: Json,
  scheduled_fire_time: NullableTime,
  created_at: Time,
  started_at: NullableTime,
  acquired_by: Schema.NullOr(Schema.String)
})
export type JobView = typeof JobView.Type

export const jobView = (job: Job): JobView => ({
  id: job.id,
  task_id: job.taskId,
  schedule_id: job.scheduleId,
  status: job.acquiredBy === null ? "queued" : "running",
  attempt: job.attempt,
  args: job.args,
  kwargs: job.kwargs,
  scheduled_fire_time: isoTimeOrNull(job.scheduledFireTime),
  created_at: isoTime(job.createdAt),
  started_at: isoTimeOrNull(job.startedAt),
  acquired_by: job.acquiredBy
})

export const ResultView = Schema.Struct({
  job_id: Schema.String,
  task_id: Schema.String,
  outcome: Schema.String,
  attempt: Schema.Number,
  started_at: NullableTime,
  finished_at: Time,
  expires_at: Time,
  error: Schema.NullOr(Schema.Struct({ tag: Schema.String, message: Schema.String })),
  return_value: Schema.Unknown
})
export type ResultView = typeof ResultView.Type

export const resultView = (result: JobResult): ResultView => ({
  job_id: result.jobId,
  task_id: result.taskId,
  outcome: result.outcome,
  attempt: result.attempt,
  started_at: isoTimeOrNull(result.startedAt),
  finished_at: isoTime(result.finishedAt),
  expires_at: isoTime(result.expiresAt),
  error: result.error === null ? null : { tag: result.error.tag, message: result.error.message },
  return_value: result.returnValue
})

/** A job as the API reports it: still waiting or running, or finished with its result. */
export const JobStatusView = Schema.Struct({
  id: Schema.String,
  status: Schema.Literal("queued", "running", "finished"),
  job: Schema.NullOr(JobView),
  result: Schema.NullOr(ResultView)
})
export type JobStatusView = typeof JobStatusView.Type

/** Run now: the job is queued (answered at once, or the wait ran out)… */
export const RunQueuedView = Schema.Struct({
  job_id: Schema.String,
  status: Schema.Literal("queued"),
  result: Schema.Null
}).annotations({ identifier: "RunQueued" })

/** …or finished within `?wait`. */
export const RunFinishedView = Schema.Struct({
  job_id: Schema.String,
  status: Schema.Literal("finished"),
  result: ResultView
}).annotations({ identifier: "RunFinished" })

/** Cancel: the job ended as cancelled (queued, or interrupted here: `was_running`)… */
export const JobCancelledView = Schema.Struct({
  job_id: Schema.String,
  status: Schema.Literal("cancelled"),
  was_running: Schema.Boolean,
  result: ResultView
}).annotations({ identifier: "JobCancelled" })

/** …or another scheduler runs it and was asked to interrupt it (its JobReleased, outcome cancelled, follows). */
export const CancelRequestedView = Schema.Struct({
  job_id: Schema.String,
  status: Schema.Literal("cancel_requested"),
  scheduler_id: Schema.String
}).annotations({ identifier: "JobCancelRequested" })

export const HandlerInstanceView = Schema.Struct({
  instance_id: Schema.String,
  status: Schema.String,
  last_heartbeat: NullableTime,
  in_flight: Schema.Number,
  capacity: Schema.Number,
  methods: Schema.Array(Schema.String)
})

export const HandlerView = Schema.Struct({
  id: Schema.String,
  kind: Schema.String,
  status: Schema.String,
  methods: Schema.Array(Schema.String),
  in_flight: Schema.Number,
  last_heartbeat: NullableTime,
  instances: Schema.Array(HandlerInstanceView)
})
export type HandlerView = typeof HandlerView.Type

const latest = (dates: ReadonlyArray<Date | null>): Date | null =>
  dates.reduce<Date | null>((a, b) => (b !== null && (a === null || b > a) ? b : a), null)

export const handlerView = (info: HandlerInfo): HandlerView => {
  const instances = info.instances ?? []
  return {
    id: info.id,
    kind: info.kind,
    status: info.status,
    methods: info.methods,
    in_flight: instances.reduce((sum, instance) => sum + instance.inFlight, 0),
    last_heartbeat: isoTimeOrNull(latest(instances.map((instance) => instance.lastHeartbeat))),
    instances: instances.map((instance) => ({
      instance_id: instance.instanceId,
      status: instance.status,
      last_heartbeat: isoTimeOrNull(instance.lastHeartbeat),
      in_flight: instance.inFlight,
      capacity: instance.capacity,
      methods: instance.methods
    }))
  }
}

export const ExecutionView = Schema.Struct({
  seq: Schema.Number,
  job_id: Schema.String,
  schedule_id: Schema.NullOr(Schema.String),
  task_id: Schema.String,
  handler: Schema.NullOr(Schema.String),
  method: Schema.NullOr(Schema.String),
  attempt: Schema.Number,
  max_attempts: Schema.Number,
  will_retry: Schema.Boolean,
  outcome: Schema.String,
  scheduled_at: NullableTime,
  started_at: NullableTime,
  finished_at: Time,
  duration_ms: Schema.NullOr(Schema.Number),
  lateness_ms: Schema.NullOr(Schema.Number),
  error: Schema.NullOr(Schema.Struct({ tag: Schema.String, message: Schema.String })),
  params: Schema.String,
  result: Schema.NullOr(Schema.String)
})
export type ExecutionView = typeof ExecutionView.Type

export const executionView = (entry: ExecutionEntry): ExecutionView => ({
  seq: entry.seq,
  job_id: entry.jobId,
  schedule_id: entry.scheduleId,
  task_id: entry.taskId,
  handler: entry.handler,
  method: entry.method,
  attempt: entry.attempt,
  max_attempts: entry.maxAttempts,
  will_retry: entry.willRetry,
  outcome: entry.outcome,
  scheduled_at: isoTimeOrNull(entry.scheduledAt),
  started_at: isoTimeOrNull(entry.startedAt),
  finished_at: isoTime(entry.finishedAt),
  duration_ms: entry.durationMs,
  lateness_ms: entry.latenessMs,
  error:
    entry.errorTag === null ? null : { tag: entry.errorTag, message: entry.errorMessage ?? "" },
  params: entry.paramsSummary,
  result: entry.resultSummary
})

export const ExecutionPageView = Schema.Struct({
  executions: Schema.Array(ExecutionView),
  next_cursor: Schema.NullOr(Schema.String)
})

export const StatsView = Schema.Struct({
  total: Schema.Number,
  by_outcome: Schema.Record({ key: Schema.String, value: Schema.Number }),
  success_rate: Schema.NullOr(Schema.Number),
  p50_duration_ms: Schema.NullOr(Schema.Number),
  p95_duration_ms: Schema.NullOr(Schema.Number)
})
export type StatsView = typeof StatsView.Type

export const statsView = (stats: ExecutionStats): StatsView => ({
  total: stats.total,
  by_outcome: stats.byOutcome,
  success_rate: stats.successRate,
  p50_duration_ms: stats.p50DurationMs,
  p95_duration_ms: stats.p95DurationMs
})

export const ExecutionStatsView = Schema.Struct({
  overall: StatsView,
  by_handler: Schema.Array(Schema.extend(StatsView, Schema.Struct({ handler: Schema.NullOr(Schema.String) }))),
  by_task: Schema.Array(Schema.extend(StatsView, Schema.Struct({ task_id: Schema.String })))
})

export const HealthView = Schema.Struct({
  status: Schema.Literal("ok", "degraded"),
  checked_at: Time,
  store: Schema.Struct({ reachable: Schema.Boolean, error: Schema.NullOr(Schema.String) }),
  scheduler: Schema.Struct({ id: Schema.String, state: Schema.String }),
  handlers: Schema.Struct({ total: Schema.Number, online: Schema.Number, stale: Schema.Number, offline: Schema.Number }),
  next_fire_time: NullableTime
})
export type HealthView = typeof HealthView.Type

/** Who the caller is: the dashboard hides what the role may not do. */
export const SessionView = Schema.Struct({
  role: Schema.Literal("viewer", "admin"),
  name: Schema.String.annotations({ description: "The token's name from config; anonymous when the portal is open" })
})

export const PreviewView = Schema.Struct({
  description: Schema.String,
  timezone: Schema.String,
  fire_times: Schema.Array(Time)
})

export const GovernedProcessView = Schema.Struct({
  name: Schema.String,
  command: Schema.Array(Schema.String),
  pid: Schema.NullOr(Schema.Number),
  state: ProcessState,
  started_at: NullableTime,
  uptime_ms: Schema.NullOr(Schema.Number),
  restarts: Schema.Number,
  last_exit: Schema.NullOr(
    Schema.Struct({
      code: Schema.NullOr(Schema.Number),
      signal: Schema.NullOr(Schema.String),
      error: Schema.NullOr(Schema.String),
      at: Time,
      description: Schema.String
    })
  ),
  gave_up: Schema.NullOr(Schema.String)
})

/** The handler processes the governor supervises; `enabled: false` (and none) when the deployment has no governor. */
export const GovernorView = Schema.Struct({
  enabled: Schema.Boolean,
  processes: Schema.Array(GovernedProcessView)
})
export type GovernorView = typeof GovernorView.Type

export const governedProcessView = (status: ProcessStatus): typeof GovernedProcessView.Type => ({
  name: status.name,
  command: status.command,
  pid: status.pid,
  state: status.state,
  started_at: isoTimeOrNull(status.startedAt),
  uptime_ms: status.uptimeMs,
  restarts: status.restarts,
  last_exit:
    status.lastExit === null
      ? null
      : {
          code: status.lastExit.code,
          signal: status.lastExit.signal,
          error: status.lastExit.error,
          at: isoTime(status.lastExit.at),
          description: status.lastExit.description
        },
  gave_up: status.gaveUp
})
