/**
 * Frame sets: a protocol header frame followed by one or more message frames,
 * each a UTF-8 JSON object. Several messages share one frame set so that many
 * runs or results cross the socket in one write (pipelining). Decoding never
 * throws: a bad frame becomes a Drop naming why, and the good frames around it
 * still count.
 */
import { Either, ParseResult, Schema } from "effect"
import { fastHandlerMessage, fastServerMessage } from "./fastPath.js"
import { HandlerMessage, ServerMessage } from "./messages.js"

/** The first frame of every frame set: protocol name and version. */
export const header = "SZ1"
const headerBytes = Buffer.from(header)

/** Largest message frame accepted, in bytes. */
export const defaultMaxFrameBytes = 1024 * 1024
/** Most message frames in one frame set. */
export const maxMessagesPerFrameSet = 10_000

export type DropReason = "bad_header" | "oversized" | "too_many_frames" | "not_json" | "invalid_message"

export interface Drop {
  readonly reason: DropReason
  readonly detail: string
  /** The message's `type` when the frame was a JSON object with a string type (e.g. an invalid register). */
  readonly type?: string
}

export interface Decoded<M> {
  readonly messages: ReadonlyArray<M>
  readonly drops: ReadonlyArray<Drop>
}

/**
 * Encodes messages into one frame set (header first). A string is taken as a
 * message already encoded to JSON (messages are objects, never strings), which
 * lets a sender find out early that a value cannot be encoded.
 */
export const encode = (messages: ReadonlyArray<unknown>): Array<Buffer | string> => {
  const frames: Array<Buffer | string> = [headerBytes]
  for (const message of messages) frames.push(typeof message === "string" ? message : JSON.stringify(message))
  return frames
}

const isHeader = (frame: Uint8Array): boolean => frame.byteLength === headerBytes.byteLength && headerBytes.equals(frame)

const makeDecoder = <M, I>(schema: Schema.Schema<M, I>, fast: (json: unknown) => M | undefined) => {
  const decode = Schema.decodeUnknownEither(schema, { onExcessProperty: "ignore" })
  return (frames: ReadonlyArray<Uint8Array>, maxFrameBytes: number = defaultMaxFrameBytes): Decoded<M> => {
    const first = frames[0]
    if (first === undefined || !isHeader(first)) {
      return { messages: [], drops: [{ reason: "bad_header", detail: `expected header frame '${header}'` }] }
    }
    if (frames.length - 1 > maxMessagesPerFrameSet) {
      return {
        messages: [],
        drops: [{ reason: "too_many_frames", detail: `${frames.length - 1} frames > ${maxMessagesPerFrameSet}` }]
      }
    }
    const messages: Array<M> = []
    const drops: Array<Drop> = []
    for (let i = 1; i < frames.length; i++) {
      const frame = frames[i]!
      if (frame.byteLength > maxFrameBytes) {
        drops.push({ reason: "oversized", detail: `frame ${i} has ${frame.byteLength} bytes > ${maxFrameBytes}` })
        continue
      }
      let json: unknown
      try {
        json = JSON.parse(Buffer.from(frame.buffer, frame.byteOffset, frame.byteLength).toString("utf8"))
      } catch {
        drops.push({ reason: "not_json", detail: `frame ${i} is not JSON` })
        continue
      }
      const quick = fast(json)
      if (quick !== undefined) {
        messages.push(quick)
        continue
      }
      const result = decode(json)
      if (Either.isRight(result)) messages.push(result.right)
      else {
        const detail = `frame ${i}: ${ParseResult.TreeFormatter.formatErrorSync(result.left).slice(0, 300)}`
        const type = typeof json === "object" && json !== null && "type" in json ? json.type : undefined
        drops.push(typeof type === "string" ? { reason: "invalid_message", detail, type } : { reason: "invalid_message", detail })
      }
    }
    return { messages, drops }
  }
}

/** Decodes a frame set a handler sent (the server side). */
export const decodeHandlerFrames = makeDecoder(HandlerMessage, fastHandlerMessage)
/** Decodes a frame set a server sent (the handler side). */
export const decodeServerFrames = makeDecoder(ServerMessage, fastServerMessage)
