/** Options, errors and the inspection interface of the zmq EventBroker. */
import { Context, type Effect, Schema } from "effect"
import type { CurveServerOptions } from "../../registry/zmq/options.js"
import type { DropReason } from "./envelope.js"

/** How this scheduler connects to CURVE-protected peers: their server public key and its own client key pair (Z85). */
export interface CurvePeerOptions {
  readonly serverPublicKey: string
  readonly publicKey: string
  readonly secretKey: string
}

export interface ZmqBrokerOptions {
  /** Names this process in every message (default `<hostname>-<pid>-<random>`; full mode passes the scheduler id). */
  readonly instanceId?: string
  /** Where the PUB socket binds (port 0 picks a free one); null = publish nothing, peers only. */
  readonly publish: string | null
  /** PUB endpoints of the other schedulers on the same store. */
  readonly peers?: ReadonlyArray<string>
  /**
   * Publishing: messages queued per subscriber by ZeroMQ, and events waiting to be sent, before newer events are
   * dropped; receiving: messages queued from peers (default 10,000).
   */
  readonly highWaterMark?: number
  /**
   * How long a subscriber at its high-water mark may hold the stream up (default 2,000 ms). Past it, with others
   * connected, the publisher stops waiting: ZeroMQ then drops what that subscriber has no room for, for it alone,
   * so the others (peer schedulers among them) keep receiving; waiting is tried again a minute later, or once the
   * stalled one is alone. A lone subscriber is waited for however long it stalls.
   */
  readonly stallTimeoutMs?: number
  /**
   * CURVE-encrypt the stream with this server secret key (Z85); with `allowedPublicKeys`, only subscribers
   * with those keys connect (others are refused in the handshake, counted and logged). Absent or null: plain TCP.
   */
  readonly curve?: CurveServerOptions | null
  /** CURVE keys for connecting to peers whose streams are CURVE-protected (all peers share one server key). */
  readonly peerCurve?: CurvePeerOptions | null
  /** Largest message accepted from a peer (default 1 MiB); a larger one closes that connection. */
  readonly maxMessageBytes?: number
}

/** The broker could not start (the publish endpoint cannot be bound, a peer endpoint is malformed). */
export class ZmqBrokerError extends Schema.TaggedError<ZmqBrokerError>()("ZmqBrokerError", {
  reason: Schema.String
}) {
  override get message() {
    return `zmq event broker: ${this.reason}`
  }
}

export interface PublisherStats {
  /** Messages put on the PUB socket. */
  readonly published: number
  /** Events dropped, unencoded, because the queue was full (a subscriber a high-water mark behind): each leaves a gap in seq. */
  readonly dropped: number
  /** Events numbered and waiting to be encoded and sent. */
  readonly queued: number
  /** Times a send found a subscriber at its high-water mark and the sender waited. */
  readonly waits: number
  /** Events no subscriber's prefix matched (or nobody connected): not queued, not encoded, no seq taken. */
  readonly unmatched: number
  /** Times a subscriber held the stream up past the stall timeout and the publisher stopped waiting for it. */
  readonly stalls: number
  /** Sends the socket refused (closed, or an unexpected error). */
  readonly sendFailed: number
  /** Subscriber connections refused by the CURVE allow-list. */
  readonly refusedConnections: number
  /** Distinct topic prefixes subscribed right now (across all subscribers). */
  readonly subscriptions: ReadonlyArray<string>
}

export interface PeerStats {
  /** Messages from peers fed to this process's subscribers. */
  readonly received: number
  /** Messages lost on the way from peers, from gaps in their counters (a PUB drops silently at the high-water mark). */
  readonly missed: number
  /** Peer restarts seen (a new run of a known instance). */
  readonly restarts: number
  /** Messages that carried this instance's own id (its endpoint listed among its peers): ignored. */
  readonly ownIgnored: number
  /** Malformed messages dropped, by reason. */
  readonly dropped: Readonly<Record<DropReason, number>>
}

export interface ZmqBrokerStats {
  readonly instanceId: string
  readonly publisher: PublisherStats | null
  readonly peers: PeerStats | null
}

export interface ZmqBrokerShape {
  readonly instanceId: string
  /** The endpoint actually bound (with the port chosen when 0 was asked for); null when not publishing. */
  readonly endpoint: string | null
  readonly stats: Effect.Effect<ZmqBrokerStats>
}

export class ZmqBroker extends Context.Tag("schedulezero/ZmqBroker")<ZmqBroker, ZmqBrokerShape>() {}
