/**
 * `migrate status` and `migrate up` for a deployment's PostgreSQL schema
 * (mounted by the CLI in main.ts). Status only reads; up applies the pending
 * migrations as the store does at start (one transaction under the schema's
 * advisory lock). Both refuse a schema that is not ours; up refuses one a
 * newer build wrote.
 */
import { SqlClient } from "@effect/sql"
import { Effect } from "effect"
import { resolveOptions, type PostgresOptions } from "../Postgres.js"
import { type MigrationStatusRow, statusRows } from "../sql/migrationStatus.js"
import { causeMessage, locationOf, openClient } from "./Client.js"
import { type PostgresLocation, type PostgresTooNew, PostgresUnusable } from "./errors.js"
import { latestVersion, migrations } from "./migrations.js"
import { applyMigrations, foreignSchema, readSchemaState } from "./migrator.js"

export interface PostgresMigrationStatus {
  readonly location: PostgresLocation
  /** False while the schema has no migrations table yet (up creates it). */
  readonly exists: boolean
  readonly databaseVersion: number
  readonly supportedVersion: number
  readonly migrations: ReadonlyArray<MigrationStatusRow>
}

/** Where the options point, as messages name it. */
export const locationFor = (options: PostgresOptions): PostgresLocation => locationOf(resolveOptions(options))

const connect = (options: PostgresOptions) => {
  const config = resolveOptions(options)
  return Effect.map(openClient(config, { applicationName: "schedulezero-migrate", maxConnections: 1 }), (client) => ({
    client,
    location: locationOf(config)
  }))
}

/** What has been applied to the schema and what is pending; writes nothing. */
export const migrationStatus = (options: PostgresOptions): Effect.Effect<PostgresMigrationStatus, PostgresUnusable> =>
  Effect.scoped(
    Effect.gen(function* () {
      const { client, location } = yield* connect(options)
      const state = yield* readSchemaState(location.schema).pipe(
        Effect.provideService(SqlClient.SqlClient, client),
        Effect.mapError((error) => new PostgresUnusable({ location, reason: "cannot-connect", detail: causeMessage(error) }))
      )
      const foreign = foreignSchema(location, state)
      if (foreign !== undefined) return yield* foreign
      const applied = state.applied.map((m) => ({ ...m, appliedAt: m.appliedAt.toISOString() }))
      return {
        location,
        exists: state.hasMigrationsTable,
        databaseVersion: state.version,
        supportedVersion: latestVersion,
        migrations: statusRows(migrations, applied)
      }
    })
  )

/** Applies the pending migrations (creating the schema when absent); returns those that ran. */
export const migrateUp = (
  options: PostgresOptions
): Effect.Effect<ReadonlyArray<{ readonly version: number; readonly name: string }>, PostgresTooNew | PostgresUnusable> =>
  Effect.scoped(
    Effect.gen(function* () {
      const { client, location } = yield* connect(options)
      const ran = yield* applyMigrations(location).pipe(Effect.provideService(SqlClient.SqlClient, client))
      return ran.map(([version, name]) => ({ version, name }))
    })
  )
