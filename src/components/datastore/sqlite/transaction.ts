/**
 * Write transactions that take SQLite's write lock up front.
 *
 * SqliteClient.withTransaction opens a deferred `BEGIN`: two processes can both
 * read the same free job and only then race for the lock, and a deferred
 * transaction that must upgrade fails at once with SQLITE_BUSY instead of
 * waiting. `BEGIN IMMEDIATE` makes the second writer wait (busy_timeout) until
 * the first commits, so it reads what the first wrote: leases cannot be taken twice.
 */
import { SqlClient, SqlError } from "@effect/sql"
import { Effect, Schedule, Scope } from "effect"

const isNoActiveTransaction = (error: SqlError.SqlError) =>
  String((error.cause as { message?: unknown } | undefined)?.message ?? "").includes("no transaction is active")

/** Wraps an effect in `BEGIN IMMEDIATE … COMMIT` (a savepoint when already inside a transaction). */
export const makeImmediateTransaction = (sql: SqlClient.SqlClient) =>
  SqlClient.makeWithTransaction({
    transactionTag: SqlClient.TransactionConnection,
    spanAttributes: [["db.system.name", "sqlite"]],
    acquireConnection: Effect.flatMap(Scope.make(), (scope) =>
      Effect.map(Scope.extend(sql.reserve, scope), (conn) => [scope, conn] as const)
    ),
    // Through the client's statement cache: these run once per write, so they are prepared once.
    begin: (conn) => conn.execute("BEGIN IMMEDIATE", [], undefined),
    savepoint: (conn, id) => conn.executeUnprepared(`SAVEPOINT effect_sql_${id}`, [], undefined),
    commit: (conn) => conn.execute("COMMIT", [], undefined),
    // A BEGIN that failed (busy timeout) leaves nothing to roll back.
    rollback: (conn) =>
      conn
        .execute("ROLLBACK", [], undefined)
        .pipe(Effect.catchIf(isNoActiveTransaction, () => Effect.void)),
    rollbackSavepoint: (conn, id) => conn.executeUnprepared(`ROLLBACK TO SAVEPOINT effect_sql_${id}`, [], undefined)
  })

/** Whether SQLite gave up waiting for another connection's lock. */
export const isBusy = (error: SqlError.SqlError): boolean => {
  const code = (error.cause as { code?: unknown } | undefined)?.code
  return typeof code === "string" && code.startsWith("SQLITE_BUSY")
}

const busyRetries = Schedule.exponential("10 millis").pipe(Schedule.intersect(Schedule.recurs(8)))

/**
 * Retries statements that hit a lock held past busy_timeout (another process in
 * a long transaction). The retry machinery is only built once that happens: the
 * success path is on every write.
 */
export const retryWhenBusy = <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> => {
  const busy = (error: E) => error instanceof SqlError.SqlError && isBusy(error)
  return Effect.catchIf(effect, busy, () => Effect.retry(effect, { while: busy, schedule: busyRetries }))
}
