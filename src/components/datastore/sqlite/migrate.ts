/**
 * `migrate status` and `migrate up` for a deployment's SQLite file (mounted by
 * the CLI in main.ts). Status only reads; up applies the pending migrations in
 * one transaction. Both refuse files that are not ours.
 */
import { SqlClient } from "@effect/sql"
import { Effect } from "effect"
import { type MigrationStatusRow, statusRows } from "../sql/migrationStatus.js"
import { resolveOptions, type SqliteOptions } from "../Sqlite.js"
import { openClient } from "./Client.js"
import type { DatabaseTooNew, DatabaseUnusable } from "./errors.js"
import { inspectDatabase } from "./inspect.js"
import { latestVersion, migrations } from "./migrations.js"
import { applyMigrations } from "./migrator.js"

export interface MigrationStatus {
  readonly filename: string
  readonly exists: boolean
  readonly databaseVersion: number
  readonly supportedVersion: number
  readonly migrations: ReadonlyArray<MigrationStatusRow>
}

/** What has been applied to `filename` and what is pending; writes nothing. */
export const migrationStatus = (filename: string): Effect.Effect<MigrationStatus, DatabaseUnusable> =>
  Effect.map(inspectDatabase(filename), (state) => ({
    filename,
    exists: state.exists,
    databaseVersion: state.version,
    supportedVersion: latestVersion,
    migrations: statusRows(migrations, state.applied)
  }))

/** Applies the pending migrations (creating the file when absent); returns those that ran. */
export const migrateUp = (
  options: SqliteOptions
): Effect.Effect<ReadonlyArray<{ readonly version: number; readonly name: string }>, DatabaseTooNew | DatabaseUnusable> =>
  Effect.scoped(
    Effect.gen(function* () {
      const config = resolveOptions(options)
      const client = yield* openClient(config)
      const ran = yield* applyMigrations(config.filename).pipe(Effect.provideService(SqlClient.SqlClient, client))
      return ran.map(([version, name]) => ({ version, name }))
    })
  )
