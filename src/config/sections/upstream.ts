/**
 * The `upstream` section: the server an edge box (autonomous mode) syncs
 * with (src/components/edge/Upstream.ts). Left out, the edge connects to
 * nothing. Needs a sqlite store (the outbox lives in it).
 *
 * ```yaml
 * upstream:
 *   endpoint: tcp://server.example:4250   # the server's edges.endpoint
 *   edge_id: pump-station-7
 *   token: <the token whose sha256 the server lists>   # or SZ_UPSTREAM_TOKEN; optional with curve on
 *   heartbeat_interval: 5s
 *   reply_timeout: 10s       # a request unanswered this long = link lost
 *   backoff_initial: 500ms   # reconnect backoff, doubling up to backoff_max
 *   backoff_max: 30s
 *   batch_size: 500          # outbox rows per request
 *   curve: false             # encrypt; this edge's key pair is keys/<edge_id>.key|.pub (`keys generate`);
 *                            # the hello proves the key, which the server may accept instead of a token
 *   server_public_key: <Z85> # with curve on: the server's keys/server.pub (default: keys/server.pub here)
 *   outbox:
 *     max_rows: 1000000      # null = unbounded; beyond it the oldest rows are dropped (counted, logged)
 *     max_age: 30d           # null = unbounded
 * ```
 */
import { Schema } from "effect"
import { containing, expecting, Flag, NonEmptyText, NullablePositiveDuration, NullablePositiveInt, optionalKey, PositiveDuration, PositiveInt } from "../fields.js"

export const EdgeIdText = Schema.String.pipe(
  Schema.pattern(/^[A-Za-z0-9._-]{1,200}$/),
  expecting("an edge id of letters, digits, '.', '_' or '-'")
)

export const ZmqEndpoint = Schema.String.pipe(
  Schema.pattern(/^(tcp:\/\/[^\s/]+:\d{1,5}|ipc:\/\/\S+)$/),
  expecting("a ZeroMQ endpoint such as tcp://127.0.0.1:4250 or ipc:///path")
)

export const CurvePublicKey = Schema.String.pipe(
  Schema.pattern(/^[0-9a-zA-Z.\-:+=^!/*?&<>()[\]{}@%$#]{40}$/),
  expecting("a CURVE public key as 40 Z85 characters")
)

const UpstreamFields = Schema.Struct({
  endpoint: ZmqEndpoint,
  edgeId: EdgeIdText.pipe(Schema.propertySignature, Schema.fromKey("edge_id")),
  token: optionalKey("token", NonEmptyText),
  heartbeatInterval: optionalKey("heartbeat_interval", PositiveDuration),
  replyTimeout: optionalKey("reply_timeout", PositiveDuration),
  backoffInitial: optionalKey("backoff_initial", PositiveDuration),
  backoffMax: optionalKey("backoff_max", PositiveDuration),
  batchSize: optionalKey("batch_size", PositiveInt.pipe(Schema.lessThanOrEqualTo(5_000))),
  curve: Schema.optionalWith(Flag, { exact: true, default: () => false }),
  serverPublicKey: optionalKey("server_public_key", CurvePublicKey),
  outbox: Schema.optionalWith(
    Schema.Struct({
      maxRows: optionalKey("max_rows", NullablePositiveInt),
      maxAge: optionalKey("max_age", NullablePositiveDuration)
    }).pipe(containing("a mapping")),
    { exact: true }
  )
}).pipe(containing("a mapping with endpoint, edge_id and token"))

export const UpstreamSection = UpstreamFields.pipe(
  Schema.filter(
    (upstream) =>
      upstream.token !== undefined || upstream.curve || {
        path: ["token"],
        message: "missing: the edge needs a token, or curve: true so that proving its CURVE key stands in for it"
      }
  )
)
export type UpstreamSection = typeof UpstreamSection.Type
