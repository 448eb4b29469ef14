/**
 * ExecutionLog over the `execution_log` table (written by the store when it
 * releases attempts). Pages are newest first with the row's seq as cursor;
 * percentiles are nearest-rank (`percentile_disc`). A prune is one DELETE,
 * whose row count is exactly what it removed.
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
import { ExecutionEntryFromRow } from "../sqlite/rows.js"
import { PostgresStoreOptions } from "./Client.js"
import { executionColumns } from "./columns.js"
import { retryTransient } from "./transient.js"

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

const emptyStats = (): ExecutionStats => ({
  total: 0,
  byOutcome: emptyCounts(),
  successRate: null,
  p50DurationMs: null,
  p95DurationMs: null
})

const decodeCursor = (cursor: string) =>
  /^[1-9]\d{0,15}$/.test(cursor) ? Effect.succeed(Number(cursor)) : Effect.fail(new InvalidCursor({ cursor }))

const compareKeys = (a: string | null, b: string | null) =>
  a === b ? 0 : a === null ? 1 : b === null ? -1 : a < b ? -1 : 1

export const make = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  const options = yield* PostgresStoreOptions
  const retry = (what: string) => retryTransient(options.reconnectTimeoutMs, `execution log ${what}`)

  const conditions = (filter: ExecutionFilter): Array<Statement.Fragment> => {
    const where: Array<Statement.Fragment> = []
    if (filter.handler !== undefined) where.push(sql`handler = ${filter.handler}`)
    if (filter.taskId !== undefined) where.push(sql`task_id = ${filter.taskId}`)
    if (filter.scheduleId !== undefined) where.push(sql`schedule_id = ${filter.scheduleId}`)
    if (filter.outcome !== undefined) {
      const outcomes = typeof filter.outcome === "string" ? [filter.outcome] : filter.outcome
      where.push(sql`outcome = ANY(${outcomes})`)
    }
    if (filter.from !== undefined) where.push(sql`finished_at >= ${filter.from}`)
    if (filter.to !== undefined) where.push(sql`finished_at < ${filter.to}`)
    return where
  }

  const query = Effect.fn("PostgresExecutionLog.query")(function* (request: ExecutionQuery = {}) {
    const limit = request.limit ?? defaultPageSize
    if (!Number.isInteger(limit) || limit < 1 || limit > maxPageSize) return yield* new InvalidPageSize({ limit })
    const where = conditions(request)
    if (request.cursor !== undefined) where.push(sql`seq < ${yield* decodeCursor(request.cursor)}`)
    const entries = yield* SqlSchema.findAll({
      Request: Schema.Void,
      Result: ExecutionEntryFromRow,
      execute: () => sql`
        SELECT ${sql.literal(executionColumns)} FROM execution_log
        WHERE ${sql.and(where)} ORDER BY seq DESC LIMIT ${limit + 1}`
    })(undefined).pipe(retry("query"), Effect.orDie)
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
        SELECT ${key} AS key,
               percentile_disc(0.5) WITHIN GROUP (ORDER BY duration_ms) AS p50,
               percentile_disc(0.95) WITHIN GROUP (ORDER BY duration_ms) AS p95
        FROM execution_log
        WHERE ${sql.and([...where, sql`duration_ms IS NOT NULL`])}
        GROUP BY 1`
    ]).pipe(
      Effect.map(([counts, percentiles]) => {
        const byKey = new Map<string | null, ExecutionStats>()
        const entry = (k: string | null) => byKey.get(k) ?? emptyStats()
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

  const stats = Effect.fn("PostgresExecutionLog.stats")(function* (filter: ExecutionFilter = {}) {
    const where = conditions(filter)
    const [overall, handlers, tasks] = yield* Effect.all([
      grouped(sql.literal("NULL::text"), where),
      grouped(sql.literal("handler"), where),
      grouped(sql.literal("task_id"), where)
    ]).pipe(retry("stats"), Effect.orDie)
    const result: ExecutionLogStats = {
      overall: overall.get(null) ?? emptyStats(),
      byHandler: [...handlers].map(([handler, s]) => ({ handler, ...s })).sort((a, b) => compareKeys(a.handler, b.handler)),
      byTask: [...tasks]
        .map(([taskId, s]) => ({ taskId: taskId ?? "", ...s }))
        .sort((a, b) => compareKeys(a.taskId, b.taskId))
    }
    return result
  })

  const prune = Effect.fn("PostgresExecutionLog.prune")(function* (options: PruneOptions) {
    const { before, keepLast } = yield* validatePrune(options)
    const matching = conditions(options.filter ?? {})
    const where = [...matching]
    if (before !== undefined) where.push(sql`finished_at < ${before}`)
    // Everything at or below the seq of the (keepLast+1)-th newest matching record; none when there are fewer.
    if (keepLast !== undefined) {
      where.push(sql`seq <= (
        SELECT seq FROM execution_log WHERE ${sql.and(matching)}
        ORDER BY seq DESC LIMIT 1 OFFSET ${keepLast})`)
    }
    const deleted = yield* sql<{ seq: number }>`DELETE FROM execution_log WHERE ${sql.and(where)} RETURNING seq`.pipe(
      retry("prune"),
      Effect.orDie
    )
    return { deleted: deleted.length }
  })

  const log: ExecutionLogShape = { query, stats, prune }
  return log
})
