/**
 * The remote-handler protocol's messages (versions 1 and 2 share them), as Schemas. Every message
 * is one JSON object with a `type`; see docs/protocol.md for the wire format
 * and an example of each. Field limits are part of the contract: a message
 * that breaks one is dropped as malformed.
 */
import { Schema } from "effect"

/** The version this build speaks; a server also accepts handlers that register with an earlier one. */
export const protocolVersion = 2
/** Versions a server accepts in `register` (1: one message per frame; 2: batches, see framing.ts). */
export const supportedProtocolVersions: ReadonlyArray<number> = [1, 2]

/** Identifiers chosen by handlers or minted by the server (1..200 characters). */
const Name = Schema.String.pipe(Schema.minLength(1), Schema.maxLength(200))
const JsonObject = Schema.Record({ key: Schema.String, value: Schema.Unknown })
/** Milliseconds, a whole non-negative number. */
const Millis = Schema.Int.pipe(Schema.nonNegative())

export const MethodSpec = Schema.Struct({
  name: Name,
  /** Optional JSON Schema of the method's kwargs, stored and shown, not enforced by the server. */
  params: Schema.optionalWith(Schema.NullOr(JsonObject), { exact: true })
})
export type MethodSpec = typeof MethodSpec.Type

// handler → server

export const Register = Schema.Struct({
  type: Schema.Literal("register"),
  protocol: Schema.Int,
  handlerId: Name,
  instanceId: Name,
  methods: Schema.Array(MethodSpec).pipe(Schema.maxItems(1000)),
  /** Jobs this instance runs at once; the server never sends more runs than this. */
  concurrency: Schema.Int.pipe(Schema.between(1, 1_000_000)),
  /** The handler id's token; null when the deployment asks for none (or a key proof stands in for it). */
  credential: Schema.NullOr(Schema.String.pipe(Schema.maxLength(1024))),
  /** With CURVE: the handler's public key (Z85) and the proof that it holds its secret (see keyProof.ts). */
  curvePublicKey: Schema.optionalWith(Schema.String.pipe(Schema.length(40)), { exact: true }),
  keyProof: Schema.optionalWith(Schema.String.pipe(Schema.pattern(/^[0-9a-f]{64}$/)), { exact: true })
})
export type Register = typeof Register.Type

export const JobError = Schema.Struct({
  tag: Schema.String.pipe(Schema.maxLength(200)),
  message: Schema.String
})
export type JobError = typeof JobError.Type

export const ResultOk = Schema.Struct({
  type: Schema.Literal("result"),
  jobId: Name,
  attempt: Schema.Int.pipe(Schema.positive()),
  ok: Schema.Literal(true),
  value: Schema.optionalWith(Schema.Unknown, { exact: true })
})
export const ResultErr = Schema.Struct({
  type: Schema.Literal("result"),
  jobId: Name,
  attempt: Schema.Int.pipe(Schema.positive()),
  ok: Schema.Literal(false),
  error: JobError
})
export const Result = Schema.Union(ResultOk, ResultErr)
export type Result = typeof Result.Type

export const Deregister = Schema.Struct({ type: Schema.Literal("deregister") })
export type Deregister = typeof Deregister.Type

// both ways

export const Heartbeat = Schema.Struct({ type: Schema.Literal("heartbeat") })
export type Heartbeat = typeof Heartbeat.Type

// server → handler

export const Accepted = Schema.Struct({
  type: Schema.Literal("accepted"),
  instanceId: Name,
  /** How often both sides send heartbeats. */
  heartbeatIntervalMs: Millis,
  /** A side silent for this many intervals is considered gone. */
  missedHeartbeats: Schema.Int.pipe(Schema.positive())
})
export type Accepted = typeof Accepted.Type

export const RejectReason = Schema.Literal(
  "unsupported_version",
  "bad_credential",
  "unknown_handler",
  "invalid_register",
  "not_registered"
)
export type RejectReason = typeof RejectReason.Type

export const Rejected = Schema.Struct({
  type: Schema.Literal("rejected"),
  reason: RejectReason,
  message: Schema.String
})
export type Rejected = typeof Rejected.Type

export const Run = Schema.Struct({
  type: Schema.Literal("run"),
  jobId: Name,
  attempt: Schema.Int.pipe(Schema.positive()),
  method: Name,
  args: Schema.Array(Schema.Unknown),
  kwargs: JsonObject,
  /** ISO-8601 instant after which the server gives up on this attempt; null = no timeout. */
  deadline: Schema.NullOr(Schema.String)
})
export type Run = typeof Run.Type

export const Cancel = Schema.Struct({
  type: Schema.Literal("cancel"),
  jobId: Name,
  attempt: Schema.Int.pipe(Schema.positive())
})
export type Cancel = typeof Cancel.Type

/** What a server accepts from a handler. */
export const HandlerMessage = Schema.Union(Register, ResultOk, ResultErr, Heartbeat, Deregister)
export type HandlerMessage = typeof HandlerMessage.Type

/** What a handler accepts from a server. */
export const ServerMessage = Schema.Union(Accepted, Rejected, Run, Cancel, Heartbeat)
export type ServerMessage = typeof ServerMessage.Type
