import { describe, expect, it } from "@effect/vitest"
import { Either, Schema } from "effect"
import { fastHandlerMessage, fastServerMessage } from "../../src/protocol/fastPath.js"
import { decodeHandlerFrames, decodeServerFrames, defaultMaxFrameBytes, encode, encodeSets, header, headerV2, maxMessagesPerFrameSet } from "../../src/protocol/framing.js"
import { HandlerMessage, ServerMessage } from "../../src/protocol/messages.js"

const toBuffers = (frames: ReadonlyArray<Buffer | string>) => frames.map((f) => (typeof f === "string" ? Buffer.from(f) : f))

describe("framing", () => {
  it("round-trips several messages in one protocol-1 frame set, one frame each", () => {
    const frames = toBuffers(encode([
      { type: "result", jobId: "j1", attempt: 1, ok: true, value: 3 },
      { type: "result", jobId: "j2", attempt: 2, ok: false, error: { tag: "Boom", message: "no" } },
      { type: "heartbeat" }
    ], 1))
    expect(frames[0]!.toString()).toBe(header)
    expect(frames).toHaveLength(4)
    const decoded = decodeHandlerFrames(frames)
    expect(decoded.drops).toEqual([])
    expect(decoded.messages.map((m) => m.type)).toEqual(["result", "result", "heartbeat"])
  })

  it("protocol 2 batches messages into one array frame and splits batches before the frame limit", () => {
    const results = Array.from({ length: 3 }, (_, i) => ({ type: "result", jobId: `j${i}`, attempt: 1, ok: true, value: i }))
    const frames = toBuffers(encode([...results, JSON.stringify({ type: "heartbeat" })]))
    expect(frames.map((f) => f.toString())).toEqual([headerV2, JSON.stringify([...results, { type: "heartbeat" }])])
    const decoded = decodeHandlerFrames(frames)
    expect(decoded).toEqual({ version: 2, messages: [...results, { type: "heartbeat" }], drops: [] })

    const big = Array.from({ length: 5000 }, (_, i) => ({ type: "result", jobId: `job-${i}`, attempt: 1, ok: true, value: "x".repeat(100) }))
    const split = toBuffers(encode(big))
    expect(split.length).toBeGreaterThan(2)
    expect(split.every((frame) => frame.byteLength < 1024 * 1024)).toBe(true)
    expect(decodeHandlerFrames(split).messages).toHaveLength(5000)
  })

  it("splits what one write sends into frame sets a receiver takes: at most 10,000 messages and 16 MiB each", () => {
    const setBytes = (frames: ReadonlyArray<Buffer | string>) => toBuffers(frames).reduce((sum, frame) => sum + frame.byteLength, 0)
    for (const version of [1, 2] as const) {
      const many = encodeSets(Array.from({ length: 25_000 }, () => ({ type: "heartbeat" })), version)
      expect(many.map((set) => decodeHandlerFrames(toBuffers(set)).messages.length)).toEqual([10_000, 10_000, 5_000])
      // Results of 600,000 characters (2 and 3 bytes in UTF-8): 1.5 MB a message, 30 MB together.
      const large = Array.from({ length: 20 }, (_, i) => ({ type: "result", jobId: `j${i}`, attempt: 1, ok: true, value: "é€".repeat(300_000) }))
      const sets = encodeSets(large, version)
      expect(sets.length).toBeGreaterThan(2)
      expect(sets.every((set) => setBytes(set) <= 16 * defaultMaxFrameBytes)).toBe(true)
      expect(sets.flatMap((set) => decodeHandlerFrames(toBuffers(set), 2 * defaultMaxFrameBytes).messages.map((m) => (m.type === "result" ? m.jobId : "")))).toEqual(large.map((r) => r.jobId))
    }
    expect(encodeSets([{ type: "heartbeat" }])).toEqual([encode([{ type: "heartbeat" }])])
    expect(maxMessagesPerFrameSet).toBe(10_000)
  })

  it("protocol 2 drops a bad element of a batch, or a frame that is not an array, and keeps the rest", () => {
    const frames = [
      Buffer.from(headerV2),
      Buffer.from(JSON.stringify([{ type: "cancel", jobId: "a", attempt: 1 }, { type: "cancel", jobId: "b", attempt: 0 }, 7])),
      Buffer.from(JSON.stringify({ type: "cancel", jobId: "c", attempt: 1 })),
      Buffer.from("[{\"type\":"),
      Buffer.from(JSON.stringify([{ type: "heartbeat" }]))
    ]
    const decoded = decodeServerFrames(frames)
    expect(decoded.version).toBe(2)
    expect(decoded.messages).toEqual([{ type: "cancel", jobId: "a", attempt: 1 }, { type: "heartbeat" }])
    expect(decoded.drops.map((d) => d.reason)).toEqual(["invalid_message", "invalid_message", "invalid_message", "not_json"])
    expect(decoded.drops[0]!.detail).toContain("frame 1 message 1")
    const tooMany = decodeServerFrames([Buffer.from(headerV2), Buffer.from(JSON.stringify(Array.from({ length: 10_001 }, () => ({ type: "heartbeat" }))))])
    expect(tooMany.drops.map((d) => d.reason)).toEqual(["too_many_frames"])
  })

  it("drops bad frames but keeps the good ones around them", () => {
    const frames = [
      Buffer.from(header),
      Buffer.from("{not json"),
      Buffer.from(JSON.stringify({ type: "run", jobId: "j", attempt: 0, method: "m", args: [], kwargs: {}, deadline: null })),
      Buffer.from(JSON.stringify({ type: "cancel", jobId: "j", attempt: 1 })),
      Buffer.alloc(2 * 1024 * 1024, 32)
    ]
    const decoded = decodeServerFrames(frames)
    expect(decoded.messages).toEqual([{ type: "cancel", jobId: "j", attempt: 1 }])
    expect(decoded.drops.map((d) => d.reason)).toEqual(["not_json", "invalid_message", "oversized"])
  })

  it("rejects a frame set without the protocol header", () => {
    expect(decodeHandlerFrames([Buffer.from("SZ3"), Buffer.from("{}")]).drops[0]!.reason).toBe("bad_header")
    expect(decodeHandlerFrames([]).drops[0]!.reason).toBe("bad_header")
  })

  it("survives thousands of random and truncated frame sets on both sides", () => {
    let seed = 42
    const random = () => {
      seed = (seed * 1103515245 + 12345) % 2147483648
      return seed / 2147483648
    }
    const register = { type: "register", protocol: 1, handlerId: "h", instanceId: "i", methods: [{ name: "m" }], concurrency: 2, credential: null }
    for (let i = 0; i < 5000; i++) {
      const withHeader = random() < 0.7
      const v2 = random() < 0.5
      const frames: Array<Buffer> = withHeader ? [Buffer.from(v2 ? headerV2 : header)] : []
      // In protocol 2 each frame is a batch: here a batch of one, so each frame has one outcome.
      const json = (message: unknown) => Buffer.from(JSON.stringify(v2 ? [message] : message))
      const valid = json(register)
      const count = Math.floor(random() * 4)
      for (let f = 0; f < count; f++) {
        const kind = random()
        if (kind < 0.4) frames.push(valid.subarray(0, Math.floor(random() * valid.length)))
        else if (kind < 0.8) frames.push(Buffer.from(Array.from({ length: Math.floor(random() * 64) }, () => Math.floor(random() * 256))))
        else frames.push(json({ type: ["run", "result", "register", "cancel"][f % 4], jobId: random() }))
      }
      const a = decodeHandlerFrames(frames)
      const b = decodeServerFrames(frames)
      // Every frame is accounted for: decoded or dropped with a reason.
      const expected = withHeader ? count : 1
      expect(a.messages.length + a.drops.length).toBe(expected)
      expect(b.messages.length + b.drops.length).toBe(expected)
    }
  })
})

describe("fast path", () => {
  it("accepts only messages the Schemas accept", () => {
    let seed = 3
    const random = () => {
      seed = (seed * 1103515245 + 12345) % 2147483648
      return seed / 2147483648
    }
    const oddValues: Array<unknown> = [null, 0, -1, 1.5, 2, "", "x", "y".repeat(201), [], {}, true, false, ["a"], { a: 1 }]
    const bases: Array<Record<string, unknown>> = [
      { type: "run", jobId: "j", attempt: 1, method: "m", args: [], kwargs: {}, deadline: null },
      { type: "result", jobId: "j", attempt: 1, ok: true, value: 1 },
      { type: "result", jobId: "j", attempt: 1, ok: false, error: { tag: "T", message: "m" } },
      { type: "cancel", jobId: "j", attempt: 1 },
      { type: "heartbeat" },
      { type: "deregister" }
    ]
    const strictHandler = Schema.decodeUnknownEither(HandlerMessage, { onExcessProperty: "ignore" })
    const strictServer = Schema.decodeUnknownEither(ServerMessage, { onExcessProperty: "ignore" })
    let accepted = 0
    for (let i = 0; i < 20_000; i++) {
      const message: Record<string, unknown> = { ...bases[Math.floor(random() * bases.length)]! }
      const keys = [...Object.keys(message), "error", "ok", "value", "args", "kwargs"]
      for (let m = Math.floor(random() * 3); m > 0; m--) {
        const key = keys[Math.floor(random() * keys.length)]!
        if (random() < 0.2) delete message[key]
        else message[key] = oddValues[Math.floor(random() * oddValues.length)]
      }
      if (fastHandlerMessage(message) !== undefined) {
        accepted++
        expect(Either.isRight(strictHandler(message))).toBe(true)
      }
      if (fastServerMessage(message) !== undefined) {
        accepted++
        expect(Either.isRight(strictServer(message))).toBe(true)
      }
    }
    expect(accepted).toBeGreaterThan(1000)
  })
})
