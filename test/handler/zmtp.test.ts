/** The SDK's own ZMTP DEALER against libzmq's ROUTER: handshake, frames of every size, queueing, reconnects. */
import * as net from "node:net"
import { afterEach, describe, expect, it, vi } from "vitest"
import * as zmq from "zeromq"
import {
  commandFrame,
  encodeFrames,
  FrameReader,
  greeting,
  property,
  ReceiveBusy,
  tcpAddress,
  ZmtpConnectionFailed,
  ZmtpDealer
} from "../../src/handler/zmtp.js"

const open: Array<{ close: () => void }> = []
afterEach(() => {
  for (const socket of open.splice(0)) socket.close()
})

const router = async (endpoint = "tcp://127.0.0.1:0") => {
  const socket = new zmq.Router({ linger: 0 })
  open.push(socket)
  await socket.bind(endpoint)
  return socket
}

const rebind = async (endpoint: string) => {
  for (let attempt = 1; ; attempt++) {
    try {
      return await router(endpoint)
    } catch (error) {
      if (attempt >= 100) throw error
      open.pop()?.close()
      await new Promise((done) => setTimeout(done, 20))
    }
  }
}

const dealerTo = (endpoint: string, routingId = "dealer-1", more: Partial<ConstructorParameters<typeof ZmtpDealer>[1]> = {}) => {
  const dealer = new ZmtpDealer(tcpAddress(endpoint)!, {
    routingId,
    reconnectIntervalMs: 20,
    reconnectMaxIntervalMs: 100,
    ...more
  })
  open.push(dealer)
  return dealer
}

/** A port nothing listens on (closed before it is used; a ROUTER's listener would close only later, in libzmq's thread). */
const freePort = () =>
  new Promise<number>((resolve) => {
    const server = net.createServer().listen(0, "127.0.0.1", () => {
      const { port } = server.address() as net.AddressInfo
      server.close(() => resolve(port))
    })
  })

const texts = (frames: ReadonlyArray<Buffer>) => frames.map((frame) => frame.toString())

const routerHello = Buffer.concat([greeting(), commandFrame("READY", property("Socket-Type", "ROUTER"))])

/** A hand-made peer on a port of its own; `onConnection` plays the server's part. */
const fakeServer = async (onConnection: (socket: net.Socket) => void) => {
  const server = net.createServer((socket) => {
    socket.on("error", () => undefined)
    onConnection(socket)
  })
  open.push(server)
  await new Promise<void>((done) => server.listen(0, "127.0.0.1", done))
  return `tcp://127.0.0.1:${(server.address() as net.AddressInfo).port}`
}

/** The reasons a dealer to a fake server reports until `until` of them came (or a second passed). */
const failures = async (onConnection: (socket: net.Socket) => void, until = 1, more = {}) => {
  const endpoint = await fakeServer(onConnection)
  const reasons: Array<string> = []
  dealerTo(endpoint, "dealer-1", {
    ...more,
    onError: (error) => {
      expect(error).toBeInstanceOf(ZmtpConnectionFailed)
      expect(error.endpoint).toBe(endpoint)
      reasons.push(error.reason)
    }
  })
  for (let waited = 0; reasons.length < until && waited < 1000; waited += 10) {
    await new Promise((done) => setTimeout(done, 10))
  }
  return reasons
}

/** Every frame set and command a reader finds in `chunks`, as text, or the reason it gave up. */
const parse = (chunks: ReadonlyArray<Buffer>, limits?: { maxFrames: number; maxSetBytes: number }) => {
  const seen: Array<string> = []
  const reader = new FrameReader(
    (frames) => seen.push(`set ${JSON.stringify(texts(frames))}`),
    (name, body) => seen.push(`command ${name} ${body.toString("latin1")}`),
    limits
  )
  try {
    for (const chunk of chunks) reader.push(chunk)
  } catch (error) {
    seen.push(`failed: ${(error as { reason: string }).reason}`)
  }
  return seen
}

describe("ZmtpDealer", () => {
  it("exchanges frame sets with a ROUTER, which sees the routing id; short, long and large frames", async () => {
    const server = await router()
    const dealer = dealerTo(server.lastEndpoint!)
    const long = "x".repeat(300)
    const large = "y".repeat(200_000)
    await dealer.send(["SZ2", "short", long, large, ""])
    const [peer, ...frames] = await server.receive()
    expect(peer!.toString()).toBe("dealer-1")
    expect(texts(frames)).toEqual(["SZ2", "short", long, large, ""])
    await server.send([peer!, "back", large])
    await server.send([peer!, "again"])
    expect(texts(await dealer.receive())).toEqual(["back", large])
    expect(texts(await dealer.receive())).toEqual(["again"])
  })

  it("keeps the bytes of frame sets that span reads and of ones queued while nobody receives", async () => {
    const server = await router()
    const dealer = dealerTo(server.lastEndpoint!)
    await dealer.send(["hi"])
    const [peer] = await server.receive()
    // Reads land in one reused buffer: whatever outlives a read must have been copied out of it.
    const many = Array.from({ length: 400 }, (_, i) => `${i}:`.padEnd(300, String.fromCharCode(97 + (i % 26))))
    const sets = Array.from({ length: 60 }, (_, i) => [`set ${i}`, `${i}`.repeat(2000)])
    await server.send([peer!, ...many])
    for (const set of sets) await server.send([peer!, ...set])
    // Apart, so that each comes in a read of its own, at the start of the buffer.
    const apart = ["first", "second", "third"]
    for (const text of apart) {
      await new Promise((done) => setTimeout(done, 30))
      await server.send([peer!, text])
    }
    await new Promise((done) => setTimeout(done, 30))
    expect(texts(await dealer.receive())).toEqual(many)
    for (const set of sets) expect(texts(await dealer.receive())).toEqual(set)
    for (const text of apart) expect(texts(await dealer.receive())).toEqual([text])
  })

  it("queues what is sent before the server is up, and delivers it in order once connected", async () => {
    const endpoint = `tcp://127.0.0.1:${await freePort()}`
    const dealer = dealerTo(endpoint)
    await dealer.send(["one"])
    await dealer.send(["two"])
    await new Promise((done) => setTimeout(done, 60))
    const server = await router(endpoint)
    expect(texts((await server.receive()).slice(1))).toEqual(["one"])
    expect(texts((await server.receive()).slice(1))).toEqual(["two"])
  })

  it("reconnects to a restarted server", async () => {
    const first = await router()
    const endpoint = first.lastEndpoint!
    const dealer = dealerTo(endpoint)
    await dealer.send(["hello"])
    expect(texts((await first.receive()).slice(1))).toEqual(["hello"])
    first.close()
    // libzmq lets the port go a moment after close(), in its own thread.
    const second = await rebind(endpoint)
    // What is sent while the connection is down or coming back may be lost (as with libzmq): send until one arrives.
    const timer = setInterval(() => void dealer.send(["again"]), 20)
    try {
      const [peer, ...frames] = await second.receive()
      expect(texts(frames)).toEqual(["again"])
      await second.send([peer!, "welcome back"])
      expect(texts(await dealer.receive())).toEqual(["welcome back"])
    } finally {
      clearInterval(timer)
    }
  })

  it("answers a PING with its context, and reconnects after an ERROR command", async () => {
    // A hand-made ZMTP peer, since libzmq neither sends ERROR on a NULL connection nor shows a PONG.
    const received: Array<Buffer> = []
    let connections = 0
    const server = net.createServer((socket) => {
      connections++
      socket.on("data", (chunk) => received.push(chunk))
      const greeting = Buffer.alloc(64)
      greeting[0] = 0xff
      greeting[9] = 0x7f
      greeting[10] = 3
      greeting[11] = 1
      greeting.write("NULL", 12)
      const ready = Buffer.from("\x05READY\x0bSocket-Type\x00\x00\x00\x06ROUTER", "latin1")
      const ping = Buffer.from("\x04PING\x00\x0aabc", "latin1")
      const error = Buffer.from("\x05ERROR\x04nope", "latin1")
      socket.write(Buffer.concat([greeting, Buffer.from([0x04, ready.length]), ready, Buffer.from([0x04, ping.length]), ping]))
      if (connections === 1) setTimeout(() => socket.write(Buffer.concat([Buffer.from([0x04, error.length]), error])), 50)
    })
    open.push(server)
    await new Promise<void>((done) => server.listen(0, "127.0.0.1", done))
    dealerTo(`tcp://127.0.0.1:${(server.address() as net.AddressInfo).port}`)
    while (connections < 2) await new Promise((done) => setTimeout(done, 10))
    const bytes = Buffer.concat(received).toString("latin1")
    expect(bytes).toContain("\x04PONGabc")
    expect(bytes).toContain("Identity\x00\x00\x00\x08dealer-1")
  })

  it("close rejects a pending receive and later sends; a second receive while one waits rejects", async () => {
    const server = await router()
    const dealer = dealerTo(server.lastEndpoint!)
    const pending = dealer.receive()
    await expect(dealer.receive()).rejects.toBeInstanceOf(ReceiveBusy)
    dealer.close()
    await expect(pending).rejects.toThrow("closed")
    await expect(dealer.send(["late"])).rejects.toThrow("closed")
    expect(dealer.closed).toBe(true)
  })

  it("takes tcp://host:port endpoints only (the rest is left to libzmq)", () => {
    expect(tcpAddress("tcp://127.0.0.1:4242")).toEqual({ host: "127.0.0.1", port: 4242 })
    expect(tcpAddress("tcp://[::1]:4242")).toEqual({ host: "::1", port: 4242 })
    expect(tcpAddress("tcp://scheduler.internal:80")).toEqual({ host: "scheduler.internal", port: 80 })
    expect(tcpAddress("tcp://127.0.0.1:0")).toBeUndefined()
    expect(tcpAddress("tcp://127.0.0.1:70000")).toBeUndefined()
    expect(tcpAddress("tcp://eth0;10.0.0.1:4242")).toBeUndefined()
    expect(tcpAddress("ipc:///tmp/sz.sock")).toBeUndefined()
  })
})

describe("FrameReader", () => {
  it("copies each part of an unfinished frame set once, not again on every later read", () => {
    const sets: Array<Array<Buffer>> = []
    const reader = new FrameReader((frames) => sets.push(frames), () => undefined)
    reader.push(greeting())
    const parts = Array.from({ length: 2000 }, (_, i) => `part ${i}`)
    const bytes = encodeFrames(parts)
    const from = vi.spyOn(Buffer, "from")
    try {
      // One frame per read, as a slow peer's frame set arrives.
      let offset = 0
      for (const part of parts) {
        const length = 2 + Buffer.byteLength(part)
        reader.push(bytes.subarray(offset, offset + length))
        offset += length
      }
      expect(from.mock.calls.length).toBeLessThan(3 * parts.length)
    } finally {
      from.mockRestore()
    }
    expect(sets.map((set) => texts(set))).toEqual([parts])
  })
})

describe("FrameReader splits and rejections", () => {
  const stream = Buffer.concat([
    routerHello,
    encodeFrames(["SZ2", "short", "x".repeat(300), ""]),
    commandFrame("PING", Buffer.from("\x00\x0aabc", "latin1")),
    encodeFrames(["one"]),
    encodeFrames(Array.from({ length: 50 }, (_, i) => `${i}`.repeat(i * 7))),
    commandFrame("LONG", Buffer.from("c".repeat(300)))
  ])

  it("finds the same frame sets and commands however the byte stream is split", () => {
    const whole = parse([stream])
    expect(whole).toHaveLength(6)
    expect(whole.at(-1)).toBe(`command LONG ${"c".repeat(300)}`)
    expect(whole[1]).toBe(`set ${JSON.stringify(["SZ2", "short", "x".repeat(300), ""])}`)
    const bytes = Array.from({ length: stream.length }, (_, i) => stream.subarray(i, i + 1))
    expect(parse(bytes)).toEqual(whole)
    let seed = 7
    const random = () => {
      seed = (seed * 1103515245 + 12345) % 2147483648
      return seed / 2147483648
    }
    for (let round = 0; round < 200; round++) {
      const chunks: Array<Buffer> = []
      for (let offset = 0; offset < stream.length;) {
        const length = 1 + Math.floor(random() * (random() < 0.5 ? 8 : 400))
        chunks.push(stream.subarray(offset, offset + length))
        offset += length
      }
      expect(parse(chunks)).toEqual(whole)
    }
  })

  const afterHello = (...frames: Array<Buffer>) => parse([Buffer.concat([routerHello, ...frames])]).at(-1)

  it("rejects what breaks ZMTP: garbage or a foreign greeting, another mechanism, bad flags, misplaced commands", () => {
    expect(parse([Buffer.from("HTTP/1.1 400 Bad Request\r\n")]))
      .toEqual([expect.stringMatching(/^failed: peer does not speak ZMTP/)])
    const curve = greeting()
    curve.fill(0, 12, 32).write("CURVE", 12, "latin1")
    expect(parse([curve])).toEqual(['failed: peer wants security mechanism "CURVE", not NULL'])
    const old = greeting()
    old[10] = 2
    expect(parse([old])).toEqual(["failed: peer speaks ZMTP 2.0, not 3"])
    expect(afterHello(Buffer.from([0x10, 1, 0x41]))).toBe("failed: reserved frame flag bits set (0x10)")
    expect(afterHello(Buffer.from([0x05, 1, 0x00]))).toBe("failed: command frame with MORE")
    expect(afterHello(Buffer.from([0x01, 1, 0x41]), commandFrame("PING", Buffer.alloc(2))))
      .toBe("failed: command frame inside a frame set")
    expect(afterHello(Buffer.from([0x04, 2, 9, 0x41]))).toBe("failed: command frame shorter than its name")
  })

  it("rejects a frame or frame set past its caps, as soon as its header shows it", () => {
    const huge = Buffer.alloc(9)
    huge[0] = 0x02
    huge.writeBigUInt64BE(2n ** 62n, 1)
    expect(afterHello(huge)).toBe(`failed: frame of ${2n ** 62n} bytes > ${256 * 1024 * 1024}`)
    const limits = { maxFrames: 3, maxSetBytes: 1000 }
    // A frame with MORE: the set's last (empty) frame cut off.
    const more = (text: string) => encodeFrames([text, ""]).subarray(0, -2)
    expect(parse([routerHello, more("a"), more("b"), more("c"), more("d")], limits).at(-1))
      .toBe("failed: frame set of more than 3 frames")
    expect(parse([routerHello, more("a"), more("b"), encodeFrames(["c"])], limits).at(-1)).toMatch(/^set /)
    expect(parse([routerHello, more("x".repeat(600)), more("y".repeat(300)), more("z".repeat(101))], limits).at(-1))
      .toBe("failed: frame set of more than 1000 bytes")
  })
})

describe("ZmtpDealer failures", () => {
  it("reports what is wrong with the server: an HTTP port, a CURVE server, some other socket type", async () => {
    expect(await failures((socket) => socket.once("data", () => socket.end("HTTP/1.1 400 Bad Request\r\n\r\n"))))
      .toEqual([expect.stringMatching(/^peer does not speak ZMTP/)])
    const curve = greeting()
    curve.fill(0, 12, 32).write("CURVE", 12, "latin1")
    expect(await failures((socket) => socket.write(curve))).toEqual(['peer wants security mechanism "CURVE", not NULL'])
    const pub = Buffer.concat([greeting(), commandFrame("READY", property("Socket-Type", "PUB"))])
    expect(await failures((socket) => socket.write(pub))).toEqual(["peer is a PUB, not a ROUTER"])
    const early = Buffer.concat([greeting(), encodeFrames(["run"])])
    expect(await failures((socket) => socket.write(early))).toEqual(["message before READY"])
  })

  it("drops a connection whose handshake does not complete in time; each reason once per reconnect cycle", async () => {
    let connections = 0
    const reasons = await failures(() => connections++, 1, { handshakeTimeoutMs: 50 })
    await new Promise((done) => setTimeout(done, 300))
    expect(connections).toBeGreaterThan(1)
    expect(reasons).toEqual(["no handshake within 50 ms"])
  })

  it("drops a server that sends a frame set without end, and connects again", async () => {
    let connections = 0
    const reasons = await failures((socket) => {
      connections++
      socket.write(routerHello)
      const frame = Buffer.concat([Buffer.from([0x01, 0x02]), Buffer.alloc(9, 0x41)]).subarray(0, 4)
      const endless = Buffer.concat(Array.from({ length: 20_000 }, () => frame))
      socket.write(endless)
    }, 1)
    while (connections < 2) await new Promise((done) => setTimeout(done, 10))
    expect(reasons).toEqual(["frame set of more than 10001 frames"])
  })

  it("close flushes what is still buffered for the server", async () => {
    const server = await router()
    const dealer = dealerTo(server.lastEndpoint!)
    await dealer.send(["hi"])
    const [peer] = await server.receive()
    expect(peer!.toString()).toBe("dealer-1")
    const large = "z".repeat(32 * 1024 * 1024)
    void dealer.send(["last", large])
    dealer.close()
    const lost = new Promise<never>((_, reject) => setTimeout(() => reject(new Error("lost at close")), 5000))
    const [, ...frames] = await Promise.race([server.receive(), lost])
    expect(frames.map((frame) => frame.length)).toEqual([4, large.length])
  })

  it("doubles the reconnect delay after each failed attempt, up to the cap", async () => {
    const accepted: Array<number> = []
    const endpoint = await fakeServer((socket) => {
      accepted.push(performance.now())
      socket.destroy()
    })
    dealerTo(endpoint, "dealer-1", { reconnectIntervalMs: 20, reconnectMaxIntervalMs: 80 })
    while (accepted.length < 7) await new Promise((done) => setTimeout(done, 10))
    const gaps = accepted.slice(1).map((at, i) => at - accepted[i]!)
    // Timers never fire early; a delay that kept doubling would reach 320 and 640 ms.
    expect(gaps.slice(0, 3).map((gap, i) => gap >= [20, 40, 80][i]! - 2)).toEqual([true, true, true])
    expect(gaps[5]).toBeLessThan(300)
  })

})
