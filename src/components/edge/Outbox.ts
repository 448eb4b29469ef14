/**
 * The edge's outbox (table `edge_outbox`, migration 4): a copy of every
 * execution-log row, written by a TEMP trigger on the store's own connection
 * inside the transaction that writes the log row, so a row is in both or in
 * neither. Only a deployment running the upstream component installs the
 * trigger (a TEMP trigger lives as long as the connection), so other
 * deployments pay nothing.
 *
 * The outbox is bounded by row count and age; rows beyond the bound are
 * dropped oldest first, counted and logged.
 */
import { SqlClient } from "@effect/sql"
import { Effect, Ref, Schema } from "effect"
import { entryColumns, OutboxEntry, type OutboxRow } from "./protocol.js"

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

const decodeEntry = Schema.decodeUnknownSync(Schema.parseJson(OutboxEntry))

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

/** Installs the trigger on the connection in context and returns the outbox over it. */
export const make = (bounds: OutboxBounds): Effect.Effect<OutboxShape, never, SqlClient.SqlClient> =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    yield* sql.unsafe(triggerStatement).pipe(Effect.orDie)
    const droppedTotal = yield* Ref.make(0)

    const next = (limit: number) =>
      sql<{ id: number; entry: string }>`SELECT id, entry FROM edge_outbox ORDER BY id LIMIT ${limit}`.pipe(
        Effect.map((rows) => rows.map((row) => ({ id: row.id, entry: decodeEntry(row.entry) }))),
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
