/**
 * The zmq EventBroker over real sockets: what a subscriber receives (topics,
 * envelope, counters), prefix filtering, a stalled subscriber, peers feeding
 * the local broker without loops, and malformed peer messages.
 */
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { describe, expect, it } from "@effect/vitest"
import { Chunk, Effect, Either, Layer, Schema, Stream } from "effect"
import * as zmq from "zeromq"
import * as ZmqBroker from "../../../src/components/broker/Zmq.js"
import { decodeMessage, encodeBody, encodeEvent, headerPrefix } from "../../../src/components/broker/zmq/envelope.js"
import { makeSequenceTracker } from "../../../src/components/broker/zmq/sequence.js"
import { JobReleased, SchedulerEvent } from "../../../src/domain/events.js"
import { TaskId } from "../../../src/domain/ids.js"
import { JobError } from "../../../src/domain/JobResult.js"
import { EventBroker } from "../../../src/services/EventBroker.js"
import { everyKind, jobAdded, jobReleased, receive, subscriber, until } from "./zmqFixtures.js"

const encode = Schema.encodeSync(SchedulerEvent)

const build = (options: Partial<ZmqBroker.ZmqBrokerOptions> = {}) =>
  ZmqBroker.make({ publish: "tcp://127.0.0.1:0", instanceId: "sched-a", ...options })

const subscribedTo = (made: Effect.Effect.Success<ReturnType<typeof build>>, prefix: string) =>
  until(`subscription '${prefix}'`, Effect.map(made.stats, (stats) => stats.publisher?.subscriptions.includes(prefix) ?? false))

const tempDir = Effect.acquireRelease(
  Effect.sync(() => mkdtempSync(join(tmpdir(), "sz-events-"))),
  (dir) => Effect.sync(() => rmSync(dir, { recursive: true, force: true }))
)

describe("zmq EventBroker: publishing", () => {
  it("encodes every event kind exactly as its Schema encoding, whatever its strings hold", () => {
    const awkward = new JobReleased({
      ...jobReleased("error"),
      taskId: TaskId.make('back"up\\ ü ✓ \u0001 end'),
      error: new JobError({ tag: "Boom", message: 'line 1\nline "2"\t\u2028' })
    })
    for (const event of [...everyKind, awkward]) {
      const body = encodeBody(headerPrefix("a\"b", "r"), 1, 1, event)
      expect(JSON.parse(body).event).toEqual(encode(event))
      expect(JSON.parse(encodeEvent(event))).toEqual(JSON.parse(JSON.stringify(event)))
    }
  })

  it.live("publishes each event as [topic, JSON] with the instance, its run and both counters", () =>
    Effect.scoped(Effect.gen(function* () {
      const made = yield* build()
      const sub = yield* subscriber(made.endpoint!, [""])
      yield* subscribedTo(made, "")
      yield* made.publishAll(everyKind)
      yield* made.publish(jobAdded())
      const messages = []
      for (let i = 0; i < everyKind.length + 1; i++) messages.push(yield* receive(sub))
      expect(messages.map((message) => message.topic)).toEqual([
        "task.added",
        "task.updated",
        "task.removed",
        "schedule.added",
        "schedule.updated",
        "schedule.removed",
        "schedule.paused",
        "schedule.resumed",
        "job.added",
        "job.acquired",
        "job.released.error",
        "job.cancel.requested",
        "handler.online",
        "handler.offline",
        "scheduler.started",
        "scheduler.stopped",
        "edge.pump-7.schedule.paused",
        "job.added"
      ])
      expect(messages.map((message) => message.body.seq)).toEqual(messages.map((_, i) => i + 1))
      expect(messages.map((message) => message.body.topicSeq)).toEqual([...everyKind.map(() => 1), 2])
      expect(new Set(messages.map((message) => message.body.instance))).toEqual(new Set(["sched-a"]))
      expect(new Set(messages.map((message) => message.body.run)).size).toBe(1)
      expect(messages.slice(0, everyKind.length).map((message) => message.body.event)).toEqual(everyKind.map((e) => encode(e)))
      const decoded = decodeMessage([Buffer.from(messages[10]!.topic), Buffer.from(JSON.stringify(messages[10]!.body))])
      expect(Either.isRight(decoded)).toBe(true)
    })))

  it.live("sends only topics a subscriber asked for; the rest take no number", () =>
    Effect.scoped(Effect.gen(function* () {
      const made = yield* build()
      const sub = yield* subscriber(made.endpoint!, ["job.released.error"])
      yield* subscribedTo(made, "job.released.error")
      yield* made.publishAll([jobReleased("success"), jobReleased("error"), jobAdded(), jobReleased("error", true)])
      const first = yield* receive(sub)
      const second = yield* receive(sub)
      expect([first.topic, second.topic]).toEqual(["job.released.error", "job.released.error"])
      expect([first.body.seq, second.body.seq, first.body.topicSeq, second.body.topicSeq]).toEqual([1, 2, 1, 2])
      expect(second.body.event.willRetry).toBe(true)
      const stats = yield* made.stats
      expect(stats.publisher).toMatchObject({ published: 2, unmatched: 2, sendFailed: 0 })
    })))

  it.live("a stalled subscriber fills the queue, further events are dropped unencoded with their numbers, and it sees the gap", () =>
    Effect.scoped(Effect.gen(function* () {
      const made = yield* build({ highWaterMark: 100 })
      // Connected and subscribed, not read until the publisher has had to drop.
      const stalled = yield* subscriber(made.endpoint!, [""], { receiveHighWaterMark: 10 })
      yield* subscribedTo(made, "")
      const added = jobAdded()
      const total = 50_000
      const burst = Array.from({ length: 1000 }, () => added)
      // Far more than the high-water marks and the socket buffers hold.
      for (let i = 0; i < total; i += 1000) {
        yield* made.publishAll(burst)
        yield* Effect.sleep("1 millis")
      }
      yield* until("the publisher waiting on the full subscriber", Effect.map(made.stats, (s) => (s.publisher?.waits ?? 0) > 0))
      const stats = (yield* made.stats).publisher!
      expect(stats.dropped).toBeGreaterThan(0)
      expect(stats.published + stats.dropped + stats.queued).toBe(total)
      expect(stats.sendFailed).toBe(0)
      // Reading again: the queued events follow, then one added now; the drops show as a gap.
      yield* Effect.forkScoped(Effect.forever(Effect.zipRight(made.publish(added), Effect.sleep("5 millis"))))
      const tracker = makeSequenceTracker(false)
      let received = 0
      let missed = 0
      let lastSeq = 0
      while (lastSeq <= total) {
        const message = yield* receive(stalled)
        received++
        lastSeq = message.body.seq as number
        missed += tracker.observe(message.topic, message.body as never).missed
      }
      // Read after the loop: the events published while the queue was still full are dropped too.
      expect(missed).toBe((yield* made.stats).publisher!.dropped)
      expect(received + missed).toBe(lastSeq)
    })))

  it.live("a subscriber stalled past the stall timeout stops holding the stream up: the others keep receiving", () =>
    Effect.scoped(Effect.gen(function* () {
      const made = yield* build({ highWaterMark: 100, stallTimeoutMs: 200 })
      // Connected, subscribed to everything, never read. The live one reads only once the publisher gave up waiting.
      yield* subscriber(made.endpoint!, [""], { receiveHighWaterMark: 10 })
      const live = yield* subscriber(made.endpoint!, ["job."], { receiveHighWaterMark: 10 })
      yield* subscribedTo(made, "")
      yield* subscribedTo(made, "job.")
      // Published until the stalled subscriber's queues and socket buffers are full, and on.
      const burst = Array.from({ length: 1000 }, () => jobAdded())
      yield* Effect.forkScoped(Effect.forever(Effect.zipRight(made.publishAll(burst), Effect.sleep("1 millis"))))
      yield* until("the publisher giving up on the stalled subscriber", Effect.map(made.stats, (s) => (s.publisher?.stalls ?? 0) > 0))
      // Events numbered after the stall reach the live subscriber although the stalled one still reads nothing.
      const target = (yield* made.stats).publisher!.published + 10_000
      let lastSeq = 0
      while (lastSeq < target) lastSeq = (yield* receive(live)).body.seq as number
      expect((yield* made.stats).publisher!.stalls).toBe(1)
    })))

  it.live("a lone stalled subscriber is waited for past the stall timeout: it holds nobody up, and events keep being dropped unencoded", () =>
    Effect.scoped(Effect.gen(function* () {
      const made = yield* build({ highWaterMark: 100, stallTimeoutMs: 100 })
      yield* subscriber(made.endpoint!, [""], { receiveHighWaterMark: 10 })
      yield* subscribedTo(made, "")
      const burst = Array.from({ length: 1000 }, () => jobAdded())
      yield* Effect.forkScoped(Effect.forever(Effect.zipRight(made.publishAll(burst), Effect.sleep("1 millis"))))
      // Until the publisher was refused for longer than the stall timeout without a break: eight retries
      // (at least 1 + 2 + ... + 32 + 50 + 50 ms) with nothing sent in between.
      let from = (yield* made.stats).publisher!
      while (true) {
        yield* until("eight more retries", Effect.map(made.stats, (s) => s.publisher!.waits >= from.waits + 8))
        const to = (yield* made.stats).publisher!
        if (to.published === from.published) break
        from = to
      }
      const stats = (yield* made.stats).publisher!
      expect(stats.stalls).toBe(0)
      expect(stats.dropped).toBeGreaterThan(from.dropped)
    })))

  it.live("a subscriber that reads slowly gets everything but what its full queue refused mid-batch: the publisher waits, every loss counted", () =>
    Effect.scoped(Effect.gen(function* () {
      const made = yield* build({ highWaterMark: 100 })
      const reader = yield* subscriber(made.endpoint!, ["job."], { receiveHighWaterMark: 10 })
      yield* subscribedTo(made, "job.")
      // More than the high-water marks and the socket buffers hold, so the publisher has to wait.
      const total = 30_000
      // Published while it reads, never more at once than the queue holds.
      yield* Effect.forkScoped(Effect.gen(function* () {
        for (let i = 0; i < total; i += 50) {
          while ((yield* made.stats).publisher!.queued > 50) yield* Effect.sleep("1 millis")
          yield* made.publishAll(Array.from({ length: 50 }, () => jobAdded()))
        }
      }))
      // Should the last ones be lost, keep adding one until the reader gets past `total`.
      yield* Effect.forkScoped(Effect.gen(function* () {
        while ((yield* made.stats).publisher!.published + (yield* made.stats).publisher!.dropped < total) yield* Effect.sleep("5 millis")
        yield* Effect.forever(Effect.zipRight(made.publish(jobAdded()), Effect.sleep("5 millis")))
      }))
      const tracker = makeSequenceTracker(false)
      let missed = 0
      let received = 0
      let lastSeq = 0
      while (lastSeq < total) {
        const message = yield* receive(reader)
        expect(message.body.seq as number).toBeGreaterThan(lastSeq)
        lastSeq = message.body.seq as number
        missed += tracker.observe(message.topic, message.body as never).missed
        if (++received % 1000 === 0) yield* Effect.sleep("20 millis")
      }
      const stats = (yield* made.stats).publisher!
      expect(stats.sendFailed).toBe(0)
      expect(stats.waits).toBeGreaterThan(0)
      // Every loss up to `total` was counted, and shows as a gap.
      expect(missed).toBeLessThanOrEqual(stats.dropped)
      expect(received + missed).toBe(lastSeq)
      // Losses happen only at the moments the queue is full: a small share of what was sent.
      expect(stats.dropped).toBeLessThan(total / 10)
    })))

  it.live("with nobody subscribed, events are neither queued nor numbered", () =>
    Effect.scoped(Effect.gen(function* () {
      const made = yield* build()
      yield* made.publishAll(everyKind)
      expect((yield* made.stats).publisher).toMatchObject({ published: 0, dropped: 0, queued: 0, unmatched: everyKind.length })
    })))
})

describe("zmq EventBroker: CURVE", () => {
  it.live("encrypts the stream; only allowed subscriber keys connect, others are refused and counted", () =>
    Effect.scoped(Effect.gen(function* () {
      const server = zmq.curveKeyPair()
      const allowed = zmq.curveKeyPair()
      const other = zmq.curveKeyPair()
      const made = yield* build({ curve: { secretKey: server.secretKey, allowedPublicKeys: [allowed.publicKey] } })
      const client = (keys: { publicKey: string; secretKey: string }) =>
        Effect.acquireRelease(
          Effect.sync(() => {
            const socket = new zmq.Subscriber({
              linger: 0,
              curveServerKey: server.publicKey,
              curvePublicKey: keys.publicKey,
              curveSecretKey: keys.secretKey
            })
            socket.subscribe("")
            socket.connect(made.endpoint!)
            return socket
          }),
          (socket) => Effect.sync(() => socket.close())
        )
      yield* client(other)
      yield* until("the other key refused", Effect.map(made.stats, (s) => (s.publisher?.refusedConnections ?? 0) >= 1))
      const reader = yield* client(allowed)
      yield* subscribedTo(made, "")
      const added = jobAdded()
      yield* made.publish(added)
      const message = yield* receive(reader)
      expect([message.topic, message.body.event.jobId]).toEqual(["job.added", added.jobId])
    })))

  it.live("a peer with the right client keys follows a CURVE-protected stream", () =>
    Effect.scoped(Effect.gen(function* () {
      const server = zmq.curveKeyPair()
      const peerKeys = zmq.curveKeyPair()
      const a = yield* build({ instanceId: "a", curve: { secretKey: server.secretKey, allowedPublicKeys: [peerKeys.publicKey] } })
      const b = yield* build({
        publish: null,
        instanceId: "b",
        peers: [a.endpoint!],
        peerCurve: { serverPublicKey: server.publicKey, ...peerKeys }
      })
      yield* subscribedTo(a, "job.added")
      const local = yield* b.subscribe()
      const added = jobAdded()
      yield* a.publish(added)
      const [delivered] = Chunk.toReadonlyArray(yield* Stream.runCollect(Stream.take(local, 1)))
      expect(delivered).toEqual(added)
    })))
})

describe("zmq EventBroker: peers", () => {
  it.live("feeds a peer's events to local subscribers, marked, and never publishes them again", () =>
    Effect.scoped(Effect.gen(function* () {
      const dir = yield* tempDir
      const endpoints = { a: `ipc://${join(dir, "a")}`, b: `ipc://${join(dir, "b")}` }
      const peers = [endpoints.a, endpoints.b]
      // Both list both endpoints, as a shared config would: each ignores its own messages.
      const a = yield* build({ publish: endpoints.a, instanceId: "a", peers })
      const b = yield* build({ publish: endpoints.b, instanceId: "b", peers })
      const watcher = yield* subscriber(endpoints.b, [""])
      yield* subscribedTo(b, "")
      yield* until("both peers subscribed to each other", Effect.map(Effect.all([a.stats, b.stats]), (all) =>
        all.every((stats) => stats.publisher?.subscriptions.includes("job.added") ?? false)))
      const local = yield* b.subscribe()
      const added = jobAdded()
      yield* a.publish(added)
      const [delivered] = Chunk.toReadonlyArray(yield* Stream.runCollect(Stream.take(local, 1)))
      expect(delivered).toEqual(added)
      expect(ZmqBroker.isFromPeer(delivered!)).toBe(true)
      expect(ZmqBroker.isFromPeer(added)).toBe(false)
      // B's own next event is the first message on its stream: A's was not re-published.
      const own = jobReleased("success")
      yield* b.publish(own)
      const first = yield* receive(watcher)
      expect([first.topic, first.body.seq, first.body.event.jobId]).toEqual(["job.released.success", 1, own.jobId])
      yield* until("own messages ignored", Effect.map(b.stats, (stats) => (stats.peers?.ownIgnored ?? 0) >= 1))
      yield* until("A ignores its own messages too", Effect.map(a.stats, (stats) => (stats.peers?.ownIgnored ?? 0) >= 1))
    })))

  it.live("drops malformed peer messages with a reason and keeps taking good ones", () =>
    Effect.scoped(Effect.gen(function* () {
      const dir = yield* tempDir
      const endpoint = `ipc://${join(dir, "fake")}`
      const fake = yield* Effect.acquireRelease(
        Effect.promise(async () => {
          const socket = new zmq.XPublisher({ linger: 0 })
          await socket.bind(endpoint)
          return socket
        }),
        (socket) => Effect.sync(() => socket.close())
      )
      const b = yield* build({ publish: null, instanceId: "b", peers: [endpoint] })
      yield* Effect.promise(() => fake.receive()) // B's first subscription arrived
      const local = yield* b.subscribe()
      const good = jobAdded()
      const send = (frames: Array<string>) => Effect.promise(() => fake.send(frames))
      yield* send(["job.added"])
      yield* send(["job.added", "{not json"])
      yield* send(["job.added", JSON.stringify({ instance: "x", run: "r", seq: 0, topicSeq: 1, event: {} })])
      yield* send(["job.added", encodeBody(headerPrefix("x", "r"), 1, 1, good).replace(good.jobId, "not-a-uuid")])
      yield* send(["job.added.x", encodeBody(headerPrefix("x", "r"), 1, 1, good)])
      yield* send(["job.added", encodeBody(headerPrefix("x", "r"), 2, 1, good)])
      const [delivered] = Chunk.toReadonlyArray(yield* Stream.runCollect(Stream.take(local, 1)))
      expect(delivered).toEqual(good)
      const stats = yield* b.stats
      expect(stats.peers?.dropped).toEqual({ frame_count: 1, not_json: 1, invalid_envelope: 2, topic_mismatch: 1 })
      expect(stats.publisher).toBeNull()
    })))
})

describe("decoding a peer's message", () => {
  const frames = (topic: string, body: unknown) => [Buffer.from(topic), Buffer.from(typeof body === "string" ? body : JSON.stringify(body))]
  const dropOf = (topic: string, body: unknown) => {
    const decoded = decodeMessage(frames(topic, body))
    return Either.isLeft(decoded) ? `${decoded.left.reason}: ${decoded.left.detail}` : "decoded"
  }
  const event = jobAdded()
  const valid = JSON.parse(encodeBody(headerPrefix("a", "r"), 3, 2, event))

  it("decodes a valid message to the event itself", () => {
    const decoded = decodeMessage(frames("job.added", valid))
    expect(Either.isRight(decoded) && decoded.right.envelope).toEqual({ instance: "a", run: "r", seq: 3, topicSeq: 2, event })
  })

  it("names what is wrong with a bad one", () => {
    expect(dropOf("job.added", [1])).toBe("invalid_envelope: expected a JSON object")
    expect(dropOf("job.added", { ...valid, instance: "" })).toBe("invalid_envelope: instance: expected a non-empty string")
    expect(dropOf("job.added", { ...valid, run: 7 })).toBe("invalid_envelope: run: expected a non-empty string")
    expect(dropOf("job.added", { ...valid, seq: 1.5 })).toBe("invalid_envelope: seq: expected a positive integer")
    expect(dropOf("job.added", { ...valid, topicSeq: 0 })).toBe("invalid_envelope: topicSeq: expected a positive integer")
    expect(dropOf("job.added", { ...valid, event: null })).toBe("invalid_envelope: event: expected an object")
    expect(dropOf("job.added", { ...valid, event: { _tag: "JobVanished" } })).toBe(
      'invalid_envelope: event._tag: unknown event type "JobVanished"'
    )
    expect(dropOf("job.added", { ...valid, event: { ...valid.event, jobId: "x" } })).toMatch(/^invalid_envelope: event: .*jobId/s)
    expect(dropOf("job.acquired", valid)).toBe("topic_mismatch: topic 'job.acquired' for a JobAdded (expected 'job.added')")
    expect(dropOf("job.added", "{")).toMatch(/^not_json: /)
  })
})

describe("sequence tracker", () => {
  it("counts gaps by seq, or per topic when the listener filters, and resets on a new run", () => {
    const header = (seq: number, topicSeq: number, run = "r1") => ({ instance: "a", run, seq, topicSeq })
    const all = makeSequenceTracker(false)
    expect(all.observe("job.added", header(5, 1)).missed).toBe(0) // joined mid-run
    expect(all.observe("job.added", header(6, 2)).missed).toBe(0)
    expect(all.observe("job.added", header(9, 3)).missed).toBe(2)
    expect(all.observe("job.added", header(1, 1, "r2"))).toEqual({ missed: 0, restarted: true })
    const byTopic = makeSequenceTracker(true)
    expect(byTopic.observe("job.added", header(1, 1)).missed).toBe(0)
    expect(byTopic.observe("job.released.error", header(7, 1)).missed).toBe(0)
    expect(byTopic.observe("job.added", header(9, 2)).missed).toBe(0)
    expect(byTopic.observe("job.added", header(12, 5)).missed).toBe(2)
  })

})

describe("zmq EventBroker layer", () => {
  it.live("provides the EventBroker and ZmqBroker with the endpoint it bound", () =>
    Effect.gen(function* () {
      const events = yield* EventBroker
      const info = yield* ZmqBroker.ZmqBroker
      expect(info.endpoint).toMatch(/^tcp:\/\/127\.0\.0\.1:[1-9]\d*$/)
      const sub = yield* subscriber(info.endpoint!, ["job."])
      yield* until("subscribed", Effect.map(info.stats, (stats) => stats.publisher?.subscriptions.includes("job.") ?? false))
      yield* events.publish(jobAdded())
      expect((yield* receive(sub)).topic).toBe("job.added")
    }).pipe(Effect.scoped, Effect.provide(ZmqBroker.layerFromConfig({ publish: "tcp://127.0.0.1:0", peers: [], highWaterMark: 100 }, "x"))))

  it.live("fails with ZmqBrokerError naming an endpoint it cannot bind", () =>
    Effect.gen(function* () {
      const error = yield* Effect.flip(Effect.scoped(Layer.build(ZmqBroker.layer({ publish: "tcp://256.1.1.1:1" }))))
      expect(error._tag).toBe("ZmqBrokerError")
      expect(error.message).toContain("cannot bind tcp://256.1.1.1:1")
    }))
})
