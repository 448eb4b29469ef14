/**
 * The edge-sync wire protocol (docs/edge.md): every frame set is the header
 * frame `SZE1` and one UTF-8 JSON message. The edge (DEALER) sends one request
 * at a time and waits for the hub's (ROUTER) reply carrying the same `ref`, so
 * a late reply to an abandoned request is recognised and ignored.
 *
 * Decoding never throws: a bad frame set becomes a string naming what is wrong.
 */
import { Either, ParseResult, Schema } from "effect"
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

/** An outbox row: `id` is the row's seq in the edge's execution log (increasing, never reused). */
export const OutboxRow = Schema.Struct({ id: NonNegativeInt.pipe(Schema.positive()), entry: OutboxEntry })
export type OutboxRow = typeof OutboxRow.Type

const EdgeId = Schema.String.pipe(Schema.pattern(/^[A-Za-z0-9._-]{1,200}$/))

/** What the edge reports about its outbox with every request. */
const Backlog = { backlog: NonNegativeInt, dropped: NonNegativeInt }

export const Hello = Schema.TaggedStruct("hello", {
  ref: NonNegativeInt,
  edgeId: EdgeId,
  token: Schema.String,
  /** The edge's clock when it sent this (ms since the epoch, UTC): the hub measures the skew from it. */
  sentAt: Int,
  ...Backlog
})
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
  received: NonNegativeInt
})
export const Ack = Schema.TaggedStruct("ack", { ref: NonNegativeInt, received: NonNegativeInt })
export const Refused = Schema.TaggedStruct("refused", { ref: NonNegativeInt, reason: Schema.String })
export const HubMessage = Schema.Union(Welcome, Ack, Refused)
export type HubMessage = typeof HubMessage.Type

/** A message as the frames to send after any routing frames. */
export const encode = (message: EdgeMessage | HubMessage): [string, string] => [header, JSON.stringify(message)]

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
