/** Options, errors and the inspection interface of the zmq HandlerRegistry. */
import { Context, Duration, type Effect, Schema } from "effect"
import type { DropReason } from "../../../protocol/framing.js"
import { defaultMaxFrameBytes } from "../../../protocol/framing.js"

export const defaultEndpoint = "tcp://127.0.0.1:4242"

export interface ZmqRegistryOptions {
  /** Where the ROUTER socket binds (default tcp://127.0.0.1:4242; port 0 picks a free port). */
  readonly endpoint?: string
  /** Heartbeat period, both ways (default 1 s). */
  readonly heartbeatInterval?: Duration.DurationInput
  /** An instance silent this many intervals is offline (default 3). */
  readonly missedHeartbeats?: number
  /** Largest message frame accepted (default 1 MiB). */
  readonly maxFrameBytes?: number
  /** Handler id → `sha256:<hex>` of its token. Only these ids may register, each with its token. */
  readonly credentials?: Readonly<Record<string, string>>
  /**
   * Handler id → the CURVE public key (Z85) whose holder may register it, proving the key
   * in its register (keyProof) instead of a token. Needs `curve`.
   */
  readonly curveKeys?: Readonly<Record<string, string>>
  /** Lets handler ids missing from `credentials` and `curveKeys` register without a credential (development only). */
  readonly allowUnauthenticated?: boolean
  /** CURVE-encrypt the channel with this server secret key (Z85); null = plain TCP. */
  readonly curve?: CurveServerOptions | null
}

export interface CurveServerOptions {
  /** The server's secret key (Z85). */
  readonly secretKey: string
  /**
   * Client public keys (Z85) allowed to connect; a connection with any other
   * key is refused during the handshake and logged. Absent or null: any key.
   */
  readonly allowedPublicKeys?: ReadonlyArray<string> | null
}

export interface ResolvedZmqOptions {
  readonly endpoint: string
  readonly heartbeatInterval: Duration.Duration
  readonly missedHeartbeats: number
  readonly maxFrameBytes: number
  readonly credentials: Readonly<Record<string, string>>
  readonly curveKeys: Readonly<Record<string, string>>
  readonly allowUnauthenticated: boolean
  readonly curve: CurveServerOptions | null
}

export const resolveOptions = (options: ZmqRegistryOptions): ResolvedZmqOptions => ({
  endpoint: options.endpoint ?? defaultEndpoint,
  heartbeatInterval: Duration.decode(options.heartbeatInterval ?? "1 second"),
  missedHeartbeats: options.missedHeartbeats ?? 3,
  maxFrameBytes: options.maxFrameBytes ?? defaultMaxFrameBytes,
  credentials: options.credentials ?? {},
  curveKeys: options.curveKeys ?? {},
  allowUnauthenticated: options.allowUnauthenticated ?? false,
  curve: options.curve ?? null
})

/** The registry could not start (bad credential config, endpoint not bindable). */
export class ZmqRegistryError extends Schema.TaggedError<ZmqRegistryError>()("ZmqRegistryError", {
  reason: Schema.String
}) {
  override get message() {
    return `zmq handler registry: ${this.reason}`
  }
}

export interface ZmqRegistryStats {
  /**
   * Frames dropped, by reason ("unexpected" = valid but out of place, e.g. a result for no run;
   * "protocol" = a connection closed for breaking ZMTP: garbage, a frame set past the caps, a
   * message or command out of place, no handshake in time; plain tcp:// endpoints only).
   */
  readonly dropped: Readonly<Record<DropReason | "unexpected" | "protocol", number>>
  readonly droppedTotal: number
  /** Registers rejected (bad credential, unknown handler, wrong version, invalid). */
  readonly rejected: number
  /** Connections refused by the CURVE allow-list. */
  readonly refusedConnections: number
}

export interface ZmqRegistryShape {
  /** The endpoint actually bound (with the port chosen when 0 was asked for). */
  readonly endpoint: string
  readonly stats: Effect.Effect<ZmqRegistryStats>
}

export class ZmqRegistry extends Context.Tag("schedulezero/ZmqRegistry")<ZmqRegistry, ZmqRegistryShape>() {}
