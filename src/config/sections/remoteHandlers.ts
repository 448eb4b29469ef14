/**
 * The `handlers.remote` section: the ZeroMQ endpoint remote handler processes
 * connect to (full mode), and which handler ids may register there. Keys left
 * out take the registry's defaults (src/components/registry/zmq/options.ts),
 * so there is one source of defaults.
 *
 * ```yaml
 * handlers:
 *   remote:
 *     enabled: true                    # default: on in full mode, off in the others
 *     endpoint: tcp://127.0.0.1:4242   # port 0 picks a free port (logged)
 *     heartbeat_interval: 1s
 *     missed_heartbeats: 3             # silent this many intervals = offline
 *     max_frame_bytes: 1048576
 *     allow_unauthenticated: false     # development only: ids not listed need no token
 *     curve: true                      # encrypt; keys in <deployment>/keys (`keys generate`)
 *     credentials:
 *       billing:
 *         token: sha256:<64 hex>       # the hash of the handler's token, never the token
 *         curve_public_key: <Z85>      # with curve on (default keys/billing.pub): admits the process,
 *                                      # and proving it in register stands in for the token
 * ```
 */
import { Schema } from "effect"
import { containing, expecting, Flag, optionalKey, PositiveDuration, PositiveInt } from "../fields.js"

export const defaultRemoteEndpoint = "tcp://127.0.0.1:4242"

const Endpoint = Schema.String.pipe(
  Schema.pattern(/^(tcp:\/\/[^\s/]+:\d{1,5}|ipc:\/\/\S+)$/),
  Schema.filter((endpoint) => !endpoint.startsWith("tcp://") || Number(endpoint.slice(endpoint.lastIndexOf(":") + 1)) <= 65_535),
  expecting("a ZeroMQ endpoint such as tcp://127.0.0.1:4242 (port 0 picks a free port) or ipc:///path")
)

const HandlerIdKey = Schema.String.pipe(
  Schema.pattern(/^[A-Za-z0-9._-]{1,200}$/),
  expecting("a handler id of letters, digits, '.', '_' or '-'")
)

const TokenHash = Schema.String.pipe(
  Schema.pattern(/^sha256:[0-9a-f]{64}$/),
  expecting("'sha256:' followed by the token's SHA-256 as 64 lowercase hex digits (the hash, never the token)")
)

const CurvePublicKey = Schema.String.pipe(
  Schema.pattern(/^[0-9a-zA-Z.\-:+=^!/*?&<>()[\]{}@%$#]{40}$/),
  expecting("a CURVE public key as 40 Z85 characters")
)

/**
 * What a handler id needs to register: its token, or, with curve on, proof of
 * holding its CURVE key (`curve_public_key`, else keys/<id>.pub), which also
 * admits the process to the channel. Either one ties a register to the id.
 */
export const HandlerCredential = Schema.Struct({
  token: optionalKey("token", TokenHash),
  curvePublicKey: optionalKey("curve_public_key", CurvePublicKey)
}).pipe(containing("a mapping with token and/or curve_public_key"))
export type HandlerCredential = typeof HandlerCredential.Type

export const RemoteHandlersSection = Schema.Struct({
  /** Left out: the mode decides (on in full, off elsewhere). */
  enabled: Schema.optionalWith(Flag, { exact: true }),
  endpoint: Schema.optionalWith(Endpoint, { exact: true, default: () => defaultRemoteEndpoint }),
  heartbeatInterval: optionalKey("heartbeat_interval", PositiveDuration),
  missedHeartbeats: optionalKey("missed_heartbeats", PositiveInt),
  maxFrameBytes: optionalKey("max_frame_bytes", PositiveInt),
  allowUnauthenticated: Schema.optionalWith(Flag, { exact: true, default: () => false }).pipe(
    Schema.fromKey("allow_unauthenticated")
  ),
  curve: Schema.optionalWith(Flag, { exact: true, default: () => false }),
  credentials: Schema.optionalWith(
    Schema.Record({ key: HandlerIdKey, value: HandlerCredential }).pipe(containing("a mapping of handler id to credential")),
    { exact: true, default: () => ({}) }
  )
}).pipe(containing("a mapping"))
export type RemoteHandlersSection = typeof RemoteHandlersSection.Type
