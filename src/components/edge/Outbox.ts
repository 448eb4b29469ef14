/**
 * The edge's outbox (table `edge_outbox`, migration 4): a copy of every
 * execution-log row, written by a TEMP trigger on the store's own connection
 * inside the transaction that writes the log row, so a row is in both or in
 * neither. Only a deployment running the upstream component installs the
 * triggers (a TEMP trigger lives as long as the connection), so other
 * deployments pay nothing.
 *
 * Events go into the same outbox: TEMP triggers on `schedules` record a
 * schedule added, removed, paused or resumed in the transaction that makes the
 * change; the scheduler's own start and stop (recorded nowhere else) are
 * written when the edge's broker announces them. An event's id is reserved
 * from the execution log's AUTOINCREMENT sequence, so rows and events share
 * one increasing id space, in commit order, without a table of their own.
 *
 * The outbox is bounded by row count and age; rows beyond the bound are
 * dropped oldest first, counted and logged.
 */
import { SqlClient } from "@effect/sql"
import { Effect, Queue, Ref, Schema, type Scope, Stream } from "effect"
import type { SchedulerEvent, SchedulerStarted, SchedulerStopped } from "../../domain/events.js"
import { EventBroker } from "../../services/EventBroker.js"
import { isFromPeer } from "../broker/zmq/origin.js"
import { entryColumns, OutboxEntry, OutboxEvent, type OutboxRow } from "./protocol.js"

export interface OutboxBounds {
  /** Most rows kept; null = no bound. */
  readonly maxRows: number | null
  /** Oldest row kept, by its finish time on the edge's clock; null = no bound. */
  readonly maxAgeMs: number | null
}

const triggerName = "schedulezero_edge_outbox"

const triggerStatement = `CREATE TEMP TRIGGER IF NOT EXISTS ${triggerName} AFTER INSERT ON main.execution_log BEGIN
  INSERT INTO edge_outbox (id, enqueued_at, entry)
  VALUES (NEW.seq, NEW.finished_at, json_object(${entryColumns.map((column) => `'${column}', NEW.${column}`).join(", ")}));
END`

/** The edge's clock in ms, in SQL. */
const nowMs = "CAST(ROUND((julianday('now') - 2440587.5) * 86400000) AS INTEGER)"

/**
 * Statements that record one event: reserve the next id of the execution
 * log's sequence (created if the log is still empty), then insert the event
 * under it. The arguments are SQL expressions (`kind` yields an EdgeEventKind).
 */
const eventStatements = (kind: string, at: string, scheduleId: string, taskId: string, schedulerId: string) => [
  `INSERT INTO sqlite_sequence (name, seq) SELECT 'execution_log', 0
     WHERE NOT EXISTS (SELECT 1 FROM sqlite_sequence WHERE name = 'execution_log')`,
  `UPDATE sqlite_sequence SET seq = seq + 1 WHERE name = 'execution_log'`,
  `INSERT INTO edge_outbox (id, enqueued_at, entry)
     SELECT seq, ${nowMs}, json_object('event', json_object('kind', ${kind}, 'at', ${at},
       'schedule_id', ${scheduleId}, 'task_id', ${taskId}, 'scheduler_id', ${schedulerId}))
     FROM sqlite_sequence WHERE name = 'execution_log'`
]

const scheduleTrigger = (name: string, event: string, kind: string, row: "NEW" | "OLD", when: string) =>
  `CREATE TEMP TRIGGER IF NOT EXISTS schedulezero_edge_${name} ${event} ON main.schedules WHEN ${when} BEGIN
  ${eventStatements(kind, nowMs, `${row}.id`, `${row}.task_id`, "NULL").join(";\n  ")};
END`

const pausedKind = "CASE NEW.paused WHEN 1 THEN 'schedule.paused' ELSE 'schedule.resumed' END"

/**
 * The store writes a schedule with INSERT OR REPLACE (at every fire too), so
 * BEFORE INSERT triggers compare with the row still there: no row = added, a
 * different `paused` = paused or resumed, anything else records nothing. A
 * REPLACE fires no DELETE trigger, so only a real removal is `removed`.
 */
const scheduleTriggers = [
  scheduleTrigger("schedule_added", "BEFORE INSERT", "'schedule.added'", "NEW", "NOT EXISTS (SELECT 1 FROM schedules WHERE id = NEW.id)"),
  scheduleTrigger(
    "schedule_replaced",
    "BEFORE INSERT",
    pausedKind,
    "NEW",
    "EXISTS (SELECT 1 FROM schedules WHERE id = NEW.id AND paused IS NOT NEW.paused)"
  ),
  scheduleTrigger("schedule_updated", "AFTER UPDATE OF paused", pausedKind, "NEW", "OLD.paused IS NOT NEW.paused"),
  scheduleTrigger("schedule_removed", "AFTER DELETE", "'schedule.removed'", "OLD", "1")
]

const decodeStored = Schema.decodeUnknownSync(
  Schema.parseJson(Schema.Union(OutboxEntry, Schema.Struct({ event: OutboxEvent })))
)

const rowOf = (id: number, text: string): OutboxRow => {
  const stored = decodeStored(text)
  return "event" in stored ? { id, event: stored.event } : { id, entry: stored }
}

const isOwnSchedulerEvent = (event: SchedulerEvent): event is SchedulerStarted | SchedulerStopped =>
  (event._tag === "SchedulerStarted" || event._tag === "SchedulerStopped") && !isFromPeer(event)

export interface OutboxShape {
  /** The next rows to deliver, oldest first. */
  readonly next: (limit: number) => Effect.Effect<ReadonlyArray<OutboxRow>>
  /** Deletes every row up to `id` (acknowledged by the server). */
  readonly acknowledge: (id: number) => Effect.Effect<void>
  readonly backlog: Effect.Effect<number>
  /** Rows dropped by the bound since this process started. */
  readonly dropped: Effect.Effect<number>
  /** Applies the bound; returns how many rows it dropped. */
  readonly trim: (nowMs: number) => Effect.Effect<number>
}

/**
 * Installs the triggers on the connection in context, records the scheduler's
 * start and stop from the broker in context (if any) until the scope closes,
 * and returns the outbox.
 */
export const make = (bounds: OutboxBounds): Effect.Effect<OutboxShape, never, SqlClient.SqlClient | Scope.Scope> =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    for (const statement of [triggerStatement, ...scheduleTriggers]) yield* sql.unsafe(statement).pipe(Effect.orDie)
    const droppedTotal = yield* Ref.make(0)

    const recordSchedulerEvent = (event: SchedulerStarted | SchedulerStopped) =>
      sql
        .withTransaction(
          Effect.forEach(
            eventStatements(event._tag === "SchedulerStarted" ? "'scheduler.started'" : "'scheduler.stopped'", "?", "NULL", "NULL", "?"),
            (statement) => sql.unsafe(statement, statement.includes("?") ? [event.timestamp.getTime(), event.schedulerId] : [])
          )
        )
        .pipe(
          Effect.catchAll((error) =>
            Effect.logWarning("edge outbox: scheduler event not recorded").pipe(
              Effect.annotateLogs({ event: event._tag, error: String(error) })
            )
          ),
          // a write under way completes: interrupting it would roll it back
          Effect.uninterruptible
        )
    const broker = yield* Effect.serviceOption(EventBroker)
    if (broker._tag === "Some") {
      const pending = yield* Queue.unbounded<SchedulerStarted | SchedulerStopped>()
      const { listen, subscribe } = broker.value
      if (listen !== undefined) {
        yield* listen((event) => {
          if (isOwnSchedulerEvent(event)) pending.unsafeOffer(event)
        })
      } else {
        const events = yield* subscribe(isOwnSchedulerEvent)
        yield* Effect.forkScoped(
          Stream.runForEach(Stream.filter(events, isOwnSchedulerEvent), (event) => Queue.offer(pending, event))
        )
      }
      yield* Effect.forkScoped(Effect.forever(Effect.flatMap(Queue.take(pending), recordSchedulerEvent)))
      // a graceful stop announces SchedulerStopped just before this scope closes: record what is still queued
      yield* Effect.addFinalizer(() => Effect.flatMap(Queue.takeAll(pending), Effect.forEach(recordSchedulerEvent)))
    }

    const next = (limit: number) =>
      sql<{ id: number; entry: string }>`SELECT id, entry FROM edge_outbox ORDER BY id LIMIT ${limit}`.pipe(
        Effect.map((rows) => rows.map((row) => rowOf(row.id, row.entry))),
        Effect.orDie
      )

    const acknowledge = (id: number) => sql`DELETE FROM edge_outbox WHERE id <= ${id}`.pipe(Effect.asVoid, Effect.orDie)

    const backlog = sql<{ n: number }>`SELECT COUNT(*) AS n FROM edge_outbox`.pipe(
      Effect.map((rows) => rows[0]!.n),
      Effect.orDie
    )

    const dropOldest = (count: number) =>
      sql<{ id: number }>`DELETE FROM edge_outbox WHERE id IN (
          SELECT id FROM edge_outbox ORDER BY id LIMIT ${count}
        ) RETURNING id`.pipe(Effect.map((rows) => rows.length))

    const dropBeyond = (nowMs: number) =>
      Effect.gen(function* () {
        const byAge =
          bounds.maxAgeMs === null
            ? 0
            : (yield* sql<{ id: number }>`DELETE FROM edge_outbox WHERE enqueued_at < ${nowMs - bounds.maxAgeMs} RETURNING id`)
                .length
        if (bounds.maxRows === null) return byAge
        const excess = (yield* backlog) - bounds.maxRows
        return byAge + (excess > 0 ? yield* dropOldest(excess) : 0)
      }).pipe(Effect.orDie)

    const trim = (nowMs: number) =>
      Effect.gen(function* () {
        const dropped = yield* dropBeyond(nowMs)
        if (dropped === 0) return 0
        const total = yield* Ref.updateAndGet(droppedTotal, (n) => n + dropped)
        yield* Effect.logWarning("edge outbox over its bound: oldest rows dropped").pipe(
          Effect.annotateLogs({ dropped, droppedTotal: total, maxRows: bounds.maxRows, maxAgeMs: bounds.maxAgeMs })
        )
        return dropped
      })

    return { next, acknowledge, backlog, dropped: Ref.get(droppedTotal), trim }
  })
