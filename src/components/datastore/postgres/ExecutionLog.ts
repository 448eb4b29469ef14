/**
 * ExecutionLog on PostgreSQL (sql/ExecutionLog.ts holds the rules):
 * percentiles are nearest-rank (`percentile_disc`). A prune is one DELETE,
 * whose row count is exactly what it removed.
 */
import { SqlClient } from "@effect/sql"
import { Effect } from "effect"
import { makeExecutionLog } from "../sql/ExecutionLog.js"
import { PostgresStoreOptions } from "./Client.js"
import { executionColumns } from "./columns.js"
import { retryTransient } from "./transient.js"

export const make = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  const options = yield* PostgresStoreOptions
  return makeExecutionLog({
    name: "PostgresExecutionLog",
    sql,
    instant: (date) => date,
    outcomeIn: (outcomes) => sql`outcome = ANY(${outcomes})`,
    page: (where, limit) => sql`
      SELECT ${sql.literal(executionColumns)} FROM execution_log
      WHERE ${where} ORDER BY seq DESC LIMIT ${limit}`,
    percentiles: (key, where) => sql`
      SELECT ${key} AS key,
             percentile_disc(0.5) WITHIN GROUP (ORDER BY duration_ms) AS p50,
             percentile_disc(0.95) WITHIN GROUP (ORDER BY duration_ms) AS p95
      FROM execution_log
      WHERE ${where}
      GROUP BY 1`,
    allRows: sql.literal("NULL::text"),
    deleteWhere: (where) =>
      Effect.map(sql<{ seq: number }>`DELETE FROM execution_log WHERE ${where} RETURNING seq`, (rows) => rows.length),
    retry: (what, effect) => retryTransient(options.reconnectTimeoutMs, `execution log ${what}`)(effect)
  })
})
