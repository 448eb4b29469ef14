/**
 * Thousands of random, truncated, oversized and out-of-place frame sets
 * against both ends over real sockets: each side drops them, keeps counting,
 * and still works afterwards.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Fiber } from "effect"
import * as zmq from "zeromq"
import { ZmqRegistry } from "../../../../src/components/registry/Zmq.js"
import { defineHandler, runHandler } from "../../../../src/handler/index.js"
import { decodeHandlerFrames, header, headerV2 } from "../../../../src/protocol/framing.js"
import { HandlerRegistry } from "../../../../src/services/HandlerRegistry.js"
import { job, registryLayer, task, token } from "./fixtures.js"

const makeRandom = (seed: number) => () => {
  seed = (seed * 1103515245 + 12345) % 2147483648
  return seed / 2147483648
}

const samples = [
  { type: "register", protocol: 1, handlerId: "test", instanceId: "x", methods: [{ name: "m" }], concurrency: 1, credential: token },
  { type: "result", jobId: "j", attempt: 1, ok: true, value: 1 },
  { type: "run", jobId: "j", attempt: 1, method: "echo", args: [], kwargs: {}, deadline: null },
  { type: "cancel", jobId: "j", attempt: 1 },
  { type: "accepted", instanceId: "x", heartbeatIntervalMs: 100, missedHeartbeats: 3 },
  { type: "heartbeat" },
  { type: "deregister" }
].map((message) => Buffer.from(JSON.stringify(message)))

/** One garbage frame set: maybe no header, random bytes, truncated or mangled messages, an oversized frame. */
const garbage = (random: () => number): Array<Buffer> => {
  const v2 = random() < 0.5
  const frames: Array<Buffer> = random() < 0.8 ? [Buffer.from(v2 ? headerV2 : header)] : []
  const count = 1 + Math.floor(random() * 4)
  for (let i = 0; i < count; i++) {
    const kind = random()
    const sample = samples[Math.floor(random() * samples.length)]!
    if (v2 && kind < 0.2) frames.push(Buffer.from(`[${sample.toString()},${sample.toString().slice(0, Math.floor(random() * sample.length))}]`))
    else if (kind < 0.3) frames.push(sample.subarray(0, Math.floor(random() * sample.length)))
    else if (kind < 0.6) frames.push(Buffer.from(Array.from({ length: Math.floor(random() * 80) }, () => Math.floor(random() * 256))))
    else if (kind < 0.85) {
      const mangled = Buffer.from(sample)
      mangled[Math.floor(random() * mangled.length)] = Math.floor(random() * 256)
      frames.push(mangled)
    } else if (kind < 0.9) frames.push(Buffer.alloc(1024 * 1024 + 10, 0x20))
    else frames.push(Buffer.from(JSON.stringify({ type: "result", jobId: `j${i}`, attempt: 1 + i, ok: false, error: { tag: "X", message: "" } })))
  }
  return frames
}

const handler = defineHandler({ id: "test", concurrency: 2, methods: { echo: ({ args }) => args } })

describe("fuzzed frames over real sockets", () => {
  it.live("the server drops thousands of bad frame sets and keeps serving", () =>
    Effect.gen(function*() {
      const { endpoint, stats } = yield* ZmqRegistry
      const registry = yield* HandlerRegistry
      const random = makeRandom(7)
      const attacker = new zmq.Dealer({ linger: 0 })
      attacker.connect(endpoint)
      for (let i = 0; i < 3000; i++) yield* Effect.promise(() => attacker.send(garbage(random)))
      attacker.close()
      // Everything sent has been read once the counters stop moving and a real handler works.
      const fiber = yield* Effect.fork(runHandler(handler, { endpoint, credential: token }))
      let result: unknown
      while (result === undefined) {
        result = yield* registry.run(job({ args: ["still alive"] }), task("echo")).pipe(
          Effect.timeout("200 millis"),
          Effect.catchAll(() => Effect.succeed(undefined))
        )
      }
      expect(result).toEqual(["still alive"])
      const counted = yield* stats
      expect(counted.droppedTotal).toBeGreaterThan(3000)
      expect(counted.dropped.not_json + counted.dropped.invalid_message).toBeGreaterThan(1000)
      expect(counted.dropped.oversized).toBeGreaterThan(0)
      yield* Fiber.interrupt(fiber)
    }).pipe(Effect.provide(registryLayer())))

  it.live("a handler drops thousands of bad frame sets from the server and keeps running jobs", () =>
    Effect.gen(function*() {
      // Queues without limit, as the registry's ROUTER does: at its default high-water mark a ROUTER drops
      // what a slow reader has not taken yet, and the run after the garbage could be one of them.
      const server = new zmq.Router({ linger: 0, sendHighWaterMark: 0 })
      yield* Effect.promise(() => server.bind("tcp://127.0.0.1:0"))
      const fiber = yield* Effect.fork(runHandler(handler, { endpoint: server.lastEndpoint!, credential: token }))
      const [peer, ...first] = yield* Effect.promise(() => server.receive())
      expect(decodeHandlerFrames(first).messages[0]?.type).toBe("register")
      const send = (frames: Array<Buffer | string>) => Effect.promise(() => server.send([peer!, ...frames]))
      yield* send([header, JSON.stringify({ type: "accepted", instanceId: "x", heartbeatIntervalMs: 100, missedHeartbeats: 3 })])
      const random = makeRandom(11)
      for (let i = 0; i < 3000; i++) yield* send(garbage(random))
      yield* send([header, JSON.stringify({ type: "run", jobId: "ok-1", attempt: 1, method: "echo", args: ["x"], kwargs: {}, deadline: null })])
      let answered = false
      while (!answered) {
        const [, ...frames] = yield* Effect.promise(() => server.receive())
        answered = decodeHandlerFrames(frames).messages.some((m) =>
          m.type === "result" && m.jobId === "ok-1" && m.ok && JSON.stringify(m.value) === JSON.stringify(["x"])
        )
      }
      expect(answered).toBe(true)
      yield* Fiber.interrupt(fiber)
      server.close()
    }).pipe(Effect.timeout("50 seconds")))
})
