/**
 * ExecutionLog on SQLite (sql/ExecutionLog.ts holds the rules): percentiles
 * are nearest-rank, computed with window functions. A prune is one DELETE in
 * an immediate transaction with the count read from the same connection, so
 * the count is exactly what that statement removed.
 */
import { SqlClient } from "@effect/sql"
import { Effect } from "effect"
import { makeExecutionLog } from "../sql/ExecutionLog.js"
import { makeImmediateTransaction, retryWhenBusy } from "./transaction.js"

export const make = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  const immediate = makeImmediateTransaction(sql)
  return makeExecutionLog({
    name: "SqliteExecutionLog",
    sql,
    instant: (date) => date.getTime(),
    outcomeIn: (outcomes) => (outcomes.length === 0 ? sql`0 = 1` : sql`outcome IN ${sql.in(outcomes)}`),
    page: (where, limit) => sql`SELECT * FROM execution_log WHERE ${where} ORDER BY seq DESC LIMIT ${limit}`,
    percentiles: (key, where) => sql`
      WITH durations AS (
        SELECT ${key} AS key, duration_ms,
               ROW_NUMBER() OVER (PARTITION BY ${key} ORDER BY duration_ms) AS rank,
               COUNT(*) OVER (PARTITION BY ${key}) AS n
        FROM execution_log
        WHERE ${where}
      )
      SELECT key,
             MAX(CASE WHEN rank = (n * 50 + 99) / 100 THEN duration_ms END) AS p50,
             MAX(CASE WHEN rank = (n * 95 + 99) / 100 THEN duration_ms END) AS p95
      FROM durations GROUP BY key`,
    allRows: sql.literal("NULL"),
    deleteWhere: (where) =>
      Effect.map(
        immediate(
          Effect.zipRight(sql`DELETE FROM execution_log WHERE ${where}`, sql<{ readonly n: number }>`SELECT changes() AS n`)
        ),
        ([row]) => row?.n ?? 0
      ),
    retry: (_what, effect) => retryWhenBusy(effect)
  })
})
