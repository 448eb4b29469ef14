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
 * block (the registry set no high-water mark); a message larger than
 * `maxMessageBytes` closes its connection; PING is answered.
 */
import * as net from "node:net"
import { commandFrame, encodeFrames, FrameReader, greeting, property, readyProperties } from "../../../handler/zmtp.js"

/** Peer socket types a ROUTER talks to (ZMTP 3's compatibility table). */
const compatiblePeers = new Set(["DEALER", "REQ", "ROUTER"])

/** A connection whose handshake has not completed by then is dropped (libzmq's ZMQ_HANDSHAKE_IVL default). */
const handshakeTimeoutMs = 30_000

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

  constructor(private readonly maxMessageBytes: number) {
    this.server = net.createServer({ noDelay: true }, (socket) => this.accept(socket))
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
    let key: string | undefined
    const handshake = setTimeout(() => socket.destroy(), handshakeTimeoutMs)
    const reader = new FrameReader(
      (frames) => {
        if (key === undefined) return
        for (const frame of frames) {
          if (frame.length > this.maxMessageBytes) {
            socket.destroy()
            return
          }
        }
        frames.unshift(Buffer.from(key, "latin1"))
        this.deliver(frames)
      },
      (name, body) => {
        if (name === "READY" && key === undefined) {
          clearTimeout(handshake)
          key = this.register(socket, readyProperties(body))
        } else if (name === "ERROR") socket.destroy()
        else if (name === "PING" && body.length >= 2) socket.write(commandFrame("PONG", body.subarray(2)))
      }
    )
    socket.write(hello)
    socket.on("data", (chunk: Buffer) => {
      try {
        reader.push(chunk)
      } catch {
        socket.destroy()
      }
    })
    socket.on("error", () => undefined)
    socket.on("close", () => {
      clearTimeout(handshake)
      this.connections.delete(socket)
      if (key !== undefined && this.peers.get(key) === socket) this.peers.delete(key)
    })
  }

  /** The routing id the peer gets, or undefined when it cannot be served (the connection is closed). */
  private register(socket: net.Socket, properties: Map<string, Buffer>): string | undefined {
    const socketType = properties.get("socket-type")?.toString("latin1")
    if (socketType === undefined || !compatiblePeers.has(socketType)) {
      socket.destroy()
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
      socket.destroy()
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
