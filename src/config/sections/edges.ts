/**
 * The `edges` section: the edge hub edge boxes sync with (full mode;
 * src/components/edge/Hub.ts). It runs when `enabled` is true, or when
 * `enabled` is left out and credentials are listed. Needs a sqlite store.
 *
 * ```yaml
 * edges:
 *   endpoint: tcp://0.0.0.0:4250   # port 0 picks a free port (run/ports.json: edge_hub)
 *   heartbeat_interval: 5s         # as the edges send them
 *   missed_heartbeats: 3           # silent this many intervals = offline
 *   curve: false                   # encrypt; the hub's key pair is keys/server.key|.pub (`keys generate`)
 *   credentials:
 *     pump-station-7:
 *       token: sha256:<64 hex>     # the hash of the edge's token, never the token
 *       curve_public_key: <Z85>    # with curve on: this edge's public key (default keys/<edge id>.pub);
 *                                  # proving it in the hello stands in for the token (then optional)
 * ```
 */
import { Schema } from "effect"
import { containing, expecting, Flag, optionalKey, PositiveDuration, PositiveInt } from "../fields.js"
import { CurvePublicKey, EdgeIdText, ZmqEndpoint } from "./upstream.js"

export const defaultEdgesEndpoint = "tcp://127.0.0.1:4250"

const TokenHash = Schema.String.pipe(
  Schema.pattern(/^sha256:[0-9a-f]{64}$/),
  expecting("'sha256:' followed by the token's SHA-256 as 64 lowercase hex digits (the hash, never the token)")
)

const EdgesFields = Schema.Struct({
  enabled: Schema.optionalWith(Flag, { exact: true }),
  endpoint: Schema.optionalWith(ZmqEndpoint, { exact: true, default: () => defaultEdgesEndpoint }),
  heartbeatInterval: optionalKey("heartbeat_interval", PositiveDuration),
  missedHeartbeats: optionalKey("missed_heartbeats", PositiveInt),
  curve: Schema.optionalWith(Flag, { exact: true, default: () => false }),
  credentials: Schema.optionalWith(
    Schema.Record({
      key: EdgeIdText,
      value: Schema.Struct({
        token: optionalKey("token", TokenHash),
        curvePublicKey: optionalKey("curve_public_key", CurvePublicKey)
      }).pipe(containing("a mapping with token and/or curve_public_key"))
    }).pipe(containing("a mapping of edge id to credential")),
    { exact: true, default: () => ({}) }
  )
}).pipe(containing("a mapping"))

/** Each edge needs a credential: its token, or with curve on its bound key (which has a default). */
export const EdgesSection = EdgesFields.pipe(
  Schema.filter((edges) => {
    if (edges.curve) return true
    const tokenless = Object.keys(edges.credentials).find((edgeId) => edges.credentials[edgeId]!.token === undefined)
    return tokenless === undefined || {
      path: ["credentials", tokenless, "token"],
      message: "missing: an edge needs a token, or curve: true so that its CURVE key stands in for it"
    }
  })
)
export type EdgesSection = typeof EdgesSection.Type

/** The section when config.yaml has none: no credentials, so no hub unless enabled. */
export const noEdges: EdgesSection = EdgesFields.make({})
