/**
 * The edge-sync wire protocol (docs/edge.md): every frame set is the header
 * frame `SZE1` and one UTF-8 JSON message. The edge (DEALER) sends one request
 * at a time and waits for the hub's (ROUTER) reply carrying the same `ref`, so
 * a late reply to an abandoned request is recognised and ignored.
 *
 * Decoding never throws: a bad frame set becomes a string naming what is wrong.
 */
import { Either, ParseResult, Schema } from "effect"
import { EdgeEventKind } from "../../domain/events.js"
import { scheduleSettingsFields } from "../../domain/Schedule.js"
import { Trigger } from "../../domain/triggers/schema.js"
import { executionOutcomes } from "../../services/ExecutionLog.js"

export const header = "SZE1"

const Int = Schema.Number.pipe(Schema.int())
const NonNegativeInt = Int.pipe(Schema.nonNegative())
const NullableText = Schema.NullOr(Schema.String)
const NullableInt = Schema.NullOr(Int)

/** One execution-log row as the edge's `execution_log` table holds it (column names, ms instants, 0/1 flags). */
export const OutboxEntry = Schema.Struct({
  job_id: Schema.String,
  schedule_id: NullableText,
  task_id: Schema.String,
  handler: NullableText,
  method: NullableText,
  scheduler_id: Schema.String,
  attempt: Int,
  max_attempts: Int,
  will_retry: Schema.Literal(0, 1),
  scheduled_at: NullableInt,
  started_at: NullableInt,
  finished_at: Int,
  duration_ms: NullableInt,
  lateness_ms: NullableInt,
  outcome: Schema.Literal(...executionOutcomes),
  error_tag: NullableText,
  error_message: NullableText,
  params_summary: Schema.String,
  result_summary: NullableText
})
export type OutboxEntry = typeof OutboxEntry.Type

/** The columns an OutboxEntry carries, in table order. */
export const entryColumns = Object.keys(OutboxEntry.fields) as ReadonlyArray<keyof OutboxEntry>

/** Something that happened on the edge besides an execution; `at` is the edge's clock (ms). */
export const OutboxEvent = Schema.Struct({
  kind: EdgeEventKind,
  at: Int,
  schedule_id: NullableText,
  task_id: NullableText,
  scheduler_id: NullableText
})
export type OutboxEvent = typeof OutboxEvent.Type

const RowId = NonNegativeInt.pipe(Schema.positive())

/**
 * An outbox row: an execution-log row (`entry`, `id` = its seq in the edge's
 * execution log) or an event (`event`, `id` reserved from the same sequence):
 * one increasing id space, never reused, so one high-water mark covers both.
 */
export const OutboxRow = Schema.Union(
  Schema.Struct({ id: RowId, entry: OutboxEntry }),
  Schema.Struct({ id: RowId, event: OutboxEvent })
)
export type OutboxRow = typeof OutboxRow.Type

const EdgeId = Schema.String.pipe(Schema.pattern(/^[A-Za-z0-9._-]{1,200}$/))

/** A schedule id on an edge (the pattern the API checks, so an id is also a safe URL segment). */
export const AssignedScheduleId = Schema.String.pipe(Schema.pattern(/^[A-Za-z0-9._:-]{1,200}$/))

/**
 * A schedule as the server assigns it to an edge: the task it runs (created on
 * the edge when it has no task of that id) and the schedule's fields, the
 * trigger in its stored form (built on the server at assignment time).
 */
export const AssignedSchedule = Schema.Struct({
  taskId: Schema.NonEmptyTrimmedString,
  handler: Schema.NonEmptyTrimmedString,
  method: Schema.NonEmptyTrimmedString,
  trigger: Trigger,
  ...scheduleSettingsFields
})
export type AssignedSchedule = typeof AssignedSchedule.Type

/** Position in an edge's assignment log: 1, 2, 3… per edge. */
const Version = NonNegativeInt.pipe(Schema.positive())
const opFields = { version: Version, scheduleId: AssignedScheduleId }

/** One entry of an edge's assignment log; the edge applies them in version order. */
export const AssignmentOp = Schema.Union(
  Schema.TaggedStruct("put", { ...opFields, schedule: AssignedSchedule }),
  Schema.TaggedStruct("pause", opFields),
  Schema.TaggedStruct("resume", opFields),
  Schema.TaggedStruct("remove", opFields)
)
export type AssignmentOp = typeof AssignmentOp.Type
export type AssignmentOpKind = AssignmentOp["_tag"]

/** Assignment ops per reply, at most. */
export const maxOpsPerReply = 100

/** An assignment op the edge passed over, and why (e.g. its id is taken by a schedule from the edge's config). */
export const Rejection = Schema.Struct({ version: Version, scheduleId: AssignedScheduleId, reason: Schema.String })
export type Rejection = typeof Rejection.Type

/**
 * What the edge reports with every request: its outbox, the assignment
 * version it has applied (the hub answers with the ops after it), and the ops
 * it could not apply since its last answered request.
 */
const Backlog = {
  backlog: NonNegativeInt,
  dropped: NonNegativeInt,
  applied: NonNegativeInt,
  rejected: Schema.Array(Rejection).pipe(Schema.maxItems(maxOpsPerReply))
}

/** The ops after the edge's applied version (oldest first, at most maxOpsPerReply) and the latest version. */
const Assignments = Schema.Struct({
  latest: NonNegativeInt,
  /**
   * The edge reported a version beyond `latest` (the server's database was replaced): it drops
   * every schedule the server assigned it and applies `ops` from version 1.
   */
  reset: Schema.Boolean,
  ops: Schema.Array(AssignmentOp).pipe(Schema.maxItems(maxOpsPerReply))
})
export type Assignments = typeof Assignments.Type

export const Hello = Schema.TaggedStruct("hello", {
  ref: NonNegativeInt,
  edgeId: EdgeId,
  /** The edge's token; absent when a key proof stands in for it. */
  token: Schema.optionalWith(Schema.String, { exact: true }),
  /** With CURVE: the edge's public key (Z85) and the proof that it holds its secret (helloProofMessage). */
  curveKey: Schema.optionalWith(Schema.String.pipe(Schema.length(40)), { exact: true }),
  proof: Schema.optionalWith(Schema.String.pipe(Schema.pattern(/^[0-9a-f]{64}$/)), { exact: true }),
  /** The edge's clock when it sent this (ms since the epoch, UTC): the hub measures the skew from it. */
  sentAt: Int,
  ...Backlog
})
/** What an edge's key proof signs (src/protocol/keyProof.ts): its own label, so a handler's register proof cannot pass. */
export const helloProofMessage = (edgeId: string) => `sz-edge-hello|${edgeId}`

export const Heartbeat = Schema.TaggedStruct("heartbeat", { ref: NonNegativeInt, ...Backlog })
export const Rows = Schema.TaggedStruct("rows", {
  ref: NonNegativeInt,
  rows: Schema.Array(OutboxRow).pipe(Schema.maxItems(10_000)),
  ...Backlog
})
export const EdgeMessage = Schema.Union(Hello, Heartbeat, Rows)
export type EdgeMessage = typeof EdgeMessage.Type

export const Welcome = Schema.TaggedStruct("welcome", {
  ref: NonNegativeInt,
  /** The hub's clock when it answered (ms since the epoch). */
  serverTime: Int,
  /** Highest row id of this edge the server already holds: the edge may delete up to it. */
  received: NonNegativeInt,
  assignments: Assignments
})
export const Ack = Schema.TaggedStruct("ack", { ref: NonNegativeInt, received: NonNegativeInt, assignments: Assignments })
export const Refused = Schema.TaggedStruct("refused", { ref: NonNegativeInt, reason: Schema.String })
export const HubMessage = Schema.Union(Welcome, Ack, Refused)
export type HubMessage = typeof HubMessage.Type

/** An edge message as the frames to send (its fields are plain JSON: no schema encoding on the hot path of rows). */
export const encodeEdgeMessage = (message: EdgeMessage): [string, string] => [header, JSON.stringify(message)]

const encodeHub = Schema.encodeSync(HubMessage)

/** A hub message as the frames to send after the routing frame (triggers in assignment ops need their encoding). */
export const encodeHubMessage = (message: HubMessage): [string, string] => [header, JSON.stringify(encodeHub(message))]

const decoder = <A, I>(schema: Schema.Schema<A, I>) => {
  const decodeJson = Schema.decodeUnknownEither(Schema.parseJson(schema), { errors: "first" })
  return (frames: ReadonlyArray<Buffer>): Either.Either<A, string> => {
    if (frames.length !== 2 || frames[0]!.toString("latin1") !== header) {
      return Either.left(`expected 2 frames (${header}, message), got ${frames.length}`)
    }
    return Either.mapLeft(decodeJson(frames[1]!.toString("utf8")), (error) =>
      ParseResult.TreeFormatter.formatErrorSync(error)
    )
  }
}

export const decodeEdgeMessage = decoder(EdgeMessage)
export const decodeHubMessage = decoder(HubMessage)
