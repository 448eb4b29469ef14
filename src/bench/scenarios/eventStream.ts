/**
 * event-stream, two measurements of the zmq event broker:
 * 1. 100,000 events (a job's added/acquired/released, repeated) published to
 *    one subscriber in another process, as fast as the publisher's queue takes
 *    them: events_per_s = events delivered / time from the first publish to
 *    the subscriber seeing the last sequence number; `delivered` and `missed`
 *    say what it received (missed = gaps); CPU µs per event on each side (the
 *    subscriber reads `seq` from the bytes, so its figure is the stream's own
 *    cost: receiving with zeromq.js).
 * 2. local-throughput-memory (100,000 no-op jobs) four ways, interleaved and
 *    repeated (medians): with the local broker, with the zmq broker publishing
 *    but nobody subscribed (nothing is queued then), with a subscriber process
 *    reading everything, and with a stalled subscriber (connected, subscribed
 *    to everything, never reading; both subscribers in processes of their
 *    own). `stalled_vs_no_subscriber` is the ratio the bar checks (>= 0.9):
 *    once the stalled subscriber's queue is full the publisher waits and
 *    drops events unencoded; `stalled_vs_live_subscriber` compares with a
 *    subscriber that keeps up. The stalled subscriber is the only one, so the
 *    broker waits for it however long the run lasts (with others connected
 *    it would stop waiting after events.stall_timeout_ms, and from then on
 *    encode every event as for a live subscriber).
 */
import { spawn } from "node:child_process"
import { randomUUID } from "node:crypto"
import { fileURLToPath } from "node:url"
import { Deferred, Effect, Layer, Option } from "effect"
import * as ZmqBroker from "../../components/broker/Zmq.js"
import * as MemoryStore from "../../components/datastore/Memory.js"
import * as LocalRegistry from "../../components/registry/Local.js"
import { JobAcquired, JobAdded, JobReleased } from "../../domain/events.js"
import { JobId, SchedulerId, TaskId } from "../../domain/ids.js"
import { DataStore } from "../../services/DataStore.js"
import type { EventBroker } from "../../services/EventBroker.js"
import { Scheduler } from "../../services/Scheduler.js"
import * as SchedulerLayer from "../../services/scheduler/layer.js"
import { cpuWindow, median, monotonicMs } from "../measure.js"
import type { Metrics } from "../report.js"
import { makeCountdown } from "./stack.js"

const eventCount = 100_000
/** The publisher's queue and ZeroMQ high-water mark (the default). */
const queueSize = 10_000
const jobCount = 100_000
const rounds = 3
const subscriberScript = fileURLToPath(new URL("./eventSubscriber.js", import.meta.url))

const jobEvents = () => {
  const at = new Date()
  const ids = { jobId: JobId.make(randomUUID()), taskId: TaskId.make("bench"), scheduleId: null }
  const schedulerId = SchedulerId.make("bench")
  return [
    new JobAdded({ timestamp: at, ...ids }),
    new JobAcquired({ timestamp: at, ...ids, schedulerId, attempt: 1 }),
    new JobReleased({
      timestamp: at,
      ...ids,
      schedulerId,
      attempt: 1,
      outcome: "success",
      willRetry: false,
      scheduledFireTime: null,
      startedAt: at,
      finishedAt: at,
      error: null
    })
  ]
}

/** Waits until the publisher reports `count` subscriptions. */
const awaitSubscriptions = (broker: ZmqBroker.ZmqBroker["Type"], count: number) =>
  Effect.gen(function*() {
    while (((yield* broker.stats).publisher?.subscriptions.length ?? 0) < count) yield* Effect.sleep("10 millis")
  }).pipe(Effect.timeoutFail({ duration: "30 seconds", onTimeout: () => new Error("the subscriber never subscribed") }))

const streamToSubscriber = Effect.scoped(Effect.gen(function*() {
  const broker = yield* ZmqBroker.make({ publish: "tcp://127.0.0.1:0", instanceId: "bench", highWaterMark: queueSize })
  const child = spawn(process.execPath, [subscriberScript, broker.endpoint!, String(eventCount)], {
    stdio: ["ignore", "pipe", "inherit"]
  })
  yield* Effect.addFinalizer(() => Effect.sync(() => child.exitCode === null && child.kill("SIGKILL")))
  const done = yield* Deferred.make<string>()
  let output = ""
  child.stdout.on("data", (chunk) => {
    output += String(chunk)
    if (output.includes("\n")) Deferred.unsafeDone(done, Effect.succeed(output.trim()))
  })
  yield* awaitSubscriptions(broker, 1)
  const events = jobEvents()
  const batch = Array.from({ length: 999 }, (_, i) => events[i % 3]!)
  const queued = Effect.map(broker.stats, (stats) => stats.publisher?.queued ?? 0)
  const cpuSeconds = cpuWindow()
  const start = monotonicMs()
  // Published as fast as the queue takes them: a batch whenever it has room (the scheduler publishes
  // as it works; this measures the stream, not how much a burst can overrun the queue).
  for (let sent = 0; sent < eventCount; sent += batch.length) {
    while ((yield* queued) > queueSize - batch.length) yield* Effect.sleep("1 millis")
    yield* broker.publishAll(batch.slice(0, Math.min(batch.length, eventCount - sent)))
  }
  // Should the last message be dropped, keep adding one until the subscriber has seen seq eventCount.
  while (Option.isNone(yield* Deferred.poll(done))) {
    yield* broker.publish(events[0]!)
    yield* Effect.sleep("1 millis")
  }
  const publishCpuS = cpuSeconds()
  const [, received, missed, subscriberCpuUs] = (yield* Deferred.await(done)).split(" ").map(Number)
  const elapsedS = (monotonicMs() - start) / 1000
  return {
    events: eventCount,
    events_per_s: received! / elapsedS,
    publisher_cpu_us_per_event: (publishCpuS * 1e6) / eventCount,
    subscriber_cpu_us_per_event: subscriberCpuUs! / received!,
    delivered: received!,
    missed: missed!
  }
}))

type BrokerKind = "local" | "zmq" | "zmq-live" | "zmq-stalled"

/** "local": no PUB socket, so publish is the local broker's own function. */
const brokerLayer = (kind: BrokerKind): Layer.Layer<EventBroker | ZmqBroker.ZmqBroker, ZmqBroker.ZmqBrokerError> =>
  kind === "local"
    ? ZmqBroker.layer({ publish: null })
    : ZmqBroker.layer({ publish: "tcp://127.0.0.1:0", instanceId: "bench" })

/** local-throughput-memory's measurement on a scheduler whose broker is `kind`. */
const throughputWith = (kind: BrokerKind) =>
  Effect.flatMap(makeCountdown(jobCount), (ran) => {
    const handler = LocalRegistry.defineLocalHandler({ id: "bench", methods: { run: () => ran.tick() } })
    const broker = brokerLayer(kind)
    const stack = SchedulerLayer.layer({ cleanupInterval: null }).pipe(
      Layer.provideMerge(Layer.mergeAll(MemoryStore.layer, LocalRegistry.layer([handler])).pipe(Layer.provideMerge(broker)))
    )
    return Effect.scoped(Effect.gen(function*() {
      const context = yield* Layer.build(stack)
      const scheduler = yield* Effect.provide(Scheduler, context)
      const store = yield* Effect.provide(DataStore, context)
      if (kind === "zmq-live" || kind === "zmq-stalled") {
        const zmqBroker = yield* Effect.provide(ZmqBroker.ZmqBroker, context)
        // In its own process, until it is killed: live reads everything; stalled is connected and subscribed
        // to everything and never reads, so it fills up and then loses messages.
        const mode = kind === "zmq-live" ? String(Number.MAX_SAFE_INTEGER) : "stalled"
        const child = spawn(process.execPath, [subscriberScript, zmqBroker.endpoint!, mode], {
          stdio: ["ignore", "ignore", "inherit"]
        })
        yield* Effect.addFinalizer(() => Effect.sync(() => child.kill("SIGKILL")))
        yield* awaitSubscriptions(zmqBroker, 1)
      }
      yield* Effect.orDie(scheduler.configureTask({ id: "bench", handler: "bench", method: "run", maxRunningJobs: null }))
      const cpuSeconds = cpuWindow()
      const start = monotonicMs()
      for (let i = 0; i < jobCount; i++) yield* scheduler.addJob({ taskId: "bench" })
      yield* Deferred.await(ran.reached)
      while ((yield* store.getJobs()).length > 0) yield* Effect.sleep("1 millis")
      const perS = jobCount / ((monotonicMs() - start) / 1000)
      const perCpuS = jobCount / cpuSeconds()
      // Of the events somebody wanted, the share sent (the rest were dropped at the queue, unencoded).
      const publisher = (yield* Effect.provide(ZmqBroker.ZmqBroker, context).pipe(Effect.flatMap((zmq) => zmq.stats))).publisher
      const sentShare = publisher === null || publisher.published + publisher.dropped === 0
        ? Number.NaN
        : publisher.published / (publisher.published + publisher.dropped + publisher.queued)
      return { perS, perCpuS, sentShare }
    }))
  })

export const eventStream = (): Effect.Effect<Metrics, unknown> =>
  Effect.gen(function*() {
    const stream = yield* streamToSubscriber
    const kinds: ReadonlyArray<BrokerKind> = ["local", "zmq", "zmq-live", "zmq-stalled"]
    const runs: Record<BrokerKind, Array<{ perS: number; perCpuS: number; sentShare: number }>> = {
      local: [],
      zmq: [],
      "zmq-live": [],
      "zmq-stalled": []
    }
    // Alternating order, so no kind always runs first (colder) or last (after the most garbage).
    for (let round = 0; round < rounds; round++) {
      for (const kind of round % 2 === 0 ? kinds : [...kinds].reverse()) runs[kind].push(yield* throughputWith(kind))
    }
    const perS = (kind: BrokerKind) => median(runs[kind].map((run) => run.perS))
    const perCpuS = (kind: BrokerKind) => median(runs[kind].map((run) => run.perCpuS))
    return {
      ...stream,
      jobs_per_s_local: perS("local"),
      jobs_per_s_no_subscriber: perS("zmq"),
      jobs_per_s_live_subscriber: perS("zmq-live"),
      jobs_per_s_stalled: perS("zmq-stalled"),
      jobs_per_cpu_s_local: perCpuS("local"),
      jobs_per_cpu_s_no_subscriber: perCpuS("zmq"),
      jobs_per_cpu_s_live_subscriber: perCpuS("zmq-live"),
      jobs_per_cpu_s_stalled: perCpuS("zmq-stalled"),
      sent_share_live_subscriber: median(runs["zmq-live"].map((run) => run.sentShare)),
      sent_share_stalled: median(runs["zmq-stalled"].map((run) => run.sentShare)),
      stalled_vs_no_subscriber: perS("zmq-stalled") / perS("zmq"),
      stalled_vs_no_subscriber_cpu: perCpuS("zmq-stalled") / perCpuS("zmq"),
      stalled_vs_live_subscriber: perS("zmq-stalled") / perS("zmq-live"),
      stalled_vs_live_subscriber_cpu: perCpuS("zmq-stalled") / perCpuS("zmq-live")
    }
  })
