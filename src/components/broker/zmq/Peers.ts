/**
 * The receiving side: one SUB socket connected to every peer scheduler's PUB
 * endpoint, subscribed to the topics that wake a scheduler. Each message is
 * checked (frames, JSON, envelope, topic); a bad one is dropped, counted and
 * logged with the reason. A good one is marked as coming from a peer and
 * handed to `deliver` (the local broker's subscribers) — never published
 * again, so two schedulers listening to each other cannot loop. ZeroMQ
 * reconnects by itself when a peer restarts or comes up late.
 */
import { Effect, type Scope } from "effect"
import * as zmq from "zeromq"
import type { SchedulerEvent } from "../../../domain/events.js"
import { receiveLoop } from "../../../protocol/socketLoops.js"
import { decodeMessage, type DropReason } from "./envelope.js"
import { isLogWorthy } from "./logSampling.js"
import { type CurvePeerOptions, type PeerStats, ZmqBrokerError } from "./options.js"
import { markFromPeer } from "./origin.js"
import { makeSequenceTracker } from "./sequence.js"
import { peerTopics } from "./topics.js"

export interface Peers {
  readonly stats: () => PeerStats
}


export const connectPeers = (options: {
  readonly peers: ReadonlyArray<string>
  readonly instanceId: string
  readonly highWaterMark: number
  readonly maxMessageBytes: number
  readonly curve: CurvePeerOptions | null
  readonly deliver: (event: SchedulerEvent) => Effect.Effect<void>
}): Effect.Effect<Peers, ZmqBrokerError, Scope.Scope> =>
  Effect.gen(function*() {
    const socket = yield* Effect.acquireRelease(
      Effect.try({
        try: () => {
          const sub = new zmq.Subscriber({
            linger: 0,
            receiveHighWaterMark: options.highWaterMark,
            maxMessageSize: options.maxMessageBytes,
            reconnectInterval: 100,
            reconnectMaxInterval: 5000,
            ...(options.curve !== null && {
              curveServerKey: options.curve.serverPublicKey,
              curvePublicKey: options.curve.publicKey,
              curveSecretKey: options.curve.secretKey
            })
          })
          sub.subscribe(...peerTopics)
          // connect() only records the endpoint: peers may start in any order.
          for (const peer of options.peers) {
            try {
              sub.connect(peer)
            } catch (error) {
              sub.close()
              throw new Error(`cannot connect to peer ${peer}: ${error instanceof Error ? error.message : String(error)}`)
            }
          }
          return sub
        },
        catch: (error) => new ZmqBrokerError({ reason: error instanceof Error ? error.message : String(error) })
      }),
      (sub) => Effect.sync(() => sub.close())
    )
    const tracker = makeSequenceTracker(true)
    const dropped: Record<DropReason, number> = { frame_count: 0, not_json: 0, invalid_envelope: 0, topic_mismatch: 0 }
    let received = 0
    let missed = 0
    let restarts = 0
    let ownIgnored = 0

    const onMessage = (frames: Array<Buffer>): Effect.Effect<void> => {
      const decoded = decodeMessage(frames)
      if (decoded._tag === "Left") {
        const count = ++dropped[decoded.left.reason]
        return isLogWorthy(count)
          ? Effect.logWarning("dropped a malformed message from a peer's event stream").pipe(
            Effect.annotateLogs({ reason: decoded.left.reason, detail: decoded.left.detail.slice(0, 500), count })
          )
          : Effect.void
      }
      const { envelope, topic } = decoded.right
      if (envelope.instance === options.instanceId) {
        ownIgnored++
        return Effect.void
      }
      const seen = tracker.observe(topic, envelope)
      received++
      if (seen.restarted) restarts++
      markFromPeer(envelope.event)
      if (seen.missed === 0) return options.deliver(envelope.event)
      missed += seen.missed
      return Effect.zipRight(
        Effect.logWarning("missed messages from a peer's event stream").pipe(
          Effect.annotateLogs({ peer: envelope.instance, topic, missed: seen.missed })
        ),
        options.deliver(envelope.event)
      )
    }
    yield* Effect.forkScoped(receiveLoop(socket, onMessage))
    yield* Effect.logInfo("listening to peer event streams").pipe(
      Effect.annotateLogs({ peers: options.peers, topics: peerTopics })
    )
    return {
      stats: () => ({ received, missed, restarts, ownIgnored, dropped: { ...dropped } })
    }
  })
