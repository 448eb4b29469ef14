/**
 * The publishing side: an XPUB socket (a PUB that also reports which topic
 * prefixes its subscribers want). Sending never waits: ZeroMQ queues up to
 * the high-water mark per subscriber and drops beyond it, so a slow or dead
 * subscriber costs the scheduler nothing. Events no subscriber wants are not
 * even encoded, so a stream nobody listens to is almost free.
 */
import * as crypto from "node:crypto"
import { Effect, Schedule, type Scope } from "effect"
import * as zmq from "zeromq"
import type { SchedulerEvent } from "../../../domain/events.js"
import { receiveLoop } from "../../../protocol/socketLoops.js"
import { encodeBody, headerPrefix } from "./envelope.js"
import { type PublisherStats, ZmqBrokerError } from "./options.js"
import { topicOf } from "./topics.js"

export interface Publisher {
  readonly endpoint: string
  /** Encodes and queues the event when a subscriber wants its topic; never blocks. */
  readonly send: (event: SchedulerEvent) => void
  readonly stats: () => PublisherStats
}

const errorText = (error: unknown) => (error instanceof Error ? error.message : String(error))

const bind = (endpoint: string, highWaterMark: number) =>
  Effect.tryPromise({
    try: async () => {
      // sendTimeout 0: zeromq.js otherwise parks a send (and refuses the next with EBUSY) after a
      // burst of a few hundred; with it every send is queued or dropped at once, as PUB intends.
      const socket = new zmq.XPublisher({ linger: 0, sendHighWaterMark: highWaterMark, sendTimeout: 0 })
      try {
        await socket.bind(endpoint)
      } catch (error) {
        socket.close()
        throw error
      }
      return socket
    },
    catch: (error) => new ZmqBrokerError({ reason: `cannot bind ${endpoint}: ${errorText(error)}` })
  })

/** Binds, retrying for a few seconds while the port is still held (a restart right after a stop). */
const open = (endpoint: string, highWaterMark: number) =>
  Effect.acquireRelease(
    bind(endpoint, highWaterMark).pipe(
      Effect.retry({ schedule: Schedule.spaced("100 millis"), times: 30, while: (error) => error.reason.includes("in use") })
    ),
    (socket) => Effect.sync(() => socket.close())
  )

export const makePublisher = (options: {
  readonly endpoint: string
  readonly instanceId: string
  readonly highWaterMark: number
}): Effect.Effect<Publisher, ZmqBrokerError, Scope.Scope> =>
  Effect.gen(function*() {
    const socket = yield* open(options.endpoint, options.highWaterMark)
    const prefix = headerPrefix(options.instanceId, crypto.randomBytes(6).toString("base64url"))
    const subscriptions = new Set<string>()
    // Per topic: does any subscription match it? Cleared whenever subscriptions change.
    const wanted = new Map<string, boolean>()
    // Per topic: its frame (made once) and the last topicSeq sent.
    const topics = new Map<string, { readonly frame: Buffer; seq: number }>()
    let seq = 0
    let unmatched = 0
    let sendFailed = 0

    const isWanted = (topic: string): boolean => {
      let match = wanted.get(topic)
      if (match === undefined) {
        match = false
        for (const subscribed of subscriptions) {
          if (topic.startsWith(subscribed)) {
            match = true
            break
          }
        }
        wanted.set(topic, match)
      }
      return match
    }

    // Subscription messages: byte 1 (subscribe) or 0 (unsubscribe), then the prefix.
    // Without the verbose option XPUB reports a prefix's first subscriber and its last unsubscribe.
    const onSubscription = (frames: Array<Buffer>) =>
      Effect.sync(() => {
        const frame = frames[0]
        if (frame === undefined || frame.length === 0) return
        const topic = frame.subarray(1).toString("utf8")
        if (frame[0] === 1) subscriptions.add(topic)
        else if (frame[0] === 0) subscriptions.delete(topic)
        wanted.clear()
      })
    yield* Effect.forkScoped(receiveLoop(socket, onSubscription))

    const failed = () => {
      sendFailed++
    }
    const send = (event: SchedulerEvent): void => {
      if (subscriptions.size === 0) {
        unmatched++
        return
      }
      const topic = topicOf(event)
      if (!isWanted(topic)) {
        unmatched++
        return
      }
      let counter = topics.get(topic)
      if (counter === undefined) {
        counter = { frame: Buffer.from(topic), seq: 0 }
        topics.set(topic, counter)
      }
      counter.seq++
      seq++
      try {
        // A PUB send resolves at once (it drops rather than waits), so sends never pile up.
        socket.send([counter.frame, encodeBody(prefix, seq, counter.seq, event)]).catch(failed)
      } catch {
        failed()
      }
    }

    const endpoint = socket.lastEndpoint ?? options.endpoint
    yield* Effect.logInfo("event stream publishing").pipe(
      Effect.annotateLogs({ endpoint, instance: options.instanceId, highWaterMark: options.highWaterMark })
    )
    return {
      endpoint,
      send,
      stats: () => ({ published: seq, unmatched, sendFailed, subscriptions: Array.from(subscriptions).sort() })
    }
  })
