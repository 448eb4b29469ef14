/**
 * A ROUTER that speaks ZMTP 3 (NULL mechanism) on a Node TCP server, for the
 * registry's unencrypted tcp:// endpoint; CURVE and other transports stay with
 * libzmq (Server.ts picks). Peers see an ordinary ROUTER: same greeting,
 * READY, frames; the handler SDK's own DEALER (src/handler/zmtp.ts) and
 * libzmq's both connect to it.
 *
 * Why: libzmq moves every message through its I/O thread, so each run sent and
 * each result read woke that thread and cost some twenty system calls
 * (mailbox polls, getpid checks, poller re-arming, eventfd signals); here a
 * frame set is one write or one read on the event loop's thread.
 *
 * What libzmq's ROUTER did and this keeps: a peer's routing id is its READY's
 * Identity (or a generated one); a second connection claiming an id in use is
 * closed (no handover); a frame set to an unknown peer is dropped; sends never
 * block (the registry set no high-water mark); a frame set larger than
 * `maxMessageBytes` closes its connection; PING is answered.
 *
 * Raw TCP reaches this code, so a connection that breaks ZMTP (garbage, a
 * foreign greeting, a frame set past the caps, a message or command out of
 * place, no handshake in time) is closed and reported to `onDrop` with the
 * peer's address:port and why; nothing a peer sends throws out of here.
 */
import * as net from "node:net"
import { maxMessagesPerFrameSet } from "../../../protocol/framing.js"
import {
  commandFrame,
  encodeFrames,
  FrameReader,
  greeting,
  ProtocolViolation,
  property,
  readyProperties
} from "../../../handler/zmtp.js"

export interface ZmtpRouterOptions {
  /** Largest frame set (all its frames together) a peer may send. */
  readonly maxMessageBytes: number
  /** A connection whose handshake has not completed by then is dropped (default 30 s, libzmq's ZMQ_HANDSHAKE_IVL). */
  readonly handshakeTimeoutMs?: number
  /** A connection was closed for breaking the protocol (`peer` is its address:port), or the listener failed. */
  readonly onDrop?: (peer: string, reason: string) => void
}

/** Peer socket types a ROUTER talks to (ZMTP 3's compatibility table). */
const compatiblePeers = new Set(["DEALER", "REQ", "ROUTER"])

/** The most a peer's READY (socket type, an identity of at most 255 bytes, a few more properties) takes. */
const handshakeBytes = 4096

const hello = Buffer.concat([greeting(), commandFrame("READY", property("Socket-Type", "ROUTER"))])

/**
 * The host and port of a `tcp://address:port` endpoint with an IP address (or `*`, every
 * IPv4 interface); undefined otherwise. A host name stays with libzmq, which resolves it
 * to IPv4 only (Node could listen on `::1` for `localhost`, where libzmq peers never look).
 */
export const bindAddress = (endpoint: string): { readonly host: string; readonly port: number } | undefined => {
  const match = /^tcp:\/\/(\*|\[[0-9A-Fa-f:.]+\]|\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}):(\d{1,5})$/.exec(endpoint)
  if (match === null) return undefined
  const port = Number(match[2])
  if (port > 65535) return undefined
  const host = match[1]!
  return { host: host === "*" ? "0.0.0.0" : host.startsWith("[") ? host.slice(1, -1) : host, port }
}

export class ZmtpRouter {
  private readonly server: net.Server
  /** Connected peers by routing id (latin1). */
  private readonly peers = new Map<string, net.Socket>()
  /** Every open connection, handshaken or not, so close() ends them all. */
  private readonly connections = new Set<net.Socket>()
  private received: Array<Array<Buffer>> = []
  private receiver: { resolve: (frames: Array<Buffer>) => void; reject: (error: Error) => void } | undefined
  private nextId = Math.floor(Math.random() * 0x100000000)
  private closed = false
  lastEndpoint: string | null = null

  constructor(private readonly options: ZmtpRouterOptions) {
    this.server = net.createServer({ noDelay: true }, (socket) => this.accept(socket))
    // After listening, an accept failure (EMFILE, ...) is an 'error' event: unheard, it would end the process.
    this.server.on("error", (error: NodeJS.ErrnoException) => {
      if (this.server.listening) options.onDrop?.("listener", `accept failed: ${error.code ?? error.message}`)
    })
  }

  /** Listens on `host:port`; rejects with the listen error (EADDRINUSE, ...). */
  bind(address: { readonly host: string; readonly port: number }): Promise<void> {
    return new Promise((resolve, reject) => {
      const onError = (error: Error) => reject(error)
      this.server.once("error", onError)
      this.server.listen(address.port, address.host, () => {
        this.server.off("error", onError)
        const bound = this.server.address() as net.AddressInfo
        const host = bound.family === "IPv6" ? `[${bound.address}]` : bound.address
        this.lastEndpoint = `tcp://${host}:${bound.port}`
        resolve()
      })
    })
  }

  private accept(socket: net.Socket): void {
    if (this.closed) {
      socket.destroy()
      return
    }
    this.connections.add(socket)
    // A peer that reset the connection before it was accepted has no address left to read.
    const peer = socket.remoteAddress === undefined ? "(reset before accepted)" : `${socket.remoteAddress}:${socket.remotePort}`
    let key: string | undefined
    let dropped = false
    /** Closes the connection and reports why, once. */
    const drop = (reason: string) => {
      socket.destroy()
      if (dropped || this.closed) return
      dropped = true
      this.options.onDrop?.(peer, reason)
    }
    // Until READY only the handshake may come, so a peer nobody knows yet cannot make the
    // connection hold a large frame set; the reader reads these limits at every frame.
    const limits = { maxFrames: 1, maxSetBytes: handshakeBytes }
    const timeoutMs = this.options.handshakeTimeoutMs ?? 30_000
    const handshake = setTimeout(() => drop(`no handshake within ${timeoutMs} ms`), timeoutMs)
    const reader = new FrameReader(
      (frames) => {
        if (dropped) return
        if (key === undefined) throw new ProtocolViolation({ reason: "message before READY" })
        frames.unshift(Buffer.from(key, "latin1"))
        this.deliver(frames)
      },
      (name, body) => {
        if (name === "READY") {
          if (key !== undefined) throw new ProtocolViolation({ reason: "second READY" })
          clearTimeout(handshake)
          key = this.register(socket, readyProperties(body), drop)
          limits.maxFrames = maxMessagesPerFrameSet + 1
          limits.maxSetBytes = this.options.maxMessageBytes
        } else if (key === undefined) throw new ProtocolViolation({ reason: `${name || "unnamed"} command before READY` })
        else if (name === "ERROR") drop(`peer sent ERROR ${JSON.stringify(body.toString("latin1", 1, 1 + (body[0] ?? 0)))}`)
        // The spec caps a PING's context at 16 bytes: a peer cannot make us echo more.
        else if (name === "PING" && body.length >= 2) socket.write(commandFrame("PONG", body.subarray(2, 18)))
      },
      limits
    )
    socket.write(hello)
    /** Whether the peer sent anything: a connection closed without a byte (a TCP probe) is nothing to report. */
    let spoke = false
    socket.on("data", (chunk: Buffer) => {
      spoke = true
      if (dropped) return
      try {
        reader.push(chunk)
      } catch (error) {
        // A bug of ours as much as a peer's violation: either way this connection cannot go on, the server can.
        drop(error instanceof ProtocolViolation ? error.reason : `internal error: ${error instanceof Error ? error.message : String(error)}`)
      }
    })
    socket.on("error", (error: NodeJS.ErrnoException) => {
      // A peer resetting a connection that never completed its handshake is one more bad connection.
      if (key === undefined && spoke) drop(`socket error ${error.code ?? error.message} before READY`)
    })
    socket.on("close", () => {
      clearTimeout(handshake)
      this.connections.delete(socket)
      if (key !== undefined && this.peers.get(key) === socket) this.peers.delete(key)
      else if (key === undefined && spoke && !dropped && !this.closed) drop("closed before READY")
    })
  }

  /** The routing id the peer gets, or undefined when it cannot be served (the connection is closed). */
  private register(socket: net.Socket, properties: Map<string, Buffer>, drop: (reason: string) => void): string | undefined {
    const socketType = properties.get("socket-type")?.toString("latin1")
    if (socketType === undefined || !compatiblePeers.has(socketType)) {
      drop(`peer is a ${socketType === undefined ? "socket of no type" : JSON.stringify(socketType)}, not a DEALER, REQ or ROUTER`)
      return undefined
    }
    const identity = properties.get("identity")
    let key: string
    if (identity !== undefined && identity.length > 0) key = identity.toString("latin1")
    else {
      // As libzmq: a zero byte, then a 32-bit counter (a peer's own ids cannot start with zero).
      const id = Buffer.alloc(5)
      id.writeUInt32BE(this.nextId, 1)
      this.nextId = (this.nextId + 1) >>> 0
      key = id.toString("latin1")
    }
    if (this.peers.has(key)) {
      drop(`routing id ${JSON.stringify(key)} is already connected`)
      return undefined
    }
    this.peers.set(key, socket)
    return key
  }

  private deliver(frames: Array<Buffer>): void {
    const receiver = this.receiver
    if (receiver !== undefined) {
      this.receiver = undefined
      receiver.resolve(frames)
    } else this.received.push(frames)
  }

  /** The next frame set, the peer's routing id first; rejects once closed. One receive at a time. */
  receive(): Promise<Array<Buffer>> {
    if (this.received.length > 0) return Promise.resolve(this.received.shift()!)
    if (this.closed) return Promise.reject(new Error("socket closed"))
    return new Promise((resolve, reject) => {
      this.receiver = { resolve, reject }
    })
  }

  /** Sends a frame set to the peer named by its first frame; dropped when no such peer is connected. */
  send(frames: Array<Buffer | string>): Promise<void> {
    if (this.closed) return Promise.reject(new Error("socket closed"))
    const [peer, ...rest] = frames
    const key = typeof peer === "string" ? Buffer.from(peer).toString("latin1") : peer?.toString("latin1")
    const socket = key === undefined ? undefined : this.peers.get(key)
    if (socket !== undefined) socket.write(encodeFrames(rest))
    return Promise.resolve()
  }

  close(): void {
    if (this.closed) return
    this.closed = true
    this.server.close()
    for (const socket of this.connections) socket.destroy()
    this.connections.clear()
    this.peers.clear()
    const receiver = this.receiver
    this.receiver = undefined
    receiver?.reject(new Error("socket closed"))
  }
}
