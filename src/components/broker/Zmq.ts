/**
 * The `zmq` EventBroker: the local broker for subscribers in this process,
 * plus a PUB socket publishing every event to other programs as
 * `[topic, JSON]` (docs/events.md), plus SUB connections to peer schedulers
 * on the same store whose changes wake this one's loops. Also provides
 * `ZmqBroker` (instance id, bound endpoint, counters).
 */
import * as os from "node:os"
import * as path from "node:path"
import { Context, Effect, Layer, type Scope } from "effect"
import { keysDir, readKey } from "../registry/zmq/keys.js"
import { EventBroker, type EventBrokerShape } from "../../services/EventBroker.js"
import * as LocalBroker from "./Local.js"
import { connectPeers } from "./zmq/Peers.js"
import { makePublisher } from "./zmq/Publisher.js"
import { ZmqBroker, ZmqBrokerError, type ZmqBrokerOptions, type ZmqBrokerShape } from "./zmq/options.js"

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
      : yield* makePublisher({
        endpoint: options.publish,
        instanceId,
        highWaterMark,
        stallTimeoutMs: options.stallTimeoutMs ?? 2_000,
        curve: options.curve ?? null
      })
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

interface EventsSectionLike {
  readonly publish: string | null
  readonly peers: ReadonlyArray<string>
  readonly highWaterMark: number
  readonly stallTimeoutMs?: number
  readonly curve?: boolean
  readonly subscribers?: ReadonlyArray<string>
}

/** The broker options a deployment's `events` section asks for (without CURVE, which needs the key files). */
export const optionsFromConfig = (section: EventsSectionLike, instanceId?: string): ZmqBrokerOptions => ({
  publish: section.publish,
  peers: section.peers,
  highWaterMark: section.highWaterMark,
  ...(section.stallTimeoutMs !== undefined && { stallTimeoutMs: section.stallTimeoutMs }),
  ...(instanceId !== undefined && { instanceId })
})

const z85Key = /^[0-9a-zA-Z.\-:+=^!/*?&<>()[\]{}@%$#]{40}$/

/**
 * The options with CURVE when the section asks for it: the stream's secret key
 * is `keys/server.key`; peers connect with the server pair itself, so it is
 * always allowed; `subscribers` adds Z85 keys, or key names read from
 * `keys/<name>.pub` (absent: any key may subscribe).
 */
export const optionsFromDeployment = (
  section: EventsSectionLike,
  deploymentDir: string,
  instanceId?: string
): Effect.Effect<ZmqBrokerOptions, ZmqBrokerError> => {
  const base = optionsFromConfig(section, instanceId)
  if (section.curve !== true) return Effect.succeed(base)
  const dir = keysDir(deploymentDir)
  return Effect.gen(function*() {
    const server = { publicKey: yield* readKey(path.join(dir, "server.pub")), secretKey: yield* readKey(path.join(dir, "server.key")) }
    const subscribers = section.subscribers === undefined ? null : yield* Effect.forEach(
      section.subscribers,
      (entry) => (z85Key.test(entry) ? Effect.succeed(entry) : readKey(path.join(dir, `${entry}.pub`)))
    )
    return {
      ...base,
      curve: { secretKey: server.secretKey, allowedPublicKeys: subscribers === null ? null : [server.publicKey, ...subscribers] },
      peerCurve: { serverPublicKey: server.publicKey, ...server }
    }
  }).pipe(Effect.mapError((error) => new ZmqBrokerError({ reason: `events.curve: ${error.message}` })))
}

/** The zmq broker for a deployment's `events` section (`instanceId`: the scheduler's id when configured). */
export const layerFromConfig = (section: EventsSectionLike, instanceId?: string): Layer.Layer<EventBroker | ZmqBroker, ZmqBrokerError> =>
  layer(optionsFromConfig(section, instanceId))

/** As layerFromConfig, with CURVE keys read from the deployment's keys/ when `events.curve` is on. */
export const layerFromDeployment = (
  section: EventsSectionLike,
  deploymentDir: string,
  instanceId?: string
): Layer.Layer<EventBroker | ZmqBroker, ZmqBrokerError> =>
  Layer.unwrapEffect(Effect.map(optionsFromDeployment(section, deploymentDir, instanceId), layer))
