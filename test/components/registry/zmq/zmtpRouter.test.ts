/** The registry's own ZMTP ROUTER against libzmq's DEALER: routing ids, replies, unknown peers, taken ids, oversized messages. */
import * as net from "node:net"
import { afterEach, describe, expect, it } from "vitest"
import * as zmq from "zeromq"
import { bindAddress, ZmtpRouter } from "../../../../src/components/registry/zmq/ZmtpRouter.js"
import { greeting } from "../../../../src/handler/zmtp.js"

const open: Array<{ close: () => void }> = []
afterEach(() => {
  for (const socket of open.splice(0)) socket.close()
})

const router = async (maxMessageBytes = 1024) => {
  const socket = new ZmtpRouter({ maxMessageBytes })
  open.push(socket)
  await socket.bind(bindAddress("tcp://127.0.0.1:0")!)
  return socket
}

const dealerTo = (endpoint: string, routingId?: string) => {
  const dealer = new zmq.Dealer({ linger: 0, ...(routingId === undefined ? {} : { routingId }) })
  open.push(dealer)
  dealer.connect(endpoint)
  return dealer
}

const texts = (frames: ReadonlyArray<Buffer>) => frames.map((frame) => frame.toString())

/** The first frame set to arrive, or undefined after `ms`. */
const within = <A>(promise: Promise<A>, ms: number) =>
  Promise.race([promise, new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), ms))])

describe("ZmtpRouter", () => {
  it("reads a dealer's frame sets under its routing id and answers it; short, long and large frames", async () => {
    const server = await router(1 << 20)
    expect(server.lastEndpoint).toMatch(/^tcp:\/\/127\.0\.0\.1:\d+$/)
    const dealer = dealerTo(server.lastEndpoint!, "dealer-1")
    const long = "x".repeat(300)
    const large = "y".repeat(200_000)
    await dealer.send(["a", long, large])
    const [peer, ...frames] = await server.receive()
    expect(peer!.toString()).toBe("dealer-1")
    expect(texts(frames)).toEqual(["a", long, large])
    await server.send([peer!, "b", long])
    expect(texts(await dealer.receive())).toEqual(["b", long])
  })

  it("gives a dealer without an identity a generated id starting with a zero byte", async () => {
    const server = await router()
    const dealer = dealerTo(server.lastEndpoint!)
    await dealer.send("hello")
    const [peer] = await server.receive()
    expect(peer!.length).toBe(5)
    expect(peer![0]).toBe(0)
    await server.send([peer!, "back"])
    expect(texts(await dealer.receive())).toEqual(["back"])
  })

  it("drops a frame set to an unknown peer without failing", async () => {
    const server = await router()
    await expect(server.send([Buffer.from("nobody"), "lost"])).resolves.toBeUndefined()
  })

  it("closes a second connection that claims an id in use; the first keeps it", async () => {
    const server = await router()
    const first = dealerTo(server.lastEndpoint!, "same")
    await first.send("one")
    expect(texts((await server.receive()).slice(1))).toEqual(["one"])
    const second = dealerTo(server.lastEndpoint!, "same")
    await second.send("two")
    expect(await within(server.receive(), 300)).toBeUndefined()
    await server.send([Buffer.from("same"), "to the first"])
    expect(texts(await first.receive())).toEqual(["to the first"])
  })

  it("closes the connection of a peer that sends a message over the size limit", async () => {
    const server = await router(100)
    const dealer = dealerTo(server.lastEndpoint!, "big")
    await dealer.send("z".repeat(101))
    expect(await within(server.receive(), 300)).toBeUndefined()
  })

  it("drops a connection whose handshake does not complete in time and reports it with the peer's address", async () => {
    const drops: Array<[string, string]> = []
    const server = new ZmtpRouter({ maxMessageBytes: 1024, handshakeTimeoutMs: 100, onDrop: (peer, reason) => drops.push([peer, reason]) })
    open.push(server)
    await server.bind(bindAddress("tcp://127.0.0.1:0")!)
    const port = Number(/:(\d+)$/.exec(server.lastEndpoint!)![1])
    const silent = net.connect({ host: "127.0.0.1", port })
    open.push({ close: () => silent.destroy() })
    silent.on("data", () => undefined)
    const local = await new Promise<number>((resolve) => silent.on("connect", () => resolve(silent.localPort!)))
    await new Promise((resolve) => silent.on("close", resolve))
    expect(drops).toEqual([[`127.0.0.1:${local}`, "no handshake within 100 ms"]])
  })

  it("before READY drops a connection at the header of a frame larger than a handshake, though within the message limit", async () => {
    const drops: Array<string> = []
    const server = new ZmtpRouter({ maxMessageBytes: 1 << 20, onDrop: (_, reason) => drops.push(reason) })
    open.push(server)
    await server.bind(bindAddress("tcp://127.0.0.1:0")!)
    const port = Number(/:(\d+)$/.exec(server.lastEndpoint!)![1])
    const header = Buffer.alloc(9)
    header[0] = 0x02
    header.writeBigUInt64BE(100_000n, 1)
    const peer = net.connect({ host: "127.0.0.1", port })
    open.push({ close: () => peer.destroy() })
    peer.on("data", () => undefined)
    peer.on("error", () => undefined)
    peer.write(Buffer.concat([greeting(), header]))
    await new Promise((resolve) => peer.on("close", resolve))
    expect(drops).toEqual(["frame of 100000 bytes > 4096"])
  })

  it("rejects a pending receive when closed", async () => {
    const server = await router()
    const pending = server.receive()
    server.close()
    await expect(pending).rejects.toThrow("socket closed")
  })
})

describe("bindAddress", () => {
  it("reads tcp endpoints with an IP address, * as every IPv4 interface, and leaves host names and the rest to libzmq", () => {
    expect(bindAddress("tcp://127.0.0.1:5555")).toEqual({ host: "127.0.0.1", port: 5555 })
    expect(bindAddress("tcp://*:0")).toEqual({ host: "0.0.0.0", port: 0 })
    expect(bindAddress("tcp://[::1]:7")).toEqual({ host: "::1", port: 7 })
    expect(bindAddress("tcp://localhost:5555")).toBeUndefined()
    expect(bindAddress("ipc:///tmp/x")).toBeUndefined()
    expect(bindAddress("tcp://eth0;127.0.0.1:5555")).toBeUndefined()
    expect(bindAddress("tcp://127.0.0.1:70000")).toBeUndefined()
  })
})
