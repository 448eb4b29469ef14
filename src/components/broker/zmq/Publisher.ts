/**
 * The publishing side: an XPUB socket (a PUB that also reports which topic
 * prefixes its subscribers want) fed from a bounded ring.
 *
 * Publishing only numbers the event and appends it to the ring: no encoding,
 * no socket call on the scheduler's path. A sender drains the ring between
 * the scheduler's own steps, encoding each event and sending it. The socket
 * is in no-drop mode: when a subscriber falls `highWaterMark` messages behind,
 * a send is refused rather than silently lost, and the sender waits (retrying
 * with a short backoff) instead of encoding messages nobody will get. The ring
 * then fills, and further events are dropped there, unencoded and counted,
 * each leaving a gap in `seq`/`topicSeq` for listeners to see. (Sends go out
 * in batches; a message refused while a later one of its batch went through
 * is lost too, counted the same way.) So a stalled subscriber costs the
 * scheduler almost nothing. Waiting holds the stream up for every subscriber,
 * so with others connected it is bounded: after `stallTimeoutMs` the socket
 * leaves no-drop mode and ZeroMQ drops what the stalled subscriber has no room
 * for, for it alone (the others, peer schedulers among them, keep receiving
 * everything, and every event they want is encoded and sent again); a minute
 * later, or once the stalled one is alone, no-drop waiting is tried again. A
 * lone subscriber holds nobody up: it is waited for as long as it stalls,
 * which keeps a dead one cheap.
 * Events no subscriber wants (or all events, with nobody connected) are
 * neither queued nor numbered.
 */
import * as crypto from "node:crypto"
import { Effect, type Scope } from "effect"
import * as zmq from "zeromq"
import type { SchedulerEvent } from "../../../domain/events.js"
import { bindScoped } from "../../../protocol/bindScoped.js"
import type { CurveServerOptions } from "../../registry/zmq/options.js"
import { serveAllowList } from "../../registry/zmq/zap.js"
import { encodeBody, headerPrefix } from "./envelope.js"
import { type PublisherStats, ZmqBrokerError } from "./options.js"
import { topicKey, topicOf } from "./topics.js"

export interface Publisher {
  readonly endpoint: string
  /** Numbers and queues the event when a subscriber wants its topic (or counts it dropped); never blocks, never encodes. */
  readonly send: (event: SchedulerEvent) => void
  readonly stats: () => PublisherStats
}

// sendTimeout 0: every send settles at once (zeromq.js otherwise parks sends after a burst of a few
// hundred). noDrop: at the high-water mark a send is refused with EAGAIN instead of being lost silently,
// so the sender knows to wait. sendBufferSize: the kernel's send buffer per subscriber is fixed instead of
// growing to 4 MiB (Linux's default ceiling): a stalled subscriber otherwise takes some 10,000 messages more
// before it pushes back, each encoded and sent for nothing (measured: 10,000-15,000 instead of 15,000-25,000).
// 256 KiB carries some 850,000 events/s of 300 bytes at a 1 ms round trip, 17,000 at 50 ms (the high-water
// mark absorbs bursts above that).
// `watch` gets the socket's monitor before the bind, so that it sees every connection.
const open = (
  endpoint: string,
  highWaterMark: number,
  context: zmq.Context,
  curve: CurveServerOptions | null,
  watch: (events: zmq.Observer) => void
) =>
  bindScoped(
    () => {
      const socket = new zmq.XPublisher({
        context,
        linger: 0,
        sendHighWaterMark: highWaterMark,
        sendTimeout: 0,
        sendBufferSize: 256 * 1024,
        noDrop: true,
        ...(curve !== null && { curveServer: true, curveSecretKey: curve.secretKey, zapDomain: "schedulezero" })
      })
      watch(socket.events)
      return socket
    },
    endpoint,
    (reason) => new ZmqBrokerError({ reason })
  )

/** Messages sent per microtask turn. */
const batchSize = 256
/** Backoff while a subscriber is at its high-water mark: the first retry, and the longest wait. */
const firstRetryMs = 1
const maxRetryMs = 50
/** How long the publisher sends without waiting after a stall before it tries no-drop waiting again. */
const lossyMs = 60_000
/** How often subscription messages are looked for anyway (a connected subscriber changing its own). */
const subscriptionCheckMs = 1_000

interface TopicState {
  readonly frame: Buffer
  /** The last topicSeq given. */
  seq: number
  /** Whether any subscription matches the topic; undefined until asked (cleared when subscriptions change). */
  wanted: boolean | undefined
}

const isAgain = (error: unknown) => (error as { readonly code?: unknown } | null)?.code === "EAGAIN"

export const makePublisher = (options: {
  readonly endpoint: string
  readonly instanceId: string
  readonly highWaterMark: number
  readonly stallTimeoutMs: number
  readonly curve: CurveServerOptions | null
}): Effect.Effect<Publisher, ZmqBrokerError, Scope.Scope> =>
  Effect.gen(function*() {
    // A context of its own: the CURVE allow-list's ZAP handler is per context.
    const context = new zmq.Context()
    let refusedConnections = 0
    const allowed = options.curve?.allowedPublicKeys ?? null
    if (allowed !== null) {
      yield* serveAllowList(context, new Set(allowed), (refusal) => {
        refusedConnections++
        return Effect.logWarning("event stream subscriber refused: CURVE key not allowed").pipe(
          Effect.annotateLogs({ address: refusal.address, publicKey: refusal.publicKey ?? `(${refusal.mechanism})` })
        )
      }).pipe(Effect.mapError((error) => new ZmqBrokerError({ reason: error.message })))
    }
    // Connections open (accepted, not yet gone): the stall timeout is there to spare the others, so a lone
    // subscriber is waited for however long it stalls. A handshake and a disconnect also change subscriptions.
    let connections = 0
    let onHandshake = (): void => undefined
    let onDisconnect = (): void => undefined
    const socket = yield* open(options.endpoint, options.highWaterMark, context, options.curve, (events) => {
      events.on("accept", () => {
        connections++
      })
      events.on("handshake", () => onHandshake())
      events.on("disconnect", () => {
        connections--
        onDisconnect()
      })
    })
    const prefix = headerPrefix(options.instanceId, crypto.randomBytes(6).toString("base64url"))
    const subscriptions = new Set<string>()
    // Per topic key (topics.ts): its frame, counter and whether it is wanted.
    const topics = new Map<string, TopicState>()
    let seq = 0
    let unmatched = 0
    let published = 0
    let dropped = 0
    let sendFailed = 0
    let waits = 0
    let stalls = 0

    // The ring: events numbered and waiting for the sender, in parallel arrays (no object per event).
    const capacity = Math.max(1, options.highWaterMark)
    const ringEvents: Array<SchedulerEvent | undefined> = new Array(capacity)
    const ringTopics: Array<TopicState | undefined> = new Array(capacity)
    const ringSeqs = new Float64Array(capacity)
    const ringTopicSeqs = new Float64Array(capacity)
    let head = 0
    let queued = 0
    let draining = false
    let closed = false
    yield* Effect.addFinalizer(() =>
      Effect.sync(() => {
        closed = true
      })
    )

    const wantedBySubscription = (topic: string): boolean => {
      for (const subscribed of subscriptions) if (topic.startsWith(subscribed)) return true
      return false
    }

    const stateOf = (event: SchedulerEvent): TopicState => {
      const key = topicKey(event)
      let state = topics.get(key)
      if (state === undefined) {
        state = { frame: Buffer.from(topicOf(event)), seq: 0, wanted: undefined }
        topics.set(key, state)
      }
      if (state.wanted === undefined) state.wanted = wantedBySubscription(state.frame.toString("utf8"))
      return state
    }

    // Subscription messages: byte 1 (subscribe) or 0 (unsubscribe), then the prefix.
    // Without the verbose option XPUB reports a prefix's first subscriber and its last unsubscribe.
    const onSubscription = (frames: Array<Buffer>) => {
      const frame = frames[0]
      if (frame === undefined || frame.length === 0) return
      const topic = frame.subarray(1).toString("utf8")
      if (frame[0] === 1) subscriptions.add(topic)
      else if (frame[0] === 0) subscriptions.delete(topic)
      for (const state of topics.values()) state.wanted = undefined
    }
    // Taken when the socket has some, looked for before each batch the sender sends and every
    // subscriptionCheckMs; waited for (a receive() left pending) only from a new subscriber's handshake
    // until its subscriptions arrive. While a receive is pending, zeromq.js asks the socket after every
    // send whether it became readable, a system call each time (measured: a quarter of the sender's
    // CPU); a timer looking often costs an idle process (measured: every 20 ms, 5 ms of CPU a second).
    let reading = false
    let waitAgain = false
    const readSubscriptions = (wait: boolean): void => {
      if (closed) return
      if (reading) {
        waitAgain ||= wait
        return
      }
      if (!wait && !socket.readable) return
      reading = true
      const readAll = async () => {
        do {
          onSubscription(await socket.receive())
        } while (!closed && socket.readable)
      }
      // A receive refused here means the socket closed: nothing left to read.
      readAll().catch(() => undefined).finally(() => {
        reading = false
        if (waitAgain) {
          waitAgain = false
          readSubscriptions(true)
        }
      })
    }
    onHandshake = () => readSubscriptions(true)
    // XPUB reports the unsubscriptions of a subscriber that left.
    onDisconnect = () => readSubscriptions(false)
    // Whoever subscribed while the socket was being bound.
    readSubscriptions(false)
    const subscriptionCheck = setInterval(() => readSubscriptions(false), subscriptionCheckMs).unref()
    yield* Effect.addFinalizer(() => Effect.sync(() => clearInterval(subscriptionCheck)))

    // Messages encoded and refused at the end of a batch, kept in order and sent before the ring's
    // next ones. After a refusal the sender waits, then probes with one message before batches again.
    const retryFrames: Array<Buffer> = []
    const retryBodies: Array<string> = []
    let blocked = false
    let retryMs = firstRetryMs
    // The outcome of each send of the current batch, in order (handlers run in the order of the sends).
    const batchOk: Array<boolean> = []
    const onSent = () => {
      published++
      batchOk.push(true)
    }
    const onRefused = (error: unknown) => {
      if (!isAgain(error)) sendFailed++
      batchOk.push(!isAgain(error))
    }
    // Sent in the current batch and not yet counted as published, dropped or failed (for the stats).
    const uncounted = () => batchFrames.length - batchOk.filter((ok) => ok).length
    const batchFrames: Array<Buffer> = []
    const batchBodies: Array<string> = []
    const shift = () => {
      ringEvents[head] = undefined
      ringTopics[head] = undefined
      head = (head + 1) % capacity
      queued--
    }
    // When the current wait began, and since when the socket drops for full subscribers instead (0: it waits).
    let blockedSince = 0
    let lossySince = 0
    const waitAndRetry = (): Promise<void> | undefined => {
      const now = Date.now()
      if (!blocked) blockedSince = now
      if (now - blockedSince >= options.stallTimeoutMs && connections > 1) {
        stalls++
        blocked = false
        retryMs = firstRetryMs
        lossySince = now
        socket.noDrop = false
        return drain()
      }
      waits++
      blocked = true
      setTimeout(() => void drain(), retryMs)
      retryMs = Math.min(maxRetryMs, retryMs * 2)
      return undefined
    }
    const pendingCount = () => queued + retryFrames.length

    // Runs in microtasks, interleaved with the scheduler's fibers, which also resume through
    // microtasks: a sender waiting for a macrotask (setImmediate, a timer) would wait until a busy
    // scheduler went idle (measured: nothing sent during a 100,000-job run). Sends in batches, one
    // microtask turn each, so it keeps pace with a scheduler publishing hundreds of events per turn.
    const drain = async (): Promise<void> => {
      while (pendingCount() > 0 && !closed) {
        readSubscriptions(false)
        if (lossySince > 0 && (connections <= 1 || Date.now() - lossySince >= lossyMs)) {
          lossySince = 0
          socket.noDrop = true
        }
        if (blocked) {
          // Probe: one message, kept while refused.
          if (retryFrames.length === 0) {
            retryFrames.push(ringTopics[head]!.frame)
            retryBodies.push(encodeBody(prefix, ringSeqs[head]!, ringTopicSeqs[head]!, ringEvents[head]!))
            shift()
          }
          try {
            await socket.send([retryFrames[0]!, retryBodies[0]!])
            published++
            blocked = false
            retryMs = firstRetryMs
          } catch (error) {
            if (closed) return
            if (isAgain(error)) return waitAndRetry()
            sendFailed++
          }
          retryFrames.shift()
          retryBodies.shift()
          continue
        }
        let last: Promise<void> | undefined
        for (let n = Math.min(pendingCount(), batchSize); n > 0; n--) {
          let frame: Buffer
          let body: string
          if (retryFrames.length > 0) {
            frame = retryFrames.shift()!
            body = retryBodies.shift()!
          } else {
            frame = ringTopics[head]!.frame
            body = encodeBody(prefix, ringSeqs[head]!, ringTopicSeqs[head]!, ringEvents[head]!)
            shift()
          }
          batchFrames.push(frame)
          batchBodies.push(body)
          try {
            last = socket.send([frame, body]).then(onSent, onRefused)
          } catch {
            // Thrown, not refused: the socket is closed.
            sendFailed++
            draining = false
            return
          }
        }
        // Settled in order: once the last one's handler ran, all of the batch's did.
        await last
        if (closed) return
        // Refused before the last one sent (a full subscriber drained mid-batch): lost, its numbers
        // leave a gap like any drop. Refused after it: kept, in order, for the next attempt.
        const lastSent = batchOk.lastIndexOf(true)
        for (let k = 0; k < lastSent; k++) if (!batchOk[k]) dropped++
        for (let k = batchOk.length - 1; k > lastSent; k--) {
          retryFrames.unshift(batchFrames[k]!)
          retryBodies.unshift(batchBodies[k]!)
        }
        const refusedAtEnd = lastSent < batchOk.length - 1
        batchFrames.length = 0
        batchBodies.length = 0
        batchOk.length = 0
        if (refusedAtEnd) return waitAndRetry()
      }
      draining = false
    }

    const send = (event: SchedulerEvent): void => {
      if (subscriptions.size === 0) {
        unmatched++
        return
      }
      const state = stateOf(event)
      if (!state.wanted) {
        unmatched++
        return
      }
      seq++
      state.seq++
      if (queued === capacity) {
        // The numbers are taken: the subscriber sees the gap.
        dropped++
        return
      }
      const i = (head + queued) % capacity
      ringEvents[i] = event
      ringTopics[i] = state
      ringSeqs[i] = seq
      ringTopicSeqs[i] = state.seq
      queued++
      if (!draining) {
        draining = true
        queueMicrotask(() => void drain())
      }
    }

    const endpoint = socket.lastEndpoint ?? options.endpoint
    yield* Effect.logInfo("event stream publishing").pipe(
      Effect.annotateLogs({
        endpoint,
        instance: options.instanceId,
        highWaterMark: options.highWaterMark,
        curve: options.curve === null ? "off" : allowed === null ? "any key" : `${allowed.length} allowed key(s)`
      })
    )
    return {
      endpoint,
      send,
      stats: () => ({
        published,
        dropped,
        queued: pendingCount() + uncounted(),
        waits,
        stalls,
        unmatched,
        sendFailed,
        refusedConnections,
        subscriptions: Array.from(subscriptions).sort()
      })
    }
  })
