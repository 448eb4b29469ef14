/**
 * ExecutionLog over the `execution_log` table (written by the store when it
 * releases attempts), for any SQL store: the rules (filters, pages newest
 * first with the row's seq as cursor, counts and nearest-rank percentiles per
 * handler and task, prunes) live here; a store gives only what its dialect
 * spells differently (ExecutionLogDialect).
 */
import { type SqlClient, type SqlError, SqlSchema, type Statement } from "@effect/sql"
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

export interface PercentileRow {
  readonly key: string | null
  readonly p50: number | null
  readonly p95: number | null
}

interface GroupRow {
  readonly key: string | null
  readonly outcome: ExecutionOutcome
  readonly n: number
}

export interface ExecutionLogDialect {
  /** Prefix of the spans ("SqliteExecutionLog"). */
  readonly name: string
  readonly sql: SqlClient.SqlClient
  /** An instant as the `finished_at` column compares it. */
  readonly instant: (date: Date) => number | Date
  /** `outcome` is one of `outcomes` (maybe none). */
  readonly outcomeIn: (outcomes: ReadonlyArray<ExecutionOutcome>) => Statement.Fragment
  /** The newest `limit` rows matching `where`, in the wire form ExecutionEntryFromRow decodes. */
  readonly page: (where: Statement.Fragment, limit: number) => Statement.Statement<object>
  /** Nearest-rank p50 and p95 of `duration_ms` per `key` over the rows matching `where`. */
  readonly percentiles: (key: Statement.Fragment, where: Statement.Fragment) => Statement.Statement<PercentileRow>
  /** The key that groups every row into one (a typed NULL where the dialect needs one). */
  readonly allRows: Statement.Fragment
  /** Deletes the rows matching `where`; succeeds with exactly how many it removed. */
  readonly deleteWhere: (where: Statement.Fragment) => Effect.Effect<number, SqlError.SqlError>
  /** Wraps every statement the log runs (retries while the database is busy or away). */
  readonly retry: <A, E, R>(what: string, effect: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>
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

export const makeExecutionLog = (dialect: ExecutionLogDialect): ExecutionLogShape => {
  const { sql } = dialect

  const conditions = (filter: ExecutionFilter): Array<Statement.Fragment> => {
    const where: Array<Statement.Fragment> = []
    if (filter.handler !== undefined) where.push(sql`handler = ${filter.handler}`)
    if (filter.taskId !== undefined) where.push(sql`task_id = ${filter.taskId}`)
    if (filter.scheduleId !== undefined) where.push(sql`schedule_id = ${filter.scheduleId}`)
    if (filter.outcome !== undefined) {
      where.push(dialect.outcomeIn(typeof filter.outcome === "string" ? [filter.outcome] : filter.outcome))
    }
    if (filter.from !== undefined) where.push(sql`finished_at >= ${dialect.instant(filter.from)}`)
    if (filter.to !== undefined) where.push(sql`finished_at < ${dialect.instant(filter.to)}`)
    return where
  }

  const query = Effect.fn(`${dialect.name}.query`)(function* (request: ExecutionQuery = {}) {
    const limit = request.limit ?? defaultPageSize
    if (!Number.isInteger(limit) || limit < 1 || limit > maxPageSize) return yield* new InvalidPageSize({ limit })
    const where = conditions(request)
    if (request.cursor !== undefined) where.push(sql`seq < ${yield* decodeCursor(request.cursor)}`)
    const entries = yield* dialect.retry(
      "query",
      SqlSchema.findAll({
        Request: Schema.Void,
        Result: ExecutionEntryFromRow,
        execute: () => dialect.page(sql.and(where), limit + 1)
      })(undefined)
    ).pipe(Effect.orDie)
    const more = entries.length > limit
    const shown = more ? entries.slice(0, limit) : entries
    return { entries: shown, nextCursor: more ? String(shown[shown.length - 1]!.seq) : null }
  })

  const grouped = (key: Statement.Fragment, where: ReadonlyArray<Statement.Fragment>) =>
    Effect.all([
      sql<GroupRow>`
        SELECT ${key} AS key, outcome, COUNT(*) AS n FROM execution_log
        WHERE ${sql.and(where)} GROUP BY 1, 2`,
      dialect.percentiles(key, sql.and([...where, sql`duration_ms IS NOT NULL`]))
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

  const stats = Effect.fn(`${dialect.name}.stats`)(function* (filter: ExecutionFilter = {}) {
    const where = conditions(filter)
    const [overall, handlers, tasks] = yield* dialect.retry(
      "stats",
      Effect.all([
        grouped(dialect.allRows, where),
        grouped(sql.literal("handler"), where),
        grouped(sql.literal("task_id"), where)
      ])
    ).pipe(Effect.orDie)
    const result: ExecutionLogStats = {
      overall: overall.get(null) ?? emptyStats(),
      byHandler: [...handlers].map(([handler, s]) => ({ handler, ...s })).sort((a, b) => compareKeys(a.handler, b.handler)),
      byTask: [...tasks]
        .map(([taskId, s]) => ({ taskId: taskId ?? "", ...s }))
        .sort((a, b) => compareKeys(a.taskId, b.taskId))
    }
    return result
  })

  const prune = Effect.fn(`${dialect.name}.prune`)(function* (options: PruneOptions) {
    const { before, keepLast } = yield* validatePrune(options)
    const matching = conditions(options.filter ?? {})
    const where = [...matching]
    if (before !== undefined) where.push(sql`finished_at < ${dialect.instant(before)}`)
    // Everything at or below the seq of the (keepLast+1)-th newest matching record; none when there are fewer.
    if (keepLast !== undefined) {
      where.push(sql`seq <= (
        SELECT seq FROM execution_log WHERE ${sql.and(matching)}
        ORDER BY seq DESC LIMIT 1 OFFSET ${keepLast})`)
    }
    const deleted = yield* dialect.retry("prune", dialect.deleteWhere(sql.and(where))).pipe(Effect.orDie)
    return { deleted }
  })

  return { query, stats, prune }
}
