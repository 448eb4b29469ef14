/**
 * /api/edges: the edges the server's hub knows (status, backlog, clock skew,
 * assignment versions) and the schedules assigned to each, with the writes
 * that assign, pause, resume and remove them (docs/edge.md). Reads need a
 * viewer token, writes an admin one. A deployment without an edge hub lists
 * no edges and answers 404 for any one.
 */
import { HttpApiEndpoint, HttpApiGroup, HttpApiSchema } from "@effect/platform"
import { Schema, Struct } from "effect"
import { describeTrigger } from "../../domain/triggers/Trigger.js"
import { type AssignedEntry, AssignRequest, type EdgeSummary } from "../edge/assignments.js"
import { BadRequest, Conflict, Forbidden, NotFound } from "./errors.js"
import { isoTime, isoTimeOrNull } from "./time.js"
import { specOf, zoneOf } from "./triggerSpec.js"
import { ScheduleView } from "./views.js"

const Time = Schema.String.annotations({ description: "ISO-8601 with offset (UTC)" })

export const EdgeView = Schema.Struct({
  edge_id: Schema.String,
  configured: Schema.Boolean.annotations({ description: "Listed in edges.credentials (only these take assignments)" }),
  status: Schema.Literal("online", "offline", "never_seen"),
  registered_at: Schema.NullOr(Time).annotations({ description: "The last accepted hello" }),
  last_seen_at: Schema.NullOr(Time),
  backlog: Schema.NullOr(Schema.Number).annotations({ description: "Outbox rows the edge reports not yet delivered" }),
  dropped: Schema.Number.annotations({ description: "Outbox rows the edge dropped by its bound" }),
  clock_skew_ms: Schema.NullOr(Schema.Number).annotations({ description: "Edge clock minus server clock at the last hello" }),
  last_received_id: Schema.Number.annotations({ description: "Highest execution-log row id of this edge the server holds" }),
  assigned: Schema.Number.annotations({ description: "Schedules assigned to this edge now" }),
  assigned_paused: Schema.Number,
  applied_version: Schema.Number.annotations({ description: "The assignment version the edge reports it runs" }),
  latest_version: Schema.Number.annotations({ description: "The latest assignment version on the server" }),
  in_sync: Schema.Boolean.annotations({ description: "applied_version >= latest_version" })
})
export type EdgeView = typeof EdgeView.Type

export const EdgeListView = Schema.Struct({
  hub: Schema.NullOr(Schema.Struct({ endpoint: Schema.String })).annotations({
    description: "null: this deployment runs no edge hub"
  }),
  edges: Schema.Array(EdgeView)
})

/** A schedule as /api/schedules shows it (the fire times are the edge's, not known here), with its assignment version. */
export const AssignedScheduleView = Schema.Struct({
  ...Struct.omit(ScheduleView.fields, "next_fire_time", "last_fire_time"),
  version: Schema.Number.annotations({ description: "Version of the last assignment op on this schedule" }),
  applied: Schema.Boolean.annotations({ description: "The edge reports it runs this version (or a later one)" }),
  rejected: Schema.NullOr(Schema.String).annotations({
    description: "Why the edge could not apply this version (e.g. the id is taken by a schedule from its config); null otherwise"
  }),
  updated_at: Time
})
export type AssignedScheduleView = typeof AssignedScheduleView.Type

export const EdgeSchedulesView = Schema.Struct({
  edge_id: Schema.String,
  applied_version: Schema.Number,
  latest_version: Schema.Number,
  schedules: Schema.Array(AssignedScheduleView)
})

export const edgeView = (edge: EdgeSummary): EdgeView => ({
  edge_id: edge.edgeId,
  configured: edge.configured,
  status: edge.status,
  registered_at: isoTimeOrNull(edge.registeredAt),
  last_seen_at: isoTimeOrNull(edge.lastSeenAt),
  backlog: edge.backlog,
  dropped: edge.dropped,
  clock_skew_ms: edge.clockSkewMs,
  last_received_id: edge.lastReceivedId,
  assigned: edge.assigned,
  assigned_paused: edge.assignedPaused,
  applied_version: edge.appliedVersion,
  latest_version: edge.latestVersion,
  in_sync: edge.appliedVersion >= edge.latestVersion
})

export const assignedScheduleView = (entry: AssignedEntry, appliedVersion: number): AssignedScheduleView => {
  const { schedule } = entry
  return {
    id: entry.scheduleId,
    task_id: schedule.taskId,
    handler: schedule.handler,
    method: schedule.method,
    trigger: {
      kind: schedule.trigger._tag,
      description: describeTrigger(schedule.trigger),
      timezone: zoneOf(schedule.trigger),
      spec: specOf(schedule.trigger)
    },
    args: schedule.args,
    kwargs: schedule.kwargs,
    paused: entry.paused,
    coalesce: schedule.coalesce,
    misfire_grace_time: schedule.misfireGraceTime,
    max_jitter: schedule.maxJitter,
    job_result_expiration_time: schedule.jobResultExpirationTime,
    metadata: schedule.metadata,
    version: entry.version,
    applied: appliedVersion >= entry.version && entry.rejected === null,
    rejected: entry.rejected,
    updated_at: isoTime(entry.updatedAt)
  }
}

const id = HttpApiSchema.param("id", Schema.String)
const scheduleId = HttpApiSchema.param("scheduleId", Schema.String)

export class EdgesGroup extends HttpApiGroup.make("edges")
  .add(HttpApiEndpoint.get("list", "/edges").addSuccess(EdgeListView))
  .add(HttpApiEndpoint.get("get")`/edges/${id}`.addSuccess(EdgeView).addError(NotFound))
  .add(HttpApiEndpoint.get("schedules")`/edges/${id}/schedules`.addSuccess(EdgeSchedulesView).addError(NotFound))
  .add(
    HttpApiEndpoint.put("assign")`/edges/${id}/schedules/${scheduleId}`
      .setPayload(AssignRequest)
      .addSuccess(AssignedScheduleView)
      .addError(BadRequest)
      .addError(NotFound)
      .addError(Forbidden)
  )
  .add(
    HttpApiEndpoint.post("pause")`/edges/${id}/schedules/${scheduleId}/pause`
      .addSuccess(AssignedScheduleView)
      .addError(NotFound)
      .addError(Conflict)
      .addError(Forbidden)
  )
  .add(
    HttpApiEndpoint.post("resume")`/edges/${id}/schedules/${scheduleId}/resume`
      .addSuccess(AssignedScheduleView)
      .addError(NotFound)
      .addError(Conflict)
      .addError(Forbidden)
  )
  .add(
    HttpApiEndpoint.del("unassign")`/edges/${id}/schedules/${scheduleId}`
      .addSuccess(Schema.Void, { status: 204 })
      .addError(NotFound)
      .addError(Forbidden)
  )
  .prefix("/api") {}
