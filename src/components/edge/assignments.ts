/**
 * Schedule assignment, the server side (full mode, with the edge hub): the
 * schedules the server assigns to each edge, as a per-edge ordered log of
 * operations (table `edge_assignments`, version 1, 2, 3… per edge) and the
 * state they add up to (`edge_schedules`). The hub hands an edge the ops after
 * the version it reports (`edge_nodes.applied_version`); the edge applies them
 * in order (assignmentsEdge.ts).
 *
 * The log is never pruned: an edge whose database was replaced reports
 * version 0 and replays it from the start, which rebuilds exactly the current
 * state. Assignments are rare, so it stays small.
 *
 * This module loads no ZeroMQ: the portal reads it as an optional service.
 */
import { SqlClient, type SqlError } from "@effect/sql"
import { Context, Data, Effect, Either, Option, ParseResult, Schema } from "effect"
import { decodeSpec, fromSpec, next } from "../../domain/triggers/Trigger.js"
import { makeImmediateTransaction } from "../datastore/sqlite/transaction.js"
import { scheduleRequestFields } from "../portal/scheduleRequest.js"
import {
  AssignedSchedule,
  AssignedScheduleId,
  type AssignmentOp,
  type AssignmentOpKind,
  type Assignments,
  maxOpsPerReply,
  type Rejection
} from "./protocol.js"

export class EdgeNotFound extends Data.TaggedError("EdgeNotFound")<{ readonly edgeId: string; readonly reason: string }> {
  override get message() {
    return `edge '${this.edgeId}': ${this.reason}`
  }
}

export class AssignmentNotFound extends Data.TaggedError("AssignmentNotFound")<{
  readonly edgeId: string
  readonly scheduleId: string
}> {
  override get message() {
    return `no schedule '${this.scheduleId}' is assigned to edge '${this.edgeId}'`
  }
}

/** Assignment input the server refuses; `field` names it as the API and CLI spell it. */
export class InvalidAssignment extends Data.TaggedError("InvalidAssignment")<{ readonly field: string; readonly reason: string }> {
  override get message() {
    return `${this.field}: ${this.reason}`
  }
}

/** A pause of a paused schedule, or a resume of a running one: nothing to send. */
export class AssignmentConflict extends Data.TaggedError("AssignmentConflict")<{
  readonly edgeId: string
  readonly scheduleId: string
  readonly reason: string
}> {
  override get message() {
    return `schedule '${this.scheduleId}' on edge '${this.edgeId}': ${this.reason}`
  }
}

/** A schedule to assign, as the API and the CLI send it. */
export const AssignRequest = Schema.Struct(scheduleRequestFields)
export type AssignRequest = typeof AssignRequest.Type

/** A schedule assigned to an edge now. */
export interface AssignedEntry {
  readonly scheduleId: string
  readonly schedule: AssignedSchedule
  readonly paused: boolean
  /** Version of the last op on this schedule: the edge runs it once its applied version reaches this. */
  readonly version: number
  readonly updatedAt: Date
  /** Why the edge could not apply this version (null: applied, or not reported). */
  readonly rejected: string | null
}

export type EdgeState = "online" | "offline" | "never_seen"

/** What the server knows of one edge, with its assignments. */
export interface EdgeSummary {
  readonly edgeId: string
  /** Listed in `edges.credentials` (only configured edges can be assigned schedules). */
  readonly configured: boolean
  readonly status: EdgeState
  readonly registeredAt: Date | null
  readonly lastSeenAt: Date | null
  readonly backlog: number | null
  readonly dropped: number
  readonly clockSkewMs: number | null
  readonly lastReceivedId: number
  readonly assigned: number
  readonly assignedPaused: number
  /** The assignment version the edge last reported it runs. */
  readonly appliedVersion: number
  readonly latestVersion: number
}

export interface EdgeSchedules {
  readonly edge: EdgeSummary
  readonly schedules: ReadonlyArray<AssignedEntry>
}

export interface EdgeAssignmentsShape {
  /** The hub's bound endpoint. */
  readonly endpoint: string
  /** Every edge configured or ever seen, by id. */
  readonly edges: Effect.Effect<ReadonlyArray<EdgeSummary>>
  readonly edge: (edgeId: string) => Effect.Effect<EdgeSummary, EdgeNotFound>
  readonly schedules: (edgeId: string) => Effect.Effect<EdgeSchedules, EdgeNotFound>
  /** Assigns (or replaces) a schedule; validated here, so the edge gets only schedules it can add. */
  readonly assign: (
    edgeId: string,
    scheduleId: string,
    request: AssignRequest
  ) => Effect.Effect<AssignedEntry, EdgeNotFound | InvalidAssignment>
  readonly pause: (
    edgeId: string,
    scheduleId: string
  ) => Effect.Effect<AssignedEntry, EdgeNotFound | AssignmentNotFound | AssignmentConflict>
  readonly resume: (
    edgeId: string,
    scheduleId: string
  ) => Effect.Effect<AssignedEntry, EdgeNotFound | AssignmentNotFound | AssignmentConflict>
  readonly remove: (edgeId: string, scheduleId: string) => Effect.Effect<void, EdgeNotFound | AssignmentNotFound>
  /** For the hub: the ops after `applied` (at most maxOpsPerReply, oldest first), the latest version, whether the edge must reset. */
  readonly pending: (edgeId: string, applied: number) => Effect.Effect<Assignments, SqlError.SqlError>
  /** For the hub: ops the edge passed over; kept (and logged) while they are the schedule's current version. */
  readonly rejected: (edgeId: string, rejections: ReadonlyArray<Rejection>) => Effect.Effect<void, SqlError.SqlError>
}

export class EdgeAssignments extends Context.Tag("schedulezero/EdgeAssignments")<EdgeAssignments, EdgeAssignmentsShape>() {}

const ScheduleJson = Schema.parseJson(AssignedSchedule)
const encodeSchedule = Schema.encodeSync(ScheduleJson)
const decodeSchedule = Schema.decodeUnknownSync(ScheduleJson)
const scheduleIdOk = Schema.is(AssignedScheduleId)

interface NodeRow {
  readonly edge_id: string
  readonly status: "online" | "offline"
  readonly registered_at: number
  readonly last_seen_at: number
  readonly backlog: number | null
  readonly dropped: number
  readonly clock_skew_ms: number | null
  readonly last_received_id: number
  readonly applied_version: number
}

interface ScheduleRow {
  readonly schedule_id: string
  readonly schedule: string
  readonly paused: 0 | 1
  readonly version: number
  readonly updated_at: number
  readonly rejected: string | null
}

interface OpRow {
  readonly version: number
  readonly schedule_id: string
  readonly op: AssignmentOpKind
  readonly schedule: string | null
}

const entryOf = (row: ScheduleRow): AssignedEntry => ({
  scheduleId: row.schedule_id,
  schedule: decodeSchedule(row.schedule),
  paused: row.paused === 1,
  version: row.version,
  updatedAt: new Date(row.updated_at),
  rejected: row.rejected
})

const opOf = (row: OpRow): AssignmentOp => {
  const fields = { version: row.version, scheduleId: row.schedule_id }
  return row.op === "put" ? { _tag: "put", ...fields, schedule: decodeSchedule(row.schedule) } : { _tag: row.op, ...fields }
}

/** The schedule an edge gets for a request, validated as the scheduler would validate it. */
export const assignedScheduleOf = (
  scheduleId: string,
  request: AssignRequest,
  now: Date
): Either.Either<AssignedSchedule, InvalidAssignment> => {
  if (!scheduleIdOk(scheduleId)) {
    return Either.left(
      new InvalidAssignment({ field: "schedule_id", reason: "expected 1-200 characters of A-Z a-z 0-9 . _ : -" })
    )
  }
  const invalidTrigger = (error: { readonly field: string; readonly reason: string }) =>
    new InvalidAssignment({ field: `trigger.${error.field}`, reason: error.reason })
  return Either.gen(function* () {
    const trigger = yield* Either.mapLeft(Either.flatMap(decodeSpec(request.trigger), (spec) => fromSpec(spec, now)), invalidTrigger)
    const first = yield* Either.mapLeft(next(trigger), (error) => new InvalidAssignment({ field: "trigger", reason: error.message }))
    if (first.fireTime === null) {
      return yield* Either.left(new InvalidAssignment({ field: "trigger", reason: "the trigger has no fire times" }))
    }
    const schedule: AssignedSchedule = {
      taskId: request.task_id ?? `${request.handler}.${request.method}`,
      handler: request.handler,
      method: request.method,
      trigger,
      args: request.args ?? [],
      kwargs: request.kwargs ?? {},
      paused: request.paused ?? false,
      coalesce: request.coalesce ?? "latest",
      misfireGraceTime: request.misfire_grace_time ?? null,
      maxJitter: request.max_jitter ?? null,
      jobResultExpirationTime: request.job_result_expiration_time ?? 0,
      metadata: request.metadata ?? {}
    }
    // the request schema is checked at the API; callers in code get the same check here
    return yield* Either.mapLeft(Schema.validateEither(AssignedSchedule)(schedule), (error) => {
      const issue = ParseResult.ArrayFormatter.formatErrorSync(error)[0]
      return new InvalidAssignment({ field: issue?.path.join(".") || "schedule", reason: issue?.message ?? "invalid" })
    })
  })
}

export interface AssignmentsOptions {
  readonly endpoint: string
  /** The edges in `edges.credentials`: only these can be assigned schedules. */
  readonly configured: ReadonlyArray<string>
}

export const make = (options: AssignmentsOptions): Effect.Effect<EdgeAssignmentsShape, never, SqlClient.SqlClient> =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const immediate = makeImmediateTransaction(sql)
    const clock = yield* Effect.clock
    const configured = new Set(options.configured)

    const summaries = (only: string | null) =>
      Effect.gen(function* () {
        const where = (column: string) => (only === null ? sql`` : sql`WHERE ${sql(column)} = ${only}`)
        const nodes = yield* sql<NodeRow>`SELECT edge_id, status, registered_at, last_seen_at, backlog, dropped,
            clock_skew_ms, last_received_id, applied_version FROM edge_nodes ${where("edge_id")}`
        const counts = yield* sql<{ edge_id: string; assigned: number; paused: number }>`SELECT edge_id,
            COUNT(*) AS assigned, SUM(paused) AS paused FROM edge_schedules ${where("edge_id")} GROUP BY edge_id`
        const latest = yield* sql<{ edge_id: string; latest: number }>`SELECT edge_id, MAX(version) AS latest
            FROM edge_assignments ${where("edge_id")} GROUP BY edge_id`
        const ids = new Set([
          ...(only === null ? configured : configured.has(only) ? [only] : []),
          ...nodes.map((row) => row.edge_id),
          ...latest.map((row) => row.edge_id)
        ])
        return [...ids].sort().map((edgeId): EdgeSummary => {
          const node = nodes.find((row) => row.edge_id === edgeId)
          const count = counts.find((row) => row.edge_id === edgeId)
          return {
            edgeId,
            configured: configured.has(edgeId),
            status: node?.status ?? "never_seen",
            registeredAt: node === undefined ? null : new Date(node.registered_at),
            lastSeenAt: node === undefined ? null : new Date(node.last_seen_at),
            backlog: node?.backlog ?? null,
            dropped: node?.dropped ?? 0,
            clockSkewMs: node?.clock_skew_ms ?? null,
            lastReceivedId: node?.last_received_id ?? 0,
            assigned: count?.assigned ?? 0,
            assignedPaused: count?.paused ?? 0,
            appliedVersion: node?.applied_version ?? 0,
            latestVersion: latest.find((row) => row.edge_id === edgeId)?.latest ?? 0
          }
        })
      }).pipe(Effect.orDie)

    const edge = (edgeId: string) =>
      Effect.flatMap(summaries(edgeId), ([found]) =>
        found === undefined
          ? Effect.fail(new EdgeNotFound({ edgeId, reason: "not in edges.credentials and never seen" }))
          : Effect.succeed(found)
      )

    const assignedRow = (edgeId: string, scheduleId: string) =>
      sql<ScheduleRow>`SELECT schedule_id, schedule, paused, version, updated_at, rejected FROM edge_schedules
          WHERE edge_id = ${edgeId} AND schedule_id = ${scheduleId}`.pipe(Effect.map((rows) => Option.fromNullable(rows[0])))

    const schedules = (edgeId: string) =>
      Effect.gen(function* () {
        const summary = yield* edge(edgeId)
        const rows = yield* sql<ScheduleRow>`SELECT schedule_id, schedule, paused, version, updated_at, rejected FROM edge_schedules
            WHERE edge_id = ${edgeId} ORDER BY schedule_id`.pipe(Effect.orDie)
        return { edge: summary, schedules: rows.map(entryOf) }
      })

    const writable = (edgeId: string) =>
      configured.has(edgeId)
        ? Effect.void
        : Effect.fail(new EdgeNotFound({ edgeId, reason: "not in edges.credentials (only configured edges take assignments)" }))

    /** Appends one op at the edge's next version; `state` brings edge_schedules in line with it. */
    const append = (
      edgeId: string,
      scheduleId: string,
      op: AssignmentOpKind,
      schedule: string | null,
      state: (version: number, now: number) => Effect.Effect<unknown, SqlError.SqlError>
    ) =>
      Effect.gen(function* () {
        const [{ version }] = (yield* sql<{ version: number }>`SELECT COALESCE(MAX(version), 0) + 1 AS version
            FROM edge_assignments WHERE edge_id = ${edgeId}`) as [{ version: number }]
        const now = clock.unsafeCurrentTimeMillis()
        yield* sql`INSERT INTO edge_assignments (edge_id, version, schedule_id, op, schedule, created_at)
            VALUES (${edgeId}, ${version}, ${scheduleId}, ${op}, ${schedule}, ${now})`
        yield* state(version, now)
        yield* Effect.logInfo("edge assignment").pipe(Effect.annotateLogs({ edgeId, scheduleId, op, version }))
        return version
      })

    const assign = (edgeId: string, scheduleId: string, request: AssignRequest) =>
      Effect.gen(function* () {
        yield* writable(edgeId)
        const schedule = yield* assignedScheduleOf(scheduleId, request, new Date(clock.unsafeCurrentTimeMillis()))
        const json = encodeSchedule(schedule)
        const paused = schedule.paused ? 1 : 0
        yield* immediate(
          append(edgeId, scheduleId, "put", json, (version, now) =>
            sql`INSERT INTO edge_schedules (edge_id, schedule_id, schedule, paused, version, updated_at)
                VALUES (${edgeId}, ${scheduleId}, ${json}, ${paused}, ${version}, ${now})
                ON CONFLICT (edge_id, schedule_id) DO UPDATE SET schedule = excluded.schedule, paused = excluded.paused,
                  version = excluded.version, updated_at = excluded.updated_at, rejected = NULL`
          )
        ).pipe(Effect.orDie)
        return yield* Effect.map(assignedRow(edgeId, scheduleId), Option.getOrThrow).pipe(Effect.map(entryOf), Effect.orDie)
      })

    const setPaused = (edgeId: string, scheduleId: string, paused: boolean) =>
      Effect.gen(function* () {
        yield* writable(edgeId)
        const updated = yield* immediate(
          Effect.gen(function* () {
            const current = yield* assignedRow(edgeId, scheduleId)
            if (Option.isNone(current)) return yield* new AssignmentNotFound({ edgeId, scheduleId })
            if ((current.value.paused === 1) === paused) {
              return yield* new AssignmentConflict({ edgeId, scheduleId, reason: paused ? "already paused" : "not paused" })
            }
            yield* append(edgeId, scheduleId, paused ? "pause" : "resume", null, (version, now) =>
              sql`UPDATE edge_schedules SET paused = ${paused ? 1 : 0}, version = ${version}, updated_at = ${now}, rejected = NULL
                  WHERE edge_id = ${edgeId} AND schedule_id = ${scheduleId}`
            )
            return yield* assignedRow(edgeId, scheduleId)
          })
        ).pipe(Effect.catchTag("SqlError", Effect.die))
        return entryOf(Option.getOrThrow(updated))
      })

    const remove = (edgeId: string, scheduleId: string) =>
      Effect.gen(function* () {
        yield* writable(edgeId)
        yield* immediate(
          Effect.gen(function* () {
            if (Option.isNone(yield* assignedRow(edgeId, scheduleId))) {
              return yield* new AssignmentNotFound({ edgeId, scheduleId })
            }
            yield* append(edgeId, scheduleId, "remove", null, () =>
              sql`DELETE FROM edge_schedules WHERE edge_id = ${edgeId} AND schedule_id = ${scheduleId}`
            )
          })
        ).pipe(Effect.catchTag("SqlError", Effect.die))
      })

    const pending = (edgeId: string, applied: number) =>
      Effect.gen(function* () {
        const [{ latest }] = (yield* sql<{ latest: number }>`SELECT COALESCE(MAX(version), 0) AS latest
            FROM edge_assignments WHERE edge_id = ${edgeId}`) as [{ latest: number }]
        // an edge ahead of this log ran another database's assignments: it starts over from ours
        const reset = applied > latest
        const rows = yield* sql<OpRow>`SELECT version, schedule_id, op, schedule FROM edge_assignments
            WHERE edge_id = ${edgeId} AND version > ${reset ? 0 : applied} ORDER BY version LIMIT ${maxOpsPerReply}`
        return { latest, reset, ops: rows.map(opOf) }
      })

    const rejected = (edgeId: string, rejections: ReadonlyArray<Rejection>) =>
      Effect.forEach(
        rejections,
        (rejection) =>
          Effect.zipRight(
            sql`UPDATE edge_schedules SET rejected = ${rejection.reason}
                WHERE edge_id = ${edgeId} AND schedule_id = ${rejection.scheduleId} AND version = ${rejection.version}`,
            Effect.logWarning("edge could not apply an assignment").pipe(Effect.annotateLogs({ edgeId, ...rejection }))
          ),
        { discard: true }
      )

    return {
      endpoint: options.endpoint,
      edges: summaries(null),
      edge,
      schedules,
      assign,
      pause: (edgeId, scheduleId) => setPaused(edgeId, scheduleId, true),
      resume: (edgeId, scheduleId) => setPaused(edgeId, scheduleId, false),
      remove,
      pending,
      rejected
    }
  })
