/** Component options from the `upstream` and `edges` config sections, with the defaults for keys left out. */
import { Duration } from "effect"
import type { EdgesSection } from "../../config/sections/edges.js"
import type { UpstreamSection } from "../../config/sections/upstream.js"
import type { HubOptions } from "./Hub.js"
import type { UpstreamOptions } from "./Upstream.js"

export const defaults = {
  heartbeatIntervalMs: 5_000,
  missedHeartbeats: 3,
  replyTimeoutMs: 10_000,
  backoffInitialMs: 500,
  backoffMaxMs: 30_000,
  batchSize: 500,
  pollIntervalMs: 250,
  trimIntervalMs: 5_000,
  outboxMaxRows: 1_000_000,
  outboxMaxAgeMs: 30 * 24 * 60 * 60 * 1000
} as const

const millis = (duration: Duration.Duration | undefined, fallback: number) =>
  duration === undefined ? fallback : Duration.toMillis(duration)

const millisOrNull = (duration: Duration.Duration | null | undefined, fallback: number) =>
  duration === null ? null : millis(duration, fallback)

export const upstreamOptionsOf = (section: UpstreamSection): UpstreamOptions => ({
  endpoint: section.endpoint,
  edgeId: section.edgeId,
  token: section.token ?? null,
  heartbeatIntervalMs: millis(section.heartbeatInterval, defaults.heartbeatIntervalMs),
  replyTimeoutMs: millis(section.replyTimeout, defaults.replyTimeoutMs),
  backoffInitialMs: millis(section.backoffInitial, defaults.backoffInitialMs),
  backoffMaxMs: millis(section.backoffMax, defaults.backoffMaxMs),
  batchSize: section.batchSize ?? defaults.batchSize,
  pollIntervalMs: defaults.pollIntervalMs,
  trimIntervalMs: defaults.trimIntervalMs,
  outbox: {
    maxRows: section.outbox?.maxRows === undefined ? defaults.outboxMaxRows : section.outbox.maxRows,
    maxAgeMs: millisOrNull(section.outbox?.maxAge, defaults.outboxMaxAgeMs)
  }
})

export const hubOptionsOf = (section: EdgesSection): HubOptions => ({
  endpoint: section.endpoint,
  // edges without a token register by proving their CURVE key (curveKeys.ts binds it)
  credentials: Object.fromEntries(
    Object.entries(section.credentials).flatMap(([edgeId, { token }]) => (token === undefined ? [] : [[edgeId, token]]))
  ),
  heartbeatIntervalMs: millis(section.heartbeatInterval, defaults.heartbeatIntervalMs),
  missedHeartbeats: section.missedHeartbeats ?? defaults.missedHeartbeats
})

/** Whether the hub runs: `edges.enabled`, or when left out, whether any edge is listed. */
export const hubEnabled = (section: EdgesSection): boolean =>
  section.enabled ?? Object.keys(section.credentials).length > 0
