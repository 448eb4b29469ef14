import { describe, expect, it } from "@effect/vitest"
import { Either, Schema } from "effect"
import { fastHandlerMessage, fastServerMessage } from "../../src/protocol/fastPath.js"
import { decodeHandlerFrames, decodeServerFrames, encode, header } from "../../src/protocol/framing.js"
import { HandlerMessage, ServerMessage } from "../../src/protocol/messages.js"

const toBuffers = (frames: ReadonlyArray<Buffer | string>) => frames.map((f) => (typeof f === "string" ? Buffer.from(f) : f))

describe("framing", () => {
  it("round-trips several messages in one frame set", () => {
    const frames = toBuffers(encode([
      { type: "result", jobId: "j1", attempt: 1, ok: true, value: 3 },
      { type: "result", jobId: "j2", attempt: 2, ok: false, error: { tag: "Boom", message: "no" } },
      { type: "heartbeat" }
    ]))
    expect(frames[0]!.toString()).toBe(header)
    const decoded = decodeHandlerFrames(frames)
    expect(decoded.drops).toEqual([])
    expect(decoded.messages.map((m) => m.type)).toEqual(["result", "result", "heartbeat"])
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
    expect(decodeHandlerFrames([Buffer.from("SZ2"), Buffer.from("{}")]).drops[0]!.reason).toBe("bad_header")
    expect(decodeHandlerFrames([]).drops[0]!.reason).toBe("bad_header")
  })

  it("survives thousands of random and truncated frame sets on both sides", () => {
    let seed = 42
    const random = () => {
      seed = (seed * 1103515245 + 12345) % 2147483648
      return seed / 2147483648
    }
    const valid = Buffer.from(JSON.stringify({ type: "register", protocol: 1, handlerId: "h", instanceId: "i", methods: [{ name: "m" }], concurrency: 2, credential: null }))
    for (let i = 0; i < 5000; i++) {
      const withHeader = random() < 0.7
      const frames: Array<Buffer> = withHeader ? [Buffer.from(header)] : []
      const count = Math.floor(random() * 4)
      for (let f = 0; f < count; f++) {
        const kind = random()
        if (kind < 0.4) frames.push(valid.subarray(0, Math.floor(random() * valid.length)))
        else if (kind < 0.8) frames.push(Buffer.from(Array.from({ length: Math.floor(random() * 64) }, () => Math.floor(random() * 256))))
        else frames.push(Buffer.from(JSON.stringify({ type: ["run", "result", "register", "cancel"][f % 4], jobId: random() })))
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
