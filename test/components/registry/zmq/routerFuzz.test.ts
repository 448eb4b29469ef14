/**
 * Raw TCP against the registry's own ZMTP ROUTER (plain tcp://): thousands of
 * connections of random bytes, cut greetings, bad frames after a good
 * handshake, huge declared lengths, endless frame sets, commands out of place
 * and abrupt closes at every byte of a handshake, while a real handler stays
 * registered and keeps running jobs. Bad connections are closed, counted and
 * logged with the peer's address:port.
 */
import * as net from "node:net"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Fiber, Logger } from "effect"
import { ZmqRegistry } from "../../../../src/components/registry/Zmq.js"
import { defineHandler, runHandler } from "../../../../src/handler/index.js"
import { commandFrame, encodeFrames, greeting, property } from "../../../../src/handler/zmtp.js"
import { HandlerRegistry } from "../../../../src/services/HandlerRegistry.js"
import { job, registryLayer, task, token } from "./fixtures.js"

const makeRandom = (seed: number) => () => {
  seed = (seed * 1103515245 + 12345) % 2147483648
  return seed / 2147483648
}

const ready = (socketType: string) => commandFrame("READY", property("Socket-Type", socketType))
const handshake = Buffer.concat([greeting(), ready("DEALER")])
const registerSet = encodeFrames(["SZ1", JSON.stringify({ type: "heartbeat" })])
const bytesOf = (random: () => number, length: number) =>
  Buffer.from(Array.from({ length }, () => Math.floor(random() * 256)))

/** A frame header declaring `size` bytes (long form) with `flags`. */
const longHeader = (flags: number, size: bigint) => {
  const header = Buffer.alloc(9)
  header[0] = flags | 0x02
  header.writeBigUInt64BE(size, 1)
  return header
}

interface Attack {
  readonly bytes: Buffer
  /** The server must close it (a protocol violation); otherwise the client closes after writing. */
  readonly dropped: boolean
  readonly reset?: boolean
}

/** Attacks the server must answer by closing the connection. */
const violations = (random: () => number): Array<Attack> => [
  // Random bytes: anything but 0xff first is no greeting.
  { bytes: Buffer.concat([Buffer.from([random() * 255]), bytesOf(random, 1 + Math.floor(random() * 200))]), dropped: true },
  // A greeting of another mechanism or version.
  { bytes: Buffer.concat([greeting().fill(0, 12, 32).fill("CURVE", 12, 17), ready("DEALER")]), dropped: true },
  { bytes: Buffer.from(greeting().fill(2, 10, 11)), dropped: true },
  // A valid greeting, then random frames.
  { bytes: Buffer.concat([handshake, Buffer.from([0xf8 | Math.floor(random() * 8)]), bytesOf(random, 300)]), dropped: true },
  // A huge declared frame length, before and after READY.
  { bytes: Buffer.concat([greeting(), longHeader(0, 1n << BigInt(25 + Math.floor(random() * 38)))]), dropped: true },
  { bytes: Buffer.concat([handshake, longHeader(random() < 0.5 ? 0 : 1, 0xffffffffffffffffn)]), dropped: true },
  // Messages and commands out of place.
  { bytes: Buffer.concat([greeting(), registerSet]), dropped: true },
  { bytes: Buffer.concat([greeting(), commandFrame("PING", Buffer.from([0, 1]))]), dropped: true },
  { bytes: Buffer.concat([handshake, ready("DEALER")]), dropped: true },
  { bytes: Buffer.concat([greeting(), ready("PUB")]), dropped: true },
  { bytes: Buffer.concat([handshake, Buffer.from([0x01, 1, 0x41]), commandFrame("PING", Buffer.from([0, 1]))]), dropped: true },
  { bytes: Buffer.concat([handshake, Buffer.from([0x05, 4, 4, 0x50, 0x49, 0x4e])]), dropped: true }
]

/** Attacks the client cuts off: truncated greetings, handshakes and frames, closed or reset. */
const truncations = (random: () => number): Array<Attack> => {
  const whole = Buffer.concat([handshake, registerSet, longHeader(0, 1000n), bytesOf(random, 100)])
  const cut = Math.floor(random() * whole.length)
  return [{ bytes: whole.subarray(0, cut), dropped: false, reset: random() < 0.5 }]
}

/** Connects, writes, and resolves whether the server closed the connection (else the client closes it after `waitMs`). */
const attack = (port: number, { bytes, reset }: Attack, waitMs: number): Promise<boolean> =>
  new Promise((resolve) => {
    const socket = net.connect({ host: "127.0.0.1", port })
    let byServer = false
    const timer = setTimeout(() => (reset === true ? socket.resetAndDestroy() : socket.destroy()), waitMs)
    socket.on("connect", () => {
      if (bytes.length > 0) socket.write(bytes)
    })
    socket.on("data", () => undefined)
    socket.on("end", () => {
      byServer = true
    })
    socket.on("error", () => {
      byServer = true
    })
    socket.on("close", () => {
      clearTimeout(timer)
      resolve(byServer)
    })
  })

/** Writes MORE frames until the server closes the connection; resolves how many bytes went out. */
const endlessFrameSet = (port: number, frameBytes: number): Promise<number> =>
  new Promise((resolve, reject) => {
    const socket = net.connect({ host: "127.0.0.1", port })
    const frame = Buffer.concat([frameBytes <= 255 ? Buffer.from([0x01, frameBytes]) : longHeader(0x01, BigInt(frameBytes)), Buffer.alloc(frameBytes)])
    const batch = Buffer.concat(Array.from({ length: Math.max(1, Math.floor(65536 / frame.length)) }, () => frame))
    let written = 0
    const timer = setTimeout(() => {
      socket.destroy()
      reject(new Error(`still open after ${written} bytes`))
    }, 10_000)
    const pump = () => {
      while (!socket.destroyed && written < 1 << 30) {
        written += batch.length
        if (!socket.write(batch)) return
      }
    }
    socket.on("connect", () => {
      socket.write(handshake)
      pump()
    })
    socket.on("drain", pump)
    socket.on("data", () => undefined)
    socket.on("error", () => undefined)
    socket.on("close", () => {
      clearTimeout(timer)
      resolve(written)
    })
  })

const handler = defineHandler({ id: "test", concurrency: 2, methods: { echo: ({ args }) => args } })

describe("raw TCP against the registry's ZMTP router", () => {
  const lines: Array<string> = []
  const capture = Logger.replace(
    Logger.defaultLogger,
    Logger.make(({ annotations, message }) => {
      lines.push(`${String(message)} ${JSON.stringify(Object.fromEntries(annotations))}`)
    })
  )

  it.live("drops, counts and logs thousands of bad connections while a handler keeps running jobs", () =>
    Effect.gen(function*() {
      const { endpoint, stats } = yield* ZmqRegistry
      const registry = yield* HandlerRegistry
      const port = Number(/:(\d+)$/.exec(endpoint)![1])
      const handlerFiber = yield* Effect.fork(runHandler(handler, { endpoint, credential: token }))
      const runOne = (n: number) => registry.run(job({ args: [n] }), task("echo"))
      // Wait for the handler, then keep it busy through the whole attack.
      let first: unknown
      while (first === undefined) first = yield* runOne(0).pipe(Effect.timeout("200 millis"), Effect.orElseSucceed(() => undefined))
      let served = 0
      const jobs = yield* Effect.fork(Effect.forever(Effect.suspend(() =>
        Effect.flatMap(runOne(served + 1), (result) =>
          Effect.sync(() => {
            expect(result).toEqual([served + 1])
            served++
          }))
      )))

      const random = makeRandom(11)
      const attacks: Array<Attack> = []
      for (let i = 0; i < 250; i++) attacks.push(...violations(random), ...truncations(random))
      // An abrupt close (and a reset) at every byte of a handshake and its first frame set.
      const whole = Buffer.concat([handshake, registerSet])
      for (let cut = 0; cut <= whole.length; cut++) {
        attacks.push({ bytes: whole.subarray(0, cut), dropped: false }, { bytes: whole.subarray(0, cut), dropped: false, reset: true })
      }
      const mustDrop = attacks.filter((one) => one.dropped).length
      expect(attacks.length).toBeGreaterThan(3000)
      const before = yield* stats
      const closedByServer = yield* Effect.forEach(
        attacks,
        (one) => Effect.promise(() => attack(port, one, one.dropped ? 5000 : 5)),
        { concurrency: 32 }
      )
      // Each violation was closed by the server (not by the client's 5 s give-up).
      const notDropped = attacks.filter((one, i) => one.dropped && !closedByServer[i])
      expect(notDropped.map((one) => one.bytes.subarray(0, 80).toString("hex"))).toEqual([])
      // Endless frame sets: too many frames, then too many bytes (1 MiB frames past 16 MiB).
      for (const frameBytes of [0, 1024 * 1024]) {
        const written = yield* Effect.promise(() => endlessFrameSet(port, frameBytes))
        expect(written).toBeLessThan(64 * 1024 * 1024)
      }

      // Still serving the handler, on its first connection.
      const servedDuring = served
      expect(servedDuring).toBeGreaterThan(0)
      while (served < servedDuring + 10) yield* Effect.sleep("10 millis")
      yield* Fiber.interrupt(jobs)
      const after = yield* stats
      const counted = after.dropped.protocol - before.dropped.protocol
      expect(counted).toBeGreaterThanOrEqual(mustDrop + 2)
      // Every connection the client cut before READY counts too; none is counted twice.
      expect(counted).toBeLessThanOrEqual(attacks.length + 2)
      const [info] = (yield* registry.list()).filter((one) => one.id === "test")
      expect(info!.instances!).toHaveLength(1)
      expect(info!.instances![0]!.status).toBe("online")
      // Logged naming the peer, rate-limited.
      const dropLines = lines.filter((line) => line.startsWith("handler connection dropped"))
      expect(dropLines.length).toBeGreaterThan(0)
      expect(dropLines.length).toBeLessThan(counted)
      const named = dropLines.filter((line) => /"peer":"127\.0\.0\.1:\d+"/.test(line))
      expect(named.length).toBeGreaterThan(dropLines.length / 2)
      expect(dropLines.every((line) => named.includes(line) || line.includes('"peer":"(reset before accepted)"'))).toBe(true)
      expect(dropLines.some((line) => line.includes("notLogged"))).toBe(true)
      yield* Fiber.interrupt(handlerFiber)
    }).pipe(Effect.provide(registryLayer()), Effect.provide(capture)), 120_000)
})
