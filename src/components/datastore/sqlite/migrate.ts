/**
 * `migrate status` and `migrate up` for a deployment's SQLite file (mounted by
 * the CLI in main.ts). Status only reads; up applies the pending migrations in
 * one transaction. Both refuse files that are not ours.
 */
import { SqlClient } from "@effect/sql"
import { Effect } from "effect"
import { resolveOptions, type SqliteOptions } from "../Sqlite.js"
import { openClient } from "./Client.js"
import type { DatabaseTooNew, DatabaseUnusable } from "./errors.js"
import { inspectDatabase } from "./inspect.js"
import { latestVersion, migrations } from "./migrations.js"
import { applyMigrations } from "./migrator.js"

export interface MigrationStatusRow {
  readonly version: number
  readonly name: string
  /** `unknown`: recorded in the database but not known to this build (written by a newer one). */
  readonly state: "applied" | "pending" | "unknown"
  /** As SQLite recorded it (UTC, "YYYY-MM-DD HH:MM:SS"); null while pending. */
  readonly appliedAt: string | null
}

export interface MigrationStatus {
  readonly filename: string
  readonly exists: boolean
  readonly databaseVersion: number
  readonly supportedVersion: number
  readonly migrations: ReadonlyArray<MigrationStatusRow>
}

const known = Object.keys(migrations).map((key) => {
  const [, version, name] = /^(\d+)_(.+)$/.exec(key)!
  return { version: Number(version), name: name! }
})

/** What has been applied to `filename` and what is pending; writes nothing. */
export const migrationStatus = (filename: string): Effect.Effect<MigrationStatus, DatabaseUnusable> =>
  Effect.map(inspectDatabase(filename), (state) => {
    const applied = new Map(state.applied.map((m) => [m.version, m] as const))
    const rows: Array<MigrationStatusRow> = known.map(({ name, version }) => ({
      version,
      name,
      state: applied.has(version) ? "applied" : "pending",
      appliedAt: applied.get(version)?.appliedAt ?? null
    }))
    for (const m of state.applied) {
      if (m.version > latestVersion) rows.push({ version: m.version, name: m.name, state: "unknown", appliedAt: m.appliedAt })
    }
    return {
      filename,
      exists: state.exists,
      databaseVersion: state.version,
      supportedVersion: latestVersion,
      migrations: rows.sort((a, b) => a.version - b.version)
    }
  })

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
