/**
 * ExecutionLog over the `execution_log` table (written by the store when it
 * releases attempts). Pages are newest first with the row's seq as cursor;
 * percentiles are nearest-rank, computed in SQL with window functions.
 * A prune is one DELETE in an immediate transaction with the count read from
 * the same connection, so the count is exactly what that statement removed.
 */
import { SqlClient, SqlSchema, type Statement } from "@effect/sql"
import { Effect, Schema } from "effect"
import {
  defaultPageSize,
  type ExecutionFilter,
  type ExecutionLogShape,
  type ExecutionLogStats,
  type ExecutionOutcome,
  type ExecutionQuery,
  type ExecutionStats,
  executionOutcomes,
  InvalidCursor,
  InvalidPageSize,
  maxPageSize,
  type PruneOptions,
  validatePrune
} from "../../../services/ExecutionLog.js"
import { ExecutionEntryFromRow } from "./rows.js"
import { makeImmediateTransaction, retryWhenBusy } from "./transaction.js"

interface GroupRow {
  readonly key: string | null
  readonly outcome: ExecutionOutcome
  readonly n: number
}

interface PercentileRow {
  readonly key: string | null
  readonly p50: number | null
  readonly p95: number | null
}

const emptyCounts = (): Record<ExecutionOutcome, number> =>
  Object.fromEntries(executionOutcomes.map((outcome) => [outcome, 0])) as Record<ExecutionOutcome, number>

const decodeCursor = (cursor: string) =>
  /^[1-9]\d{0,15}$/.test(cursor) ? Effect.succeed(Number(cursor)) : Effect.fail(new InvalidCursor({ cursor }))

export const make = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  const immediate = makeImmediateTransaction(sql)

  const conditions = (filter: ExecutionFilter): Array<Statement.Fragment> => {
    const where: Array<Statement.Fragment> = []
    if (filter.handler !== undefined) where.push(sql`handler = ${filter.handler}`)
    if (filter.taskId !== undefined) where.push(sql`task_id = ${filter.taskId}`)
    if (filter.scheduleId !== undefined) where.push(sql`schedule_id = ${filter.scheduleId}`)
    if (filter.outcome !== undefined) {
      const outcomes = typeof filter.outcome === "string" ? [filter.outcome] : filter.outcome
      where.push(outcomes.length === 0 ? sql`0 = 1` : sql`outcome IN ${sql.in(outcomes)}`)
    }
    if (filter.from !== undefined) where.push(sql`finished_at >= ${filter.from.getTime()}`)
    if (filter.to !== undefined) where.push(sql`finished_at < ${filter.to.getTime()}`)
    return where
  }

  const query = Effect.fn("SqliteExecutionLog.query")(function* (request: ExecutionQuery = {}) {
    const limit = request.limit ?? defaultPageSize
    if (!Number.isInteger(limit) || limit < 1 || limit > maxPageSize) return yield* new InvalidPageSize({ limit })
    const where = conditions(request)
    if (request.cursor !== undefined) where.push(sql`seq < ${yield* decodeCursor(request.cursor)}`)
    const entries = yield* SqlSchema.findAll({
      Request: Schema.Void,
      Result: ExecutionEntryFromRow,
      execute: () => sql`SELECT * FROM execution_log WHERE ${sql.and(where)} ORDER BY seq DESC LIMIT ${limit + 1}`
    })(undefined).pipe(Effect.orDie)
    const more = entries.length > limit
    const shown = more ? entries.slice(0, limit) : entries
    return { entries: shown, nextCursor: more ? String(shown[shown.length - 1]!.seq) : null }
  })

  const grouped = (key: Statement.Fragment, where: ReadonlyArray<Statement.Fragment>) =>
    Effect.all([
      sql<GroupRow>`
        SELECT ${key} AS key, outcome, COUNT(*) AS n FROM execution_log
        WHERE ${sql.and(where)} GROUP BY 1, 2`,
      sql<PercentileRow>`
        WITH durations AS (
          SELECT ${key} AS key, duration_ms,
                 ROW_NUMBER() OVER (PARTITION BY ${key} ORDER BY duration_ms) AS rank,
                 COUNT(*) OVER (PARTITION BY ${key}) AS n
          FROM execution_log
          WHERE ${sql.and([...where, sql`duration_ms IS NOT NULL`])}
        )
        SELECT key,
               MAX(CASE WHEN rank = (n * 50 + 99) / 100 THEN duration_ms END) AS p50,
               MAX(CASE WHEN rank = (n * 95 + 99) / 100 THEN duration_ms END) AS p95
        FROM durations GROUP BY key`
    ]).pipe(
      Effect.map(([counts, percentiles]) => {
        const byKey = new Map<string | null, ExecutionStats>()
        const entry = (k: string | null) => {
          let stats = byKey.get(k)
          if (stats === undefined) {
            stats = { total: 0, byOutcome: emptyCounts(), successRate: null, p50DurationMs: null, p95DurationMs: null }
            byKey.set(k, stats)
          }
          return stats
        }
        for (const row of counts) {
          const stats = entry(row.key)
          byKey.set(row.key, {
            ...stats,
            total: stats.total + row.n,
            byOutcome: { ...stats.byOutcome, [row.outcome]: row.n }
          })
        }
        for (const row of percentiles) {
          byKey.set(row.key, { ...entry(row.key), p50DurationMs: row.p50, p95DurationMs: row.p95 })
        }
        for (const [k, stats] of byKey) {
          byKey.set(k, { ...stats, successRate: stats.total === 0 ? null : stats.byOutcome.success / stats.total })
        }
        return byKey
      })
    )

  const stats = Effect.fn("SqliteExecutionLog.stats")(function* (filter: ExecutionFilter = {}) {
    const where = conditions(filter)
    const [overall, handlers, tasks] = yield* Effect.all([
      grouped(sql.literal("NULL"), where),
      grouped(sql.literal("handler"), where),
      grouped(sql.literal("task_id"), where)
    ]).pipe(Effect.orDie)
    const none: ExecutionStats = {
      total: 0,
      byOutcome: emptyCounts(),
      successRate: null,
      p50DurationMs: null,
      p95DurationMs: null
    }
    const result: ExecutionLogStats = {
      overall: overall.get(null) ?? none,
      byHandler: [...handlers].map(([handler, s]) => ({ handler, ...s })).sort((a, b) => compareKeys(a.handler, b.handler)),
      byTask: [...tasks]
        .map(([taskId, s]) => ({ taskId: taskId ?? "", ...s }))
        .sort((a, b) => compareKeys(a.taskId, b.taskId))
    }
    return result
  })

  const prune = Effect.fn("SqliteExecutionLog.prune")(function* (options: PruneOptions) {
    const { before, keepLast } = yield* validatePrune(options)
    const matching = conditions(options.filter ?? {})
    const where = [...matching]
    if (before !== undefined) where.push(sql`finished_at < ${before.getTime()}`)
    // Everything at or below the seq of the (keepLast+1)-th newest matching record; none when there are fewer.
    if (keepLast !== undefined) {
      where.push(sql`seq <= (
        SELECT seq FROM execution_log WHERE ${sql.and(matching)}
        ORDER BY seq DESC LIMIT 1 OFFSET ${keepLast})`)
    }
    const [row] = yield* immediate(
      Effect.zipRight(
        sql`DELETE FROM execution_log WHERE ${sql.and(where)}`,
        sql<{ readonly n: number }>`SELECT changes() AS n`
      )
    ).pipe(retryWhenBusy, Effect.orDie)
    return { deleted: row?.n ?? 0 }
  })

  const log: ExecutionLogShape = { query, stats, prune }
  return log
})

const compareKeys = (a: string | null, b: string | null) =>
  a === b ? 0 : a === null ? 1 : b === null ? -1 : a < b ? -1 : 1
