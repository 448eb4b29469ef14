/**
 * Frame sets: a protocol header frame followed by message frames. Many
 * messages share one frame set so that runs and results cross the socket in
 * one write (pipelining).
 *
 * - `SZ1` (protocol 1): each frame is one UTF-8 JSON object.
 * - `SZ2` (protocol 2): each frame is a UTF-8 JSON array of message objects.
 *   One frame carries a whole batch, which costs a fraction of a frame per
 *   message in ZeroMQ and one JSON.parse per batch.
 *
 * Decoding accepts both and never throws: a bad frame (or a bad element of a
 * batch) becomes a Drop naming why, and the good messages around it still
 * count.
 */
import { Either, ParseResult, Schema } from "effect"
import { fastHandlerMessage, fastServerMessage } from "./fastPath.js"
import { HandlerMessage, ServerMessage } from "./messages.js"

/** Framing generations: the header frame names one. */
export type FramingVersion = 1 | 2

/** The first frame of a protocol-1 frame set. */
export const header = "SZ1"
/** The first frame of a protocol-2 frame set. */
export const headerV2 = "SZ2"
const headerBytes = Buffer.from(header)
const headerV2Bytes = Buffer.from(headerV2)

/** Largest message frame accepted, in bytes. */
export const defaultMaxFrameBytes = 1024 * 1024
/** Most messages in one frame set (frames in protocol 1, batch elements in protocol 2). */
export const maxMessagesPerFrameSet = 10_000
/**
 * A protocol-2 sender starts a new frame once a batch holds this many UTF-16
 * units: at most 3 UTF-8 bytes each, the frame stays under the 1 MiB limit.
 */
const batchFrameChars = 256 * 1024

export type DropReason = "bad_header" | "oversized" | "too_many_frames" | "not_json" | "invalid_message"

export interface Drop {
  readonly reason: DropReason
  readonly detail: string
  /** The message's `type` when the frame was a JSON object with a string type (e.g. an invalid register). */
  readonly type?: string
}

export interface Decoded<M> {
  /** The framing the sender used (null when the header was not recognised). */
  readonly version: FramingVersion | null
  readonly messages: ReadonlyArray<M>
  readonly drops: ReadonlyArray<Drop>
}

/** A message as JSON text; a string is taken as already encoded (messages are objects, never strings). */
const toJson = (message: unknown): string => (typeof message === "string" ? message : JSON.stringify(message))

/**
 * Encodes messages into one frame set (header first) in the given framing.
 * Pre-encoded strings let a sender find out early that a value cannot be encoded.
 */
export const encode = (messages: ReadonlyArray<unknown>, version: FramingVersion = 2): Array<Buffer | string> => {
  if (version === 1) {
    const frames: Array<Buffer | string> = [headerBytes]
    for (const message of messages) frames.push(toJson(message))
    return frames
  }
  const frames: Array<Buffer | string> = [headerV2Bytes]
  let batch = ""
  for (const message of messages) {
    const json = toJson(message)
    if (batch.length > 0 && batch.length + json.length > batchFrameChars) {
      frames.push(batch + "]")
      batch = ""
    }
    batch = batch.length === 0 ? "[" + json : batch + "," + json
  }
  if (batch.length > 0) frames.push(batch + "]")
  return frames
}

/**
 * Most UTF-16 units of JSON a sender puts in one frame set: at most 3 UTF-8
 * bytes each, a set stays under the 16 MiB (16 × the default largest frame) a
 * receiver takes before it closes the connection.
 */
const frameSetChars = 4 * 1024 * 1024

/**
 * Encodes messages into as many frame sets as the limits need: at most
 * maxMessagesPerFrameSet messages and frameSetChars of JSON each, so that a
 * burst of large results never makes one set the receiver refuses.
 */
export const encodeSets = (messages: ReadonlyArray<unknown>, version: FramingVersion = 2): Array<Array<Buffer | string>> => {
  if (messages.length === 1) return [encode(messages, version)]
  const sets: Array<Array<Buffer | string>> = []
  let set: Array<string> = []
  let chars = 0
  for (const message of messages) {
    const json = toJson(message)
    if (set.length === maxMessagesPerFrameSet || (set.length > 0 && chars + json.length > frameSetChars)) {
      sets.push(encode(set, version))
      set = []
      chars = 0
    }
    set.push(json)
    chars += json.length
  }
  if (set.length > 0) sets.push(encode(set, version))
  return sets
}

const versionOf = (frame: Uint8Array | undefined): FramingVersion | null => {
  if (frame === undefined || frame.byteLength !== 3) return null
  if (headerV2Bytes.equals(frame)) return 2
  return headerBytes.equals(frame) ? 1 : null
}

const parseFrame = (frame: Uint8Array): { readonly json: unknown } | undefined => {
  try {
    return { json: JSON.parse(Buffer.from(frame.buffer, frame.byteOffset, frame.byteLength).toString("utf8")) }
  } catch {
    return undefined
  }
}

const makeDecoder = <M, I>(schema: Schema.Schema<M, I>, fast: (json: unknown) => M | undefined) => {
  const decode = Schema.decodeUnknownEither(schema, { onExcessProperty: "ignore" })

  /** One message object: the fast check, else the Schema, which decides and explains. */
  const decodeMessage = (json: unknown, where: string, messages: Array<M>, drops: Array<Drop>): void => {
    const quick = fast(json)
    if (quick !== undefined) {
      messages.push(quick)
      return
    }
    const result = decode(json)
    if (Either.isRight(result)) {
      messages.push(result.right)
      return
    }
    const detail = `${where}: ${ParseResult.TreeFormatter.formatErrorSync(result.left).slice(0, 300)}`
    const type = typeof json === "object" && json !== null && "type" in json ? json.type : undefined
    drops.push(typeof type === "string" ? { reason: "invalid_message", detail, type } : { reason: "invalid_message", detail })
  }

  return (frames: ReadonlyArray<Uint8Array>, maxFrameBytes: number = defaultMaxFrameBytes): Decoded<M> => {
    const version = versionOf(frames[0])
    if (version === null) {
      return {
        version,
        messages: [],
        drops: [{ reason: "bad_header", detail: `expected header frame '${header}' or '${headerV2}'` }]
      }
    }
    if (frames.length - 1 > maxMessagesPerFrameSet) {
      return {
        version,
        messages: [],
        drops: [{ reason: "too_many_frames", detail: `${frames.length - 1} frames > ${maxMessagesPerFrameSet}` }]
      }
    }
    const messages: Array<M> = []
    const drops: Array<Drop> = []
    let count = 0
    for (let i = 1; i < frames.length; i++) {
      const frame = frames[i]!
      if (frame.byteLength > maxFrameBytes) {
        drops.push({ reason: "oversized", detail: `frame ${i} has ${frame.byteLength} bytes > ${maxFrameBytes}` })
        continue
      }
      const parsed = parseFrame(frame)
      if (parsed === undefined) {
        drops.push({ reason: "not_json", detail: `frame ${i} is not JSON` })
        continue
      }
      if (version === 1) {
        decodeMessage(parsed.json, `frame ${i}`, messages, drops)
        continue
      }
      if (!Array.isArray(parsed.json)) {
        drops.push({ reason: "invalid_message", detail: `frame ${i} is not a JSON array of messages` })
        continue
      }
      count += parsed.json.length
      if (count > maxMessagesPerFrameSet) {
        drops.push({ reason: "too_many_frames", detail: `more than ${maxMessagesPerFrameSet} messages in one frame set` })
        break
      }
      for (let j = 0; j < parsed.json.length; j++) decodeMessage(parsed.json[j], `frame ${i} message ${j}`, messages, drops)
    }
    return { version, messages, drops }
  }
}

/** Decodes a frame set a handler sent (the server side). */
export const decodeHandlerFrames = makeDecoder(HandlerMessage, fastHandlerMessage)
/** Decodes a frame set a server sent (the handler side). */
export const decodeServerFrames = makeDecoder(ServerMessage, fastServerMessage)
