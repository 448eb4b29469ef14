/**
 * One published message: two frames, `[topic, JSON]`. The JSON carries the
 * publishing instance, its run (new on every start) and two counters, so a
 * listener sees what it missed:
 *   { "instance": "sched-a", "run": "k3x9...", "seq": 41, "topicSeq": 7, "event": { "_tag": ..., ... } }
 * `seq` counts every message the run sent (1, 2, 3, ...); `topicSeq` counts
 * the messages of that exact topic, for listeners that filter by prefix.
 */
import { Either, Option, ParseResult, Schema } from "effect"
import { SchedulerEvent } from "../../../domain/events.js"
import { decodeEvent } from "../fastDecode.js"
import { encodeEvent } from "./encode.js"
import { topicOf } from "./topics.js"

export { encodeEvent }

const Counter = Schema.Int.pipe(Schema.positive())

const header = {
  instance: Schema.NonEmptyString,
  run: Schema.NonEmptyString,
  seq: Counter,
  topicSeq: Counter
}

/** A message as a peer scheduler takes it: the event fully decoded. */
export const Envelope = Schema.Struct({ ...header, event: SchedulerEvent })
export type Envelope = typeof Envelope.Type

/**
 * A message as a viewer takes it: the header checked, the event any object
 * with a `_tag` (a newer publisher may send kinds this build does not know).
 */
export const LooseEnvelope = Schema.Struct({
  ...header,
  event: Schema.Struct({ _tag: Schema.NonEmptyString }, { key: Schema.String, value: Schema.Unknown })
})
export type LooseEnvelope = typeof LooseEnvelope.Type

/** Why a received message was dropped. */
export type DropReason = "frame_count" | "not_json" | "invalid_envelope" | "topic_mismatch"

export interface Drop {
  readonly reason: DropReason
  readonly detail: string
}

/** The JSON text before the event, fixed for one run (so each message costs one encoding of its event). */
export const headerPrefix = (instance: string, run: string): string =>
  `{"instance":${JSON.stringify(instance)},"run":${JSON.stringify(run)},"seq":`

/** The message body: the run's header prefix, the counters, the event. */
export const encodeBody = (prefix: string, seq: number, topicSeq: number, event: SchedulerEvent): string =>
  `${prefix}${seq},"topicSeq":${topicSeq},"event":${encodeEvent(event)}}`

// A peer takes thousands of messages a second: the header is checked by hand and the event
// decoded by fastDecode (the frequent kinds checked field by field, the rest by their member
// schema; measured: 2.4 µs a message with JSON.parse, 8 µs through the member schemas). An
// event it refuses goes to its member schema, chosen by tag, which says what is wrong.
const memberDecoders = new Map(
  SchedulerEvent.members.map((member) => [member._tag as string, Schema.decodeUnknownEither(member as Schema.Schema<SchedulerEvent, unknown>)])
)

const isCounter = (value: unknown): value is number => typeof value === "number" && Number.isInteger(value) && value > 0

const decodeStrict = (json: unknown): Either.Either<Envelope, Drop> => {
  const problem = (detail: string): Either.Either<never, Drop> => Either.left({ reason: "invalid_envelope", detail })
  if (typeof json !== "object" || json === null || Array.isArray(json)) return problem("expected a JSON object")
  const { event, instance, run, seq, topicSeq } = json as Record<string, unknown>
  if (typeof instance !== "string" || instance === "") return problem("instance: expected a non-empty string")
  if (typeof run !== "string" || run === "") return problem("run: expected a non-empty string")
  if (!isCounter(seq)) return problem("seq: expected a positive integer")
  if (!isCounter(topicSeq)) return problem("topicSeq: expected a positive integer")
  if (typeof event !== "object" || event === null) return problem("event: expected an object")
  const envelope = (decoded: SchedulerEvent) => Either.right({ instance, run, seq, topicSeq, event: decoded })
  const fast = decodeEvent(event)
  if (Option.isSome(fast)) return envelope(fast.value)
  const tag = (event as { readonly _tag?: unknown })._tag
  const decode = typeof tag === "string" ? memberDecoders.get(tag) : undefined
  if (decode === undefined) return problem(`event._tag: unknown event type ${JSON.stringify(tag)}`)
  return Either.match(decode(event), {
    onLeft: (error) => problem(`event: ${ParseResult.TreeFormatter.formatErrorSync(error)}`),
    onRight: envelope
  })
}

const decodeLoose = Schema.decodeUnknownEither(LooseEnvelope)

const parseFrames = (frames: ReadonlyArray<Buffer>): Either.Either<{ topic: string; json: unknown }, Drop> => {
  if (frames.length !== 2) {
    return Either.left({ reason: "frame_count", detail: `expected 2 frames [topic, JSON], got ${frames.length}` })
  }
  try {
    return Either.right({ topic: frames[0]!.toString("utf8"), json: JSON.parse(frames[1]!.toString("utf8")) })
  } catch (error) {
    return Either.left({ reason: "not_json", detail: error instanceof Error ? error.message : String(error) })
  }
}

const invalid = (error: ParseResult.ParseError): Drop => ({
  reason: "invalid_envelope",
  detail: ParseResult.TreeFormatter.formatErrorSync(error)
})

/** Frames from a peer to its topic and envelope, or why they were dropped. */
export const decodeMessage = (frames: ReadonlyArray<Buffer>): Either.Either<{ topic: string; envelope: Envelope }, Drop> =>
  Either.flatMap(parseFrames(frames), ({ topic, json }) =>
    Either.flatMap(decodeStrict(json), (envelope) => {
      const expected = topicOf(envelope.event)
      return expected === topic
        ? Either.right({ topic, envelope })
        : Either.left({ reason: "topic_mismatch", detail: `topic '${topic}' for a ${envelope.event._tag} (expected '${expected}')` })
    }))

/** Frames to topic and loosely checked envelope, for viewers (the events CLI). */
export const decodeLooseMessage = (
  frames: ReadonlyArray<Buffer>
): Either.Either<{ topic: string; envelope: LooseEnvelope; json: string }, Drop> =>
  Either.flatMap(parseFrames(frames), ({ topic, json }) =>
    Either.map(Either.mapLeft(decodeLoose(json), invalid), (envelope) => ({
      topic,
      envelope,
      json: frames[1]!.toString("utf8")
    })))
