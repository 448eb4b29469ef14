/**
 * Applies the migrations to an open database, all in one immediate transaction:
 * a second process starting on the same file waits and then finds nothing to do,
 * and a failed migration leaves the file as it was.
 */
import { SqlClient } from "@effect/sql"
import * as Migrator from "@effect/sql/Migrator"
import { Effect } from "effect"
import { DatabaseTooNew, DatabaseUnusable } from "./errors.js"
import { latestVersion, migrations, migrationsTable } from "./migrations.js"
import { makeImmediateTransaction } from "./transaction.js"

// No schema dump: it would shell out to the sqlite3 binary (and need the platform services).
const runMigrator = Migrator.make({})

const recordedVersion = (sql: SqlClient.SqlClient) =>
  Effect.gen(function* () {
    const tables = yield* sql<{ name: string }>`SELECT name FROM sqlite_master WHERE type = 'table' AND name = ${migrationsTable}`
    if (tables.length === 0) return 0
    const [row] = yield* sql<{ version: number | null }>`SELECT MAX(migration_id) AS version FROM ${sql(migrationsTable)}`
    return row?.version ?? 0
  })

/** The migrations up to `upTo` (default: all), keyed as Migrator.fromRecord expects. */
export const migrationsUpTo = (upTo: number = latestVersion) =>
  Object.fromEntries(Object.entries(migrations).filter(([key]) => Number.parseInt(key, 10) <= upTo))

/**
 * Brings the database to version `upTo` (default: latest) and returns the
 * migrations that ran. A database already past this build's latest version is
 * refused before anything is written.
 */
export const applyMigrations = (
  filename: string,
  upTo: number = latestVersion
): Effect.Effect<ReadonlyArray<readonly [version: number, name: string]>, DatabaseTooNew | DatabaseUnusable, SqlClient.SqlClient> =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const immediate = makeImmediateTransaction(sql)
    return yield* immediate(
      Effect.gen(function* () {
        const version = yield* recordedVersion(sql)
        if (version > latestVersion) {
          return yield* new DatabaseTooNew({ filename, databaseVersion: version, supportedVersion: latestVersion })
        }
        return yield* runMigrator({ loader: Migrator.fromRecord(migrationsUpTo(upTo)), table: migrationsTable })
      })
    )
  }).pipe(
    Effect.catchTags({
      SqlError: (error) =>
        Effect.fail(new DatabaseUnusable({ filename, reason: "migration-failed", detail: String(error.cause ?? error) })),
      MigrationError: (error) =>
        Effect.fail(new DatabaseUnusable({ filename, reason: "migration-failed", detail: error.message }))
    }),
    // Migrator turns a failing migration into a defect; the transaction has rolled back by now.
    Effect.catchAllDefect((defect) =>
      Effect.fail(new DatabaseUnusable({ filename, reason: "migration-failed", detail: describeDefect(defect) }))
    )
  )

const describeDefect = (defect: unknown): string => {
  if (defect instanceof Migrator.MigrationError) {
    return `${defect.message}: ${String((defect.cause as { cause?: unknown } | undefined)?.cause ?? defect.cause)}`
  }
  return String(defect)
}
