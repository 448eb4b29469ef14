/**
 * The `zmq` EventBroker: the local broker for subscribers in this process,
 * plus a PUB socket publishing every event to other programs as
 * `[topic, JSON]` (docs/events.md), plus SUB connections to peer schedulers
 * on the same store whose changes wake this one's loops. Also provides
 * `ZmqBroker` (instance id, bound endpoint, counters).
 */
import * as os from "node:os"
import { Context, Effect, Layer, type Scope } from "effect"
import { EventBroker, type EventBrokerShape } from "../../services/EventBroker.js"
import * as LocalBroker from "./Local.js"
import { connectPeers } from "./zmq/Peers.js"
import { makePublisher } from "./zmq/Publisher.js"
import { ZmqBroker, type ZmqBrokerError, type ZmqBrokerOptions, type ZmqBrokerShape } from "./zmq/options.js"

export { isFromPeer } from "./zmq/origin.js"
export {
  type CurvePeerOptions,
  ZmqBroker,
  ZmqBrokerError,
  type ZmqBrokerOptions,
  type ZmqBrokerStats
} from "./zmq/options.js"
export { topicOf, peerTopics } from "./zmq/topics.js"

export const defaultMaxMessageBytes = 1024 * 1024

const defaultInstanceId = () => `${os.hostname()}-${process.pid}-${Math.random().toString(36).slice(2, 8)}`

export const make = (
  options: ZmqBrokerOptions
): Effect.Effect<EventBrokerShape & ZmqBrokerShape, ZmqBrokerError, Scope.Scope> =>
  Effect.gen(function*() {
    const instanceId = options.instanceId ?? defaultInstanceId()
    const highWaterMark = options.highWaterMark ?? 10_000
    const local = yield* LocalBroker.make()
    const publisher = options.publish === null
      ? null
      : yield* makePublisher({ endpoint: options.publish, instanceId, highWaterMark, curve: options.curve ?? null })
    const peers = (options.peers ?? []).length === 0 ? null : yield* connectPeers({
      peers: options.peers ?? [],
      instanceId,
      highWaterMark,
      maxMessageBytes: options.maxMessageBytes ?? defaultMaxMessageBytes,
      curve: options.peerCurve ?? null,
      deliver: local.publish
    })
    const publish: EventBrokerShape["publish"] = publisher === null
      ? local.publish
      : (event) =>
        Effect.suspend(() => {
          publisher.send(event)
          return local.publish(event)
        })
    const publishAll: EventBrokerShape["publishAll"] = publisher === null
      ? local.publishAll
      : (events) =>
        Effect.suspend(() => {
          for (const event of events) publisher.send(event)
          return local.publishAll(events)
        })
    return {
      publish,
      publishAll,
      subscribe: local.subscribe,
      // Listeners hear peers' events too: they are delivered through the local broker.
      ...(local.listen !== undefined && { listen: local.listen }),
      instanceId,
      endpoint: publisher?.endpoint ?? null,
      stats: Effect.sync(() => ({
        instanceId,
        publisher: publisher?.stats() ?? null,
        peers: peers?.stats() ?? null
      }))
    }
  })

export const layer = (options: ZmqBrokerOptions): Layer.Layer<EventBroker | ZmqBroker, ZmqBrokerError> =>
  Layer.scopedContext(
    Effect.map(make(options), (broker) =>
      Context.make(EventBroker, broker).pipe(
        Context.add(ZmqBroker, { instanceId: broker.instanceId, endpoint: broker.endpoint, stats: broker.stats })
      ))
  )

/** The broker options a deployment's `events` section asks for. */
export const optionsFromConfig = (
  section: { readonly publish: string | null; readonly peers: ReadonlyArray<string>; readonly highWaterMark: number },
  instanceId?: string
): ZmqBrokerOptions => ({
  publish: section.publish,
  peers: section.peers,
  highWaterMark: section.highWaterMark,
  ...(instanceId !== undefined && { instanceId })
})

/** The zmq broker for a deployment's `events` section (`instanceId`: the scheduler's id when configured). */
export const layerFromConfig = (
  section: { readonly publish: string | null; readonly peers: ReadonlyArray<string>; readonly highWaterMark: number },
  instanceId?: string
): Layer.Layer<EventBroker | ZmqBroker, ZmqBrokerError> => layer(optionsFromConfig(section, instanceId))
