/**
 * The `events` section: the ZeroMQ event stream (a PUB socket other programs
 * and peer schedulers subscribe to), the peers this scheduler listens to so
 * their changes wake it, and notification rules (Discord, webhooks). See
 * docs/events.md.
 *
 *   events:
 *     enabled: true                        # absent: on when publish or peers is set (any mode); false: off even then
 *     publish: tcp://0.0.0.0:4243          # null/absent = no stream; port 0 picks one (logged)
 *     peers: [tcp://10.0.0.2:4243]         # other schedulers on the same store
 *     high_water_mark: 10000               # messages queued per subscriber, and events waiting to be sent
 *     stall_timeout_ms: 2000               # a subscriber that far behind for this long stops holding the others up
 *     curve: true                          # encrypt with keys/server.key (default false)
 *     subscribers: [viewer]                # with curve: keys/<name>.pub or Z85 keys allowed (absent: any key)
 *     notifiers:
 *       - name: failures
 *         type: discord
 *         url: https://discord.com/api/webhooks/...
 *         topics: [job.released.error, job.released.missed_start_deadline]
 */
import { Schema } from "effect"
import { JobOutcome } from "../../domain/JobResult.js"
import { containing, expecting, Flag, ListOf, NonEmptyText, PositiveInt } from "../fields.js"

const optionalKey = <A, I, R, const K extends string>(yamlKey: K, schema: Schema.Schema<A, I, R>) =>
  Schema.optionalWith(schema, { exact: true }).pipe(Schema.fromKey(yamlKey))

/** A ZeroMQ endpoint: tcp://host:port (port 0 or * picks a free one when binding), ipc://path or inproc://name. */
export const ZmqEndpoint = Schema.String.pipe(
  Schema.pattern(/^(tcp:\/\/[^\s:/]+:(\d{1,5}|\*)|ipc:\/\/\S+|inproc:\/\/\S+)$/),
  expecting("a ZeroMQ endpoint such as tcp://127.0.0.1:4243 (or ipc://path)")
)

const HttpUrl = Schema.String.pipe(Schema.pattern(/^https?:\/\/\S+$/), expecting("an http:// or https:// URL"))

const Prefixes = ListOf(Schema.String.pipe(Schema.pattern(/^[a-z0-9_.]*$/), expecting("a topic prefix such as job.released.error")))

/** Which events a rule sends: every listed condition must hold; a list matches any of its entries. */
const ruleFields = {
  name: NonEmptyText,
  /** Topic prefixes (docs/events.md lists the topics). */
  topics: Prefixes,
  tasks: Schema.optionalWith(ListOf(NonEmptyText), { exact: true }),
  handlers: Schema.optionalWith(ListOf(NonEmptyText), { exact: true }),
  outcomes: Schema.optionalWith(ListOf(JobOutcome.pipe(expecting(`one of ${JobOutcome.literals.join(", ")}`))), {
    exact: true
  }),
  /** Also send failed attempts that will be retried (default false: only a job's final outcome). */
  includeRetries: optionalKey("include_retries", Flag),
  /** The message, with {placeholders} naming event fields ({taskId}, {error.message}, {topic}, ...). */
  template: Schema.optionalWith(NonEmptyText, { exact: true }),
  /** Delivery attempts per message before it is given up (default 5). */
  maxAttempts: optionalKey("max_attempts", PositiveInt),
  /** Messages waiting for delivery before new ones are dropped (default 1000). */
  queueSize: optionalKey("queue_size", PositiveInt)
}

export const DiscordNotifier = Schema.Struct({
  type: Schema.Literal("discord"),
  /** The channel's webhook URL (https://discord.com/api/webhooks/<id>/<token>). */
  url: HttpUrl,
  /** Shown as the message's author instead of the webhook's name. */
  username: Schema.optionalWith(NonEmptyText, { exact: true }),
  ...ruleFields
}).pipe(containing("a mapping"))
export type DiscordNotifier = typeof DiscordNotifier.Type

export const WebhookNotifier = Schema.Struct({
  type: Schema.Literal("webhook"),
  url: HttpUrl,
  /** Key of the X-ScheduleZero-Signature HMAC-SHA256 over the body. */
  secret: NonEmptyText,
  ...ruleFields
}).pipe(containing("a mapping"))
export type WebhookNotifier = typeof WebhookNotifier.Type

export const NotifierEntry = Schema.Union(DiscordNotifier, WebhookNotifier).pipe(
  containing("a mapping with type discord or webhook")
)
export type NotifierEntry = typeof NotifierEntry.Type

export const defaultHighWaterMark = 10_000

const EventsFields = Schema.Struct({
  /**
   * The ZeroMQ stream (publishing and listening to peers) as a component that
   * can be switched off, e.g. by SZ_EVENTS_ENABLED=false in a container,
   * without removing its endpoints. Absent: it runs when `publish` or `peers`
   * says where, in every mode. Notifiers do not depend on it.
   */
  enabled: Schema.optionalWith(Flag, { exact: true }),
  /** Where the PUB socket binds; absent or null = no stream. */
  publish: Schema.optionalWith(Schema.NullOr(ZmqEndpoint), { exact: true, default: () => null }),
  peers: Schema.optionalWith(ListOf(ZmqEndpoint), { exact: true, default: () => [] }),
  highWaterMark: Schema.optionalWith(PositiveInt, { exact: true, default: () => defaultHighWaterMark }).pipe(
    Schema.fromKey("high_water_mark")
  ),
  /** Milliseconds a subscriber at its high-water mark may hold the stream up before it alone loses messages (default 2000). */
  stallTimeoutMs: optionalKey("stall_timeout_ms", PositiveInt),
  /**
   * CURVE-encrypt the stream with the deployment's keys/server.key (the registry's pair); peers connect with
   * that pair too, so schedulers of one deployment follow each other. Default false: plain TCP.
   */
  curve: Schema.optionalWith(Flag, { exact: true, default: () => false }),
  /**
   * With `curve`: who may subscribe besides peers — key names in keys/ (`<name>.pub`) or Z85 public keys.
   * Absent: any key (the stream is still encrypted).
   */
  subscribers: Schema.optionalWith(ListOf(NonEmptyText), { exact: true }),
  notifiers: Schema.optionalWith(ListOf(NotifierEntry), { exact: true, default: () => [] })
}).pipe(containing("a mapping"))

export const EventsSection = EventsFields.pipe(
  Schema.filter(
    (events) =>
      events.enabled !== true ||
      events.publish !== null ||
      events.peers.length > 0 || {
        path: ["enabled"],
        message: "the event stream is switched on but has nowhere to publish or listen: set publish or peers"
      }
  ),
  Schema.filter(
    (events) =>
      events.subscribers === undefined || events.curve || {
        path: ["subscribers"],
        message: "subscribers is an allow-list of CURVE keys: it needs curve: true"
      }
  )
)

/** The section when config.yaml has none: no stream, no peers, no notifiers. */
export const noEvents: EventsSection = EventsFields.make({})

/** Whether the ZeroMQ event stream runs (else the local or PostgreSQL broker does). */
export const streamRuns = (events: EventsSection): boolean =>
  events.enabled !== false && (events.publish !== null || events.peers.length > 0)
export type EventsSection = typeof EventsSection.Type
