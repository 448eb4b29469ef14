/**
 * The `postgres` EventBroker: LISTEN/NOTIFY on the deployment's database, so
 * schedulers sharing it wake each other (and portals see every scheduler's
 * events) with no polling and nothing else to run.
 *
 * Subscribers in this process get events at once, through the local broker;
 * other processes get them by NOTIFY. A background fiber sends what was
 * published meanwhile (and within sendLingerMs of its first event; within
 * heldBackMs when no other process acts on any of them at once, see
 * urgency.ts) as JSON batches `{"o": origin, "e": [events]}`, each within
 * NOTIFY's 8000-byte payload limit, all in one statement. An event too
 * large for one payload is stored in `broker_events` and announced by id
 * (`{"o": origin, "r": [ids]}`); listeners fetch it. Stored events older than
 * five minutes are deleted as new ones are stored.
 *
 * One dedicated connection LISTENs; when it breaks (a server restart) it is
 * opened again with backoff. Notifications sent while it was down are not
 * replayed: events are notifications, the store stays the source of truth.
 */
import { SqlClient } from "@effect/sql"
import { Chunk, Clock, Deferred, Effect, FiberId, Layer, Option, Queue, Schedule, type Scope } from "effect"
import pg from "pg"
import type { SchedulerEvent } from "../../domain/events.js"
import { resolveOptions, type PostgresOptions } from "../datastore/Postgres.js"
import {
  connectionSettings,
  locationOf,
  openClient,
  type PostgresStoreConfig,
  preparedMarker
} from "../datastore/postgres/Client.js"
import type { PostgresRefused } from "../datastore/postgres/errors.js"
import { applyMigrations } from "../datastore/postgres/migrator.js"
import { EventBroker, type EventBrokerShape } from "../../services/EventBroker.js"
import { decodeEvent } from "./fastDecode.js"
import * as LocalBroker from "./Local.js"
import { actedOnAtOnce, heldBackMs } from "./urgency.js"
import { encodeEvent } from "./zmq/encode.js"

/** NOTIFY's payload limit is 8000 bytes; the envelope and a margin stay below it. */
export const maxPayloadBytes = 7900

/** The channel of a schema's events: schedulers on the same tables hear each other, other schemas do not. */
export const channelOf = (schema: string): string => `schedulezero_${schema}`

/** The events of a notification; undefined when one of them does not decode. */
const decodeEvents = (raw: ReadonlyArray<unknown>): Array<SchedulerEvent> | undefined => {
  const events: Array<SchedulerEvent> = []
  for (const item of raw) {
    const decoded = decodeEvent(item)
    if (Option.isNone(decoded)) return undefined
    events.push(decoded.value)
  }
  return events
}

interface Envelope {
  /** The publishing broker (its own notifications come back to it and are skipped). */
  readonly o: string
  readonly e?: ReadonlyArray<unknown>
  readonly r?: ReadonlyArray<number>
}

const byteLength = (text: string) => Buffer.byteLength(text, "utf8")

/** What one notification carries: a batch of events, or an event too large for a payload (stored, sent by id). */
export type Part = { readonly _tag: "Batch"; readonly payload: string } | { readonly _tag: "Oversized"; readonly event: string }

/** Packs encoded events, in order, into envelopes within the payload limit; each event too large on its own is a part of its own. */
export const pack = (origin: string, events: ReadonlyArray<string>): ReadonlyArray<Part> => {
  const head = `{"o":${JSON.stringify(origin)},"e":[`
  const tail = "]}"
  const empty = byteLength(head) + byteLength(tail)
  const parts: Array<Part> = []
  let current: Array<string> = []
  let size = empty
  const flush = () => {
    if (current.length > 0) parts.push({ _tag: "Batch", payload: head + current.join(",") + tail })
    current = []
    size = empty
  }
  for (const event of events) {
    const bytes = byteLength(event)
    if (empty + bytes > maxPayloadBytes) {
      flush()
      parts.push({ _tag: "Oversized", event })
      continue
    }
    const separator = current.length > 0 ? 1 : 0
    if (size + separator + bytes > maxPayloadBytes) flush()
    size += (current.length > 0 ? 1 : 0) + bytes
    current.push(event)
  }
  flush()
  return parts
}

/** How long the sender waits after an event for others to send with it (see the sending fiber). */
export const sendLingerMs = 2

/** Events sent in one statement at most. */
const maxSendBatch = 1000

const reconnectBackoff = Schedule.exponential("100 millis").pipe(Schedule.union(Schedule.spaced("2 seconds")))

export const make = (
  config: PostgresStoreConfig
): Effect.Effect<EventBrokerShape, PostgresRefused, Scope.Scope> =>
  Effect.gen(function* () {
    const channel = channelOf(config.schema)
    const origin = crypto.randomUUID()
    const local = yield* LocalBroker.make()
    const sql = yield* openClient(config, { applicationName: "schedulezero-broker", maxConnections: 2 })
    // broker_events is part of the schema: the same migrations the store applies (a no-op when it is current).
    yield* applyMigrations(locationOf(config)).pipe(Effect.provideService(SqlClient.SqlClient, sql))

    // --- sending

    const outgoing = yield* Queue.sliding<SchedulerEvent>(LocalBroker.defaultCapacity)
    // Open once something was published that another process acts on at once (see urgency.ts).
    const urgent = yield* Effect.makeLatch(false)
    const offer = (events: ReadonlyArray<SchedulerEvent>) =>
      Effect.flatMap(Clock.currentTimeMillis, (nowMs) => {
        if (actedOnAtOnce(events, nowMs)) urgent.unsafeOpen()
        return Queue.offerAll(outgoing, events)
      })

    const send = (events: ReadonlyArray<SchedulerEvent>) =>
      Effect.gen(function* () {
        const parts = pack(origin, events.map(encodeEvent))
        const oversized = parts.flatMap((part) => (part._tag === "Oversized" ? [part.event] : []))
        const ids: Array<number> = []
        if (oversized.length > 0) {
          const stored = yield* sql<{ id: number }>`
            INSERT INTO broker_events (payload)
            SELECT payload FROM unnest(${oversized}::text[]) WITH ORDINALITY AS p(payload, n) ORDER BY n
            RETURNING id`
          ids.push(...stored.map((row) => row.id).sort((x, y) => x - y))
          yield* sql`DELETE FROM broker_events WHERE created_at < now() - interval '5 minutes'`
        }
        let next = 0
        const all = parts.map((part) =>
          part._tag === "Batch" ? part.payload : JSON.stringify({ o: origin, r: [ids[next++]!] } satisfies Envelope)
        )
        yield* sql`${sql.literal(preparedMarker)}SELECT pg_notify(${channel}, payload) FROM unnest(${all}::text[]) WITH ORDINALITY AS p(payload, n) ORDER BY n`
      }).pipe(
        Effect.catchAllCause((cause) =>
          Effect.logWarning(`postgres broker: ${events.length} event(s) not sent to other processes`, cause)
        )
      )

    // What is published within sendLingerMs of the first event goes in the same statement: a
    // scheduler's store writes of one round (a schedule release, then its jobs' settling a
    // moment later) publish separately, and each statement is also a notification every
    // other process receives and decodes. Events that only inform wait up to heldBackMs, until
    // one that others act on at once comes (the latch: closed just before a round takes the
    // rest of what it sends, so an urgent event published after that opens it for the next).
    let waiting: ReadonlyArray<SchedulerEvent> = []
    // Added before the sending fiber is forked, so it runs after that fiber stopped (and before
    // the connections close): what the round was holding back and what is still queued go out.
    yield* Effect.addFinalizer(() =>
      Effect.flatMap(Queue.takeAll(outgoing), (queued) => {
        const left = [...waiting, ...Chunk.toReadonlyArray(queued)]
        waiting = []
        return left.length === 0 ? Effect.void : send(left)
      })
    )
    yield* Effect.forkScoped(
      Effect.forever(
        Effect.flatMap(Queue.takeBetween(outgoing, 1, maxSendBatch), (first) => {
          waiting = Chunk.toReadonlyArray(first)
          return Effect.flatMap(
            Effect.raceFirst(urgent.await, Effect.sleep(heldBackMs)).pipe(
              Effect.zipRight(Effect.sleep(sendLingerMs)),
              Effect.zipRight(urgent.close),
              Effect.zipRight(Queue.takeUpTo(outgoing, maxSendBatch - waiting.length))
            ),
            (rest) => {
              const events = [...waiting, ...Chunk.toReadonlyArray(rest)]
              waiting = []
              return send(events)
            }
          )
        })
      )
    )

    // --- receiving

    const incoming = yield* Queue.unbounded<string>()
    /** How this broker's envelopes start (pack and the oversized ones put the origin first). */
    const ownEnvelope = `{"o":${JSON.stringify(origin)},`

    const fetchStored = (ids: ReadonlyArray<number>) =>
      Effect.map(
        sql<{ payload: string }>`SELECT payload FROM broker_events WHERE id = ANY(${ids}) ORDER BY id`,
        (rows) => rows.map((row) => JSON.parse(row.payload) as unknown)
      )

    const receive = (payload: string) =>
      Effect.gen(function* () {
        const envelope = JSON.parse(payload) as Envelope
        const raw = envelope.r === undefined ? (envelope.e ?? []) : yield* fetchStored(envelope.r)
        const decoded = decodeEvents(raw)
        if (decoded === undefined) return yield* Effect.logWarning(`postgres broker: undecodable notification skipped`)
        yield* local.publishAll(decoded)
      }).pipe(
        Effect.catchAllCause((cause) => Effect.logWarning("postgres broker: notification dropped", cause))
      )

    yield* Effect.forkScoped(
      Effect.forever(
        Effect.flatMap(Queue.takeBetween(incoming, 1, 1000), (chunk) => Effect.forEach(chunk, receive, { discard: true }))
      )
    )

    /** Opens the LISTEN connection; the returned Deferred completes when it breaks. */
    const listen = Effect.acquireRelease(
      Effect.tryPromise({
        try: async () => {
        const client = new pg.Client(connectionSettings(config, "schedulezero-broker-listen"))
        const lost = Deferred.unsafeMake<void>(FiberId.none)
        const onLost = () => Deferred.unsafeDone(lost, Effect.void)
        client.on("error", onLost)
        client.on("end", onLost)
        client.on("notification", (message) => {
          // Our own come back too: known by the envelope's start, without parsing them.
          if (message.channel !== channel || message.payload === undefined || message.payload.startsWith(ownEnvelope)) return
          Queue.unsafeOffer(incoming, message.payload)
        })
        await client.connect()
        await client.query(`LISTEN ${pg.escapeIdentifier(channel)}`)
        return { client, lost }
        },
        catch: (cause) => (cause instanceof Error ? cause.message : String(cause))
      }),
      ({ client }) => Effect.promise(() => client.end().catch(() => undefined)).pipe(Effect.timeoutOption("2 seconds"))
    )

    const listenedOnce = yield* Deferred.make<void>()
    // Each round holds one connection until it breaks, then opens the next.
    const listenLoop = Effect.scoped(
      Effect.flatMap(listen, ({ lost }) => Effect.zipRight(Deferred.succeed(listenedOnce, undefined), Deferred.await(lost)))
    ).pipe(
      Effect.tapError((reason) => Effect.logWarning(`postgres broker: cannot LISTEN (${reason}); retrying`)),
      Effect.retry(reconnectBackoff),
      Effect.zipRight(Effect.logWarning("postgres broker: LISTEN connection lost; reconnecting")),
      Effect.forever
    )
    yield* Effect.forkScoped(listenLoop)
    // Subscribed to the channel before the layer is up, so nothing published after start is missed.
    yield* Deferred.await(listenedOnce).pipe(
      Effect.timeoutFail({
        duration: config.connectTimeoutMs + 1000,
        onTimeout: () => new Error("LISTEN connection not established")
      }),
      Effect.orDie
    )

    const broker: EventBrokerShape = {
      publish: (event) => Effect.zipRight(local.publish(event), offer([event])),
      publishAll: (events) =>
        events.length === 0 ? Effect.void : Effect.zipRight(local.publishAll(events), offer(events)),
      subscribe: local.subscribe,
      // Events from other processes are published to the local broker too, so its listeners hear them.
      ...(local.listen !== undefined && { listen: local.listen })
    }
    return broker
  })

/** The broker on the database (and schema) of `options`. */
export const layer = (options: PostgresOptions): Layer.Layer<EventBroker, PostgresRefused> =>
  Layer.scoped(EventBroker, make(resolveOptions(options)))
