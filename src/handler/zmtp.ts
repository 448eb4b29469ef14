/**
 * A DEALER that speaks ZMTP 3 (rfc.zeromq.org/spec/23, NULL mechanism) over a
 * plain TCP socket of Node's, for the handler's unencrypted connection; CURVE
 * stays with libzmq (runHandler picks). The server's ROUTER sees an ordinary
 * DEALER peer: same greeting, READY with the routing id, same frames.
 *
 * Why: libzmq moves every message through its I/O thread, so one lone round
 * trip wakes two threads of the handler process and costs some forty system
 * calls (mailbox polls, getpid checks, poller re-arming, eventfd signals); here
 * it is one read and one write on the event loop's thread.
 *
 * What libzmq's DEALER did and this keeps: connecting in the background and
 * reconnecting after a drop (doubling the delay up to a cap, reset by a
 * completed handshake); sends never block and are queued while no connection
 * is up (an unlimited high-water mark, as the SDK's socket had); a frame set
 * cut off by a drop is lost, as the protocol allows; PING is answered; close
 * lets what is already written reach the server for a moment (a linger).
 */
import * as net from "node:net"
import { Data } from "effect"
import { defaultMaxFrameBytes, maxMessagesPerFrameSet } from "../protocol/framing.js"

export interface DealerOptions {
  readonly routingId: string
  readonly reconnectIntervalMs: number
  readonly reconnectMaxIntervalMs: number
  /** A connection whose handshake has not completed by then is dropped and tried again (libzmq's ZMQ_HANDSHAKE_IVL). */
  readonly handshakeTimeoutMs?: number
  /** Why a connection failed (it is tried again): each distinct reason once until a frame set comes in. */
  readonly onError?: (error: ZmtpConnectionFailed) => void
}

/** The socket operations the handler uses: zeromq's Dealer and ZmtpDealer both have them. */
export interface DealerSocket {
  readonly closed: boolean
  receive(): Promise<Array<Buffer>>
  send(frames: Array<Buffer | string>): Promise<void>
  close(): void
}

/** The host and port of a `tcp://host:port` endpoint; undefined for anything else (left to libzmq). */
export const tcpAddress = (endpoint: string): { readonly host: string; readonly port: number } | undefined => {
  // A name or IPv4 address, or an IPv6 one in brackets; libzmq's extras (a source address before ';') go to libzmq.
  const match = /^tcp:\/\/(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/.exec(endpoint)
  if (match === null) return undefined
  const port = Number(match[2])
  if (port < 1 || port > 65535) return undefined
  const host = match[1]!
  return { host: host.startsWith("[") ? host.slice(1, -1) : host, port }
}

const flagMore = 0x01
const flagLong = 0x02
const flagCommand = 0x04
const flagsReserved = 0xf8
/** How long close() lets written frame sets (the last results, the deregister) reach the server. */
const closeLingerMs = 1000

/** Caps on one frame set; past one the peer is taken as broken or hostile and its connection dropped. */
export interface FrameLimits {
  readonly maxFrames: number
  /** All frames of the set together (so also the largest frame). */
  readonly maxSetBytes: number
}

/** What the server may send: a header and at most maxMessagesPerFrameSet messages; bytes as its ROUTER caps them. */
const serverSetLimits: FrameLimits = { maxFrames: maxMessagesPerFrameSet + 1, maxSetBytes: defaultMaxFrameBytes * 16 }

export const greeting = (): Buffer => {
  const bytes = Buffer.alloc(64)
  bytes[0] = 0xff
  bytes[9] = 0x7f
  bytes[10] = 3 // version 3.0: PING/PONG (3.1) are still answered
  bytes[11] = 0
  bytes.write("NULL", 12, "latin1")
  return bytes
}

export const property = (name: string, value: string): Buffer => {
  const valueBytes = Buffer.from(value)
  const bytes = Buffer.alloc(1 + name.length + 4 + valueBytes.length)
  bytes[0] = name.length
  bytes.write(name, 1, "latin1")
  bytes.writeUInt32BE(valueBytes.length, 1 + name.length)
  valueBytes.copy(bytes, 5 + name.length)
  return bytes
}

const headerBytes = (size: number) => (size <= 255 ? 2 : 9)

/** Writes a frame's flags and size at `offset`; returns where its body starts. */
const writeHeader = (out: Buffer, offset: number, flags: number, size: number): number => {
  if (size <= 255) {
    out[offset] = flags
    out[offset + 1] = size
    return offset + 2
  }
  out[offset] = flags | flagLong
  out.writeBigUInt64BE(BigInt(size), offset + 1)
  return offset + 9
}

export const commandFrame = (name: string, body: Buffer): Buffer => {
  const size = 1 + name.length + body.length
  const out = Buffer.allocUnsafe(headerBytes(size) + size)
  const start = writeHeader(out, 0, flagCommand, size)
  out[start] = name.length
  out.write(name, start + 1, "latin1")
  body.copy(out, start + 1 + name.length)
  return out
}

/** One frame set as ZMTP frames in one buffer (one write). */
export const encodeFrames = (frames: ReadonlyArray<Buffer | string>): Buffer => {
  let total = 0
  const sizes: Array<number> = []
  for (const frame of frames) {
    const size = typeof frame === "string" ? Buffer.byteLength(frame) : frame.length
    sizes.push(size)
    total += headerBytes(size) + size
  }
  const out = Buffer.allocUnsafe(total)
  let offset = 0
  for (let i = 0; i < frames.length; i++) {
    const frame = frames[i]!
    const size = sizes[i]!
    offset = writeHeader(out, offset, i < frames.length - 1 ? flagMore : 0, size)
    offset += typeof frame === "string" ? out.write(frame, offset) : frame.copy(out, offset)
  }
  return out
}

/** The peer broke ZMTP (or a cap): `reason` says how. */
export class ProtocolViolation extends Data.TaggedError("ProtocolViolation")<{ readonly reason: string }> {}

/** A connection of the dealer to `endpoint` failed (it reconnects); `reason` says what was wrong. */
export class ZmtpConnectionFailed extends Data.TaggedError("ZmtpConnectionFailed")<{
  readonly endpoint: string
  readonly reason: string
}> {}

/** receive() was called while an earlier receive() was still waiting (zeromq rejects with EBUSY). */
export class ReceiveBusy extends Data.TaggedError("ReceiveBusy") {
  override get message() {
    return "a receive is already waiting"
  }
}

const violation = (reason: string) => new ProtocolViolation({ reason })

/** The properties of a READY command's body, by lower-case name. */
export const readyProperties = (body: Buffer): Map<string, Buffer> => {
  const properties = new Map<string, Buffer>()
  let offset = 0
  while (offset < body.length) {
    const nameLength = body[offset]!
    const name = body.toString("latin1", offset + 1, offset + 1 + nameLength)
    offset += 1 + nameLength
    if (offset + 4 > body.length) break
    const valueLength = body.readUInt32BE(offset)
    offset += 4
    properties.set(name.toLowerCase(), body.subarray(offset, offset + valueLength))
    offset += valueLength
  }
  return properties
}

/**
 * Reads a ZMTP byte stream: the 64-byte greeting, then frames. Complete frame
 * sets go to `onMessage`, commands to `onCommand`; a protocol violation throws.
 */
export class FrameReader {
  /** Bytes of an incomplete greeting or frame, kept as chunks until `needed` have come (one copy, not one per chunk). */
  private chunks: Array<Buffer> = []
  private buffered = 0
  private needed = 0
  private greeted = false
  private parts: Array<Buffer> = []
  /** How many of `parts` are already copies (made at the end of an earlier read). */
  private copied = 0
  /** Bytes of `parts` together. */
  private setBytes = 0
  constructor(
    private readonly onMessage: (frames: Array<Buffer>) => void,
    private readonly onCommand: (name: string, body: Buffer) => void,
    private readonly limits: FrameLimits = { maxFrames: Number.POSITIVE_INFINITY, maxSetBytes: 256 * 1024 * 1024 }
  ) {}

  /**
   * `chunk` is only valid during the call (the socket reads into one reused buffer): what is
   * kept for later is copied; frame sets handed on are views, valid until the next read.
   * Throws ProtocolViolation when the peer breaks the protocol or a cap (the reader is then unusable).
   */
  push(chunk: Buffer): void {
    try {
      this.parse(chunk)
    } finally {
      // Only the parts this read added: copying the whole unfinished set on every read is quadratic.
      for (let i = this.copied; i < this.parts.length; i++) this.parts[i] = Buffer.from(this.parts[i]!)
      this.copied = this.parts.length
    }
  }

  private parse(chunk: Buffer): void {
    let bytes = chunk
    if (this.buffered > 0) {
      this.chunks.push(Buffer.from(chunk))
      this.buffered += chunk.length
      if (this.buffered < this.needed) return
      bytes = Buffer.concat(this.chunks, this.buffered)
      this.chunks = []
      this.buffered = 0
    }
    if (!this.greeted) {
      // Anything but ZMTP (an HTTP server's answer, say) shows in its first byte.
      if (bytes.length > 0 && bytes[0] !== 0xff) {
        throw violation(`peer does not speak ZMTP (first bytes ${JSON.stringify(bytes.toString("latin1", 0, 16))})`)
      }
      if (bytes.length < 64) {
        this.keep(bytes, 64)
        return
      }
      if ((bytes[9]! & 0x01) !== 1) throw violation("peer does not speak ZMTP (bad greeting signature)")
      if (bytes[10]! < 3) throw violation(`peer speaks ZMTP ${bytes[10]}.${bytes[11]}, not 3`)
      const mechanism = bytes.toString("latin1", 12, 32).replace(/\0+$/, "")
      if (mechanism !== "NULL") throw violation(`peer wants security mechanism ${JSON.stringify(mechanism)}, not NULL`)
      this.greeted = true
      bytes = bytes.subarray(64)
    }
    let offset = 0
    while (offset < bytes.length) {
      const flags = bytes[offset]!
      if ((flags & flagsReserved) !== 0) throw violation(`reserved frame flag bits set (0x${flags.toString(16)})`)
      const command = (flags & flagCommand) !== 0
      if (command && (flags & flagMore) !== 0) throw violation("command frame with MORE")
      if (command && this.parts.length > 0) throw violation("command frame inside a frame set")
      const long = (flags & flagLong) !== 0
      if (bytes.length - offset < (long ? 9 : 2)) {
        this.keep(bytes.subarray(offset), long ? 9 : 2)
        return
      }
      let size: number
      if (long) {
        const size64 = bytes.readBigUInt64BE(offset + 1)
        if (size64 > BigInt(this.limits.maxSetBytes)) throw violation(`frame of ${size64} bytes > ${this.limits.maxSetBytes}`)
        size = Number(size64)
      } else size = bytes[offset + 1]!
      if (!command) {
        if (this.parts.length >= this.limits.maxFrames) throw violation(`frame set of more than ${this.limits.maxFrames} frames`)
        if (this.setBytes + size > this.limits.maxSetBytes) {
          throw violation(`frame set of more than ${this.limits.maxSetBytes} bytes`)
        }
      }
      const start = offset + (long ? 9 : 2)
      if (bytes.length - start < size) {
        this.keep(bytes.subarray(offset), start - offset + size)
        return
      }
      const payload = bytes.subarray(start, start + size)
      offset = start + size
      if (command) {
        const nameLength = payload[0] ?? 0
        if (payload.length < 1 + nameLength) throw violation("command frame shorter than its name")
        this.onCommand(payload.toString("latin1", 1, 1 + nameLength), payload.subarray(1 + nameLength))
        continue
      }
      this.parts.push(payload)
      this.setBytes += size
      if ((flags & flagMore) === 0) {
        const frames = this.parts
        this.parts = []
        this.copied = 0
        this.setBytes = 0
        this.onMessage(frames)
      }
    }
  }

  private keep(rest: Buffer, needed: number): void {
    this.chunks = [Buffer.from(rest)]
    this.buffered = rest.length
    this.needed = needed
  }
}

/** A DEALER connected (and reconnecting) to `host:port` until closed. */
export class ZmtpDealer implements DealerSocket {
  closed = false
  private socket: net.Socket | undefined = undefined
  private ready = false
  /** Frame sets sent while no handshake has completed, in order. */
  private queued: Array<Buffer> = []
  private received: Array<Array<Buffer>> = []
  private receiver: { resolve: (frames: Array<Buffer>) => void; reject: (error: Error) => void } | undefined
  private drained: Array<() => void> = []
  private retryMs: number
  private retryTimer: ReturnType<typeof setTimeout> | undefined = undefined
  private readonly readBuffer = Buffer.allocUnsafe(64 * 1024)
  /** Greeting and READY, the same for every connection. */
  private readonly hello: Buffer
  private readonly endpoint: string
  /** Failure reasons reported since a frame set last came in (each is reported once per reconnect cycle). */
  private readonly reported = new Set<string>()

  constructor(
    private readonly address: { readonly host: string; readonly port: number },
    private readonly options: DealerOptions
  ) {
    this.retryMs = options.reconnectIntervalMs
    this.endpoint = `tcp://${address.host.includes(":") ? `[${address.host}]` : address.host}:${address.port}`
    this.hello = Buffer.concat([
      greeting(),
      commandFrame("READY", Buffer.concat([property("Socket-Type", "DEALER"), property("Identity", options.routingId)]))
    ])
    this.connect()
  }

  private connect(): void {
    this.retryTimer = undefined
    if (this.closed) return
    const socket = net.connect({
      host: this.address.host,
      port: this.address.port,
      noDelay: true,
      // Reads land in one buffer and skip the stream's 'data' events (an allocation and a dozen calls per read).
      onread: {
        buffer: this.readBuffer,
        callback: (length) => {
          try {
            reader.push(this.readBuffer.subarray(0, length))
          } catch (error) {
            if (!(error instanceof ProtocolViolation)) throw error
            fail(error.reason)
          }
          return true
        }
      }
    })
    this.socket = socket
    let ready = false
    /** Whether this connection's end was already explained (reported or not, once per reason). */
    let explained = false
    /** Drops the connection (close then reconnects) and reports why. */
    const fail = (reason: string) => {
      explained = true
      socket.destroy()
      this.report(reason)
    }
    const handshakeTimeoutMs = this.options.handshakeTimeoutMs ?? 30_000
    const handshake = setTimeout(() => fail(`no handshake within ${handshakeTimeoutMs} ms`), handshakeTimeoutMs)
    const reader = new FrameReader(
      (frames) => {
        if (!ready) throw violation("message before READY")
        this.deliver(frames)
      },
      (name, body) => {
        if (name === "READY") {
          if (ready) throw violation("second READY")
          const socketType = readyProperties(body).get("socket-type")?.toString("latin1")
          // The server is a ROUTER; anything else is some other ZeroMQ service on that port.
          if (socketType !== "ROUTER") throw violation(`peer is a ${socketType ?? "socket of no type"}, not a ROUTER`)
          ready = true
          clearTimeout(handshake)
          this.onReady(socket)
        } else if (name === "ERROR") fail(`peer sent ERROR ${JSON.stringify(body.toString("latin1", 1, 1 + (body[0] ?? 0)))}`)
        else if (!ready) throw violation(`${name} command before READY`)
        else if (name === "PING" && body.length >= 2) socket.write(commandFrame("PONG", body.subarray(2)))
      },
      serverSetLimits
    )
    // Greeting and READY in one write: with the NULL mechanism neither waits on what the server sends.
    socket.on("connect", () => socket.write(this.hello))
    socket.on("drain", () => this.wakeWriters())
    // Every failure (refused, reset, bad greeting, handshake timeout) ends in close: try again later.
    socket.on("error", (error: NodeJS.ErrnoException) => fail(`socket error ${error.code ?? error.message}`))
    socket.on("close", () => {
      clearTimeout(handshake)
      if (!ready && !explained) this.report("connection closed before the handshake completed")
      if (this.socket === socket) {
        this.socket = undefined
        this.ready = false
      }
      this.wakeWriters()
      if (this.closed) return
      this.retryTimer = setTimeout(() => this.connect(), this.retryMs)
      this.retryMs = Math.min(this.options.reconnectMaxIntervalMs, this.retryMs * 2)
    })
  }

  private report(reason: string): void {
    if (this.closed || this.reported.has(reason)) return
    this.reported.add(reason)
    this.options.onError?.(new ZmtpConnectionFailed({ endpoint: this.endpoint, reason }))
  }

  private onReady(socket: net.Socket): void {
    this.ready = true
    this.retryMs = this.options.reconnectIntervalMs
    const queued = this.queued
    this.queued = []
    for (const bytes of queued) socket.write(bytes)
  }

  /** A waiting receive gets the views (it runs before the next read); a queued frame set gets copies. */
  private deliver(frames: Array<Buffer>): void {
    // The connection works: a later failure is news again.
    if (this.reported.size > 0) this.reported.clear()
    const receiver = this.receiver
    if (receiver !== undefined) {
      this.receiver = undefined
      receiver.resolve(frames)
    } else this.received.push(frames.map((frame) => Buffer.from(frame)))
  }

  private wakeWriters(): void {
    const drained = this.drained
    this.drained = []
    for (const done of drained) done()
  }

  /** The next frame set; rejects once the dealer is closed. One receive at a time: a second rejects (zeromq's EBUSY). */
  receive(): Promise<Array<Buffer>> {
    if (this.received.length > 0) return Promise.resolve(this.received.shift()!)
    if (this.closed) return Promise.reject(new Error("socket closed"))
    if (this.receiver !== undefined) return Promise.reject(new ReceiveBusy())
    return new Promise((resolve, reject) => {
      this.receiver = { resolve, reject }
    })
  }

  /**
   * Sends one frame set (queued until connected). Resolves at once when it is queued or Node's
   * write buffer is under its high-water mark (not when the kernel took it), else once that drains.
   */
  send(frames: Array<Buffer | string>): Promise<void> {
    if (this.closed) return Promise.reject(new Error("socket closed"))
    const bytes = encodeFrames(frames)
    const socket = this.socket
    if (socket === undefined || !this.ready) {
      this.queued.push(bytes)
      return Promise.resolve()
    }
    if (socket.write(bytes)) return Promise.resolve()
    // Node's buffer is past its high-water mark: the next write waits, so what is posted meanwhile batches up.
    return new Promise((resolve) => this.drained.push(resolve))
  }

  close(): void {
    if (this.closed) return
    this.closed = true
    if (this.retryTimer !== undefined) clearTimeout(this.retryTimer)
    const socket = this.socket
    if (socket !== undefined && this.ready && socket.writableLength > 0) {
      // Written but still in Node's buffer (a graceful stop's last results and deregister): end, not discard.
      socket.end()
      const linger = setTimeout(() => socket.destroy(), closeLingerMs)
      socket.once("close", () => clearTimeout(linger))
    } else socket?.destroy()
    this.queued = []
    this.wakeWriters()
    const receiver = this.receiver
    this.receiver = undefined
    receiver?.reject(new Error("socket closed"))
  }
}
