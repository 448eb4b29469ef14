/**
 * The portal's HTTP contract (@effect/platform HttpApi): every endpoint with
 * its path, inputs, success view and error statuses. The OpenAPI document at
 * /api/openapi.json is generated from it. Executions are a separate group,
 * present only when the deployment has an execution log.
 */
import { HttpApi, HttpApiEndpoint, HttpApiGroup, HttpApiSchema } from "@effect/platform"
import { Schema, Struct } from "effect"
import { ExecutionOutcome } from "../../services/ExecutionLog.js"
import { Authorization } from "./Authorization.js"
import { EdgesGroup } from "./edgesApi.js"
import { scheduleRequestFields, TriggerInput } from "./scheduleRequest.js"
import { BadRequest, Conflict, Forbidden, NotFound, PayloadTooLarge, Unavailable } from "./errors.js"
import {
  CancelRequestedView,
  ExecutionPageView,
  ExecutionStatsView,
  GovernorView,
  HandlerView,
  HealthView,
  JobCancelledView,
  JobStatusView,
  JobView,
  PreviewView,
  RunFinishedView,
  RunQueuedView,
  SchedulePage,
  ScheduleView,
  SessionView
} from "./views.js"

const id = HttpApiSchema.param("id", Schema.String)
const opt = <S extends Schema.Schema.Any>(schema: S) => Schema.optionalWith(schema, { exact: true })
const NonEmpty = Schema.NonEmptyTrimmedString
const DurationParam = Schema.String.annotations({ description: "A duration such as 30s, 500ms, 2m (at most 5m)" })
const IntParam = Schema.NumberFromString.pipe(Schema.int())

export const CreateSchedule = Schema.Struct({
  id: opt(NonEmpty),
  ...scheduleRequestFields,
  conflict_policy: opt(Schema.Literal("exception", "replace")).annotations({ description: "Default `exception` (409 when the id is taken)" }),
  replace: opt(Schema.Boolean).annotations({ description: "Shorthand for conflict_policy: replace" })
})
export type CreateSchedule = typeof CreateSchedule.Type

export const UpdateSchedule = Schema.Struct({
  trigger: opt(TriggerInput),
  ...Struct.pick(scheduleRequestFields, "args", "kwargs", "paused", "coalesce", "misfire_grace_time", "max_jitter", "metadata")
})
export type UpdateSchedule = typeof UpdateSchedule.Type

export const ListSchedulesParams = Schema.Struct({
  handler: opt(Schema.String),
  task: opt(Schema.String),
  paused: opt(Schema.BooleanFromString),
  next_fire_from: opt(Schema.String.annotations({ description: "ISO-8601; next fire time >= this" })),
  next_fire_to: opt(Schema.String.annotations({ description: "ISO-8601; next fire time < this" })),
  cursor: opt(Schema.String),
  limit: opt(IntParam.pipe(Schema.between(1, 1000)))
})
export type ListSchedulesParams = typeof ListSchedulesParams.Type

export const PreviewRequest = Schema.Struct({
  trigger: TriggerInput,
  count: opt(Schema.Int.pipe(Schema.between(1, 100))),
  start: opt(Schema.String.annotations({ description: "ISO-8601; default now" }))
})

export class HealthGroup extends HttpApiGroup.make("health")
  .add(
    HttpApiEndpoint.get("health", "/health")
      .addSuccess(HealthView)
      .addError(Unavailable)
  )
  .prefix("/api") {}

export class SessionGroup extends HttpApiGroup.make("session")
  .add(HttpApiEndpoint.get("session", "/session").addSuccess(SessionView))
  .prefix("/api") {}

export class SchedulesGroup extends HttpApiGroup.make("schedules")
  .add(
    HttpApiEndpoint.get("list", "/schedules").setUrlParams(ListSchedulesParams).addSuccess(SchedulePage).addError(BadRequest)
  )
  .add(
    HttpApiEndpoint.post("create", "/schedules")
      .setPayload(CreateSchedule)
      .addSuccess(ScheduleView, { status: 201 })
      .addError(BadRequest)
      .addError(Conflict)
      .addError(Forbidden)
  )
  .add(HttpApiEndpoint.get("get")`/schedules/${id}`.addSuccess(ScheduleView).addError(NotFound))
  .add(
    HttpApiEndpoint.patch("update")`/schedules/${id}`
      .setPayload(UpdateSchedule)
      .addSuccess(ScheduleView)
      .addError(BadRequest)
      .addError(NotFound)
      .addError(Forbidden)
  )
  .add(HttpApiEndpoint.post("pause")`/schedules/${id}/pause`.addSuccess(ScheduleView).addError(NotFound).addError(Forbidden))
  .add(
    HttpApiEndpoint.post("resume")`/schedules/${id}/resume`
      .setUrlParams(
        Schema.Struct({
          resume_from: opt(
            Schema.String.annotations({
              description: "now (default: skip missed fire times), none (keep them all) or an ISO-8601 instant"
            })
          )
        })
      )
      .addSuccess(ScheduleView)
      .addError(BadRequest)
      .addError(NotFound)
      .addError(Forbidden)
  )
  .add(
    HttpApiEndpoint.post("run")`/schedules/${id}/run`
      .setUrlParams(Schema.Struct({ wait: opt(DurationParam) }))
      .addSuccess(RunQueuedView, { status: 202 })
      .addSuccess(RunFinishedView, { status: 200 })
      .addError(BadRequest)
      .addError(NotFound)
      .addError(Forbidden)
      .addError(Unavailable)
  )
  .add(
    HttpApiEndpoint.del("delete")`/schedules/${id}`
      .addSuccess(Schema.Void, { status: 204 })
      .addError(NotFound)
      .addError(Forbidden)
  )
  .prefix("/api") {}

export class TriggersGroup extends HttpApiGroup.make("triggers")
  .add(HttpApiEndpoint.post("preview", "/triggers/preview").setPayload(PreviewRequest).addSuccess(PreviewView).addError(BadRequest))
  .prefix("/api") {}

export class HandlersGroup extends HttpApiGroup.make("handlers")
  .add(HttpApiEndpoint.get("list", "/handlers").addSuccess(Schema.Struct({ handlers: Schema.Array(HandlerView) })))
  .add(HttpApiEndpoint.get("get")`/handlers/${id}`.addSuccess(HandlerView).addError(NotFound))
  .prefix("/api") {}

export class JobsGroup extends HttpApiGroup.make("jobs")
  .add(
    HttpApiEndpoint.get("list", "/jobs")
      .setUrlParams(Schema.Struct({ status: opt(Schema.Literal("queued", "running")), task: opt(Schema.String) }))
      .addSuccess(Schema.Struct({ jobs: Schema.Array(JobView) }))
  )
  .add(
    HttpApiEndpoint.get("get")`/jobs/${id}`
      .setUrlParams(Schema.Struct({ wait: opt(DurationParam) }))
      .addSuccess(JobStatusView)
      .addError(BadRequest)
      .addError(NotFound)
  )
  .add(
    HttpApiEndpoint.post("cancel")`/jobs/${id}/cancel`
      .setUrlParams(Schema.Struct({ reason: opt(Schema.String.annotations({ description: "Recorded as the result's error message" })) }))
      .addSuccess(JobCancelledView, { status: 200 })
      .addSuccess(CancelRequestedView, { status: 202 })
      .addError(NotFound)
      .addError(Conflict)
      .addError(Forbidden)
  )
  .prefix("/api") {}

export class GovernorGroup extends HttpApiGroup.make("governor")
  .add(HttpApiEndpoint.get("status", "/governor").addSuccess(GovernorView))
  .prefix("/api") {}

export class ExecutionsGroup extends HttpApiGroup.make("executions")
  .add(
    HttpApiEndpoint.get("list", "/executions")
      .setUrlParams(
        Schema.Struct({
          handler: opt(Schema.String),
          task: opt(Schema.String),
          schedule: opt(Schema.String),
          outcome: opt(Schema.String.annotations({ description: `comma-separated: ${ExecutionOutcome.literals.join(", ")}` })),
          from: opt(Schema.String),
          to: opt(Schema.String),
          cursor: opt(Schema.String),
          limit: opt(IntParam)
        })
      )
      .addSuccess(ExecutionPageView)
      .addError(BadRequest)
  )
  .add(
    HttpApiEndpoint.get("stats", "/executions/stats")
      .setUrlParams(Schema.Struct({ handler: opt(Schema.String), task: opt(Schema.String), from: opt(Schema.String), to: opt(Schema.String) }))
      .addSuccess(ExecutionStatsView)
      .addError(BadRequest)
  )
  .add(
    HttpApiEndpoint.del("prune", "/executions")
      .setUrlParams(
        Schema.Struct({
          before: opt(Schema.String.annotations({ description: "ISO-8601; delete records that finished before this" })),
          keep_last: opt(
            Schema.String.annotations({ description: "non-negative integer; never delete the newest this many matching records" })
          ),
          handler: opt(Schema.String),
          task: opt(Schema.String),
          schedule: opt(Schema.String),
          outcome: opt(Schema.String.annotations({ description: `comma-separated: ${ExecutionOutcome.literals.join(", ")}` }))
        })
      )
      .addSuccess(Schema.Struct({ deleted: Schema.Int }))
      .addError(BadRequest)
      .addError(Forbidden)
  )
  .add(
    HttpApiEndpoint.get("errors", "/executions/errors")
      .setUrlParams(Schema.Struct({ cursor: opt(Schema.String), limit: opt(IntParam) }))
      .addSuccess(ExecutionPageView)
      .addError(BadRequest)
  )
  .prefix("/api") {}

const EventStream = Schema.String.pipe(
  HttpApiSchema.withEncoding({ kind: "Text", contentType: "text/event-stream" })
).annotations({ description: "Server-Sent Events: one `event: <type>` + `data: <json>` per scheduler event" })

export class EventsGroup extends HttpApiGroup.make("events")
  .add(
    HttpApiEndpoint.get("stream", "/events")
      .setUrlParams(Schema.Struct({ types: opt(Schema.String.annotations({ description: "comma-separated event types, e.g. JobReleased,ScheduleUpdated" })) }))
      .addSuccess(EventStream)
      .addError(BadRequest)
  )
  .prefix("/api") {}

const PrometheusText = Schema.String.pipe(
  HttpApiSchema.withEncoding({ kind: "Text", contentType: "text/plain; version=0.0.4; charset=utf-8" })
)

export class MetricsGroup extends HttpApiGroup.make("metrics", { topLevel: true })
  .add(HttpApiEndpoint.get("metrics", "/metrics").addSuccess(PrometheusText)) {}

const base = HttpApi.make("ScheduleZero")
  .add(HealthGroup)
  .add(SessionGroup)
  .add(SchedulesGroup)
  .add(TriggersGroup)
  .add(HandlersGroup)
  .add(JobsGroup)
  .add(GovernorGroup)
  .add(EventsGroup)
  .add(EdgesGroup)
  .add(MetricsGroup)
  .addError(PayloadTooLarge)
  .addError(BadRequest)
  .middleware(Authorization)

/** The API of a deployment without an execution log. */
export class CoreApi extends base {}

/** The API of a deployment with an execution log. */
export class FullApi extends base.add(ExecutionsGroup) {}
