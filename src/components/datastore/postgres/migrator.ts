/**
 * Applies the migrations in one transaction that first takes an advisory lock
 * for the schema: schedulers starting together on an empty database wait for
 * each other, and the later ones find nothing to do. The schema's state is
 * read under that lock, so a schema written by a newer build, or one holding
 * another application's tables, is refused before anything is written.
 */
import { SqlClient } from "@effect/sql"
import * as Migrator from "@effect/sql/Migrator"
import { Effect } from "effect"
import { type PostgresLocation, PostgresTooNew, PostgresUnusable } from "./errors.js"
import { latestVersion, migrations, migrationsTable } from "./migrations.js"

// No schema dump: it would shell out to pg_dump.
const runMigrator = Migrator.make({})

export interface AppliedMigration {
  readonly version: number
  readonly name: string
  readonly appliedAt: Date
}

export interface SchemaState {
  /** Tables in the schema other than the migrations table. */
  readonly tables: ReadonlyArray<string>
  readonly hasMigrationsTable: boolean
  readonly applied: ReadonlyArray<AppliedMigration>
  /** The highest applied version; 0 for an empty schema. */
  readonly version: number
}

/** What the schema holds; reads only. */
export const readSchemaState = (schema: string) =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const names = (yield* sql<{ name: string }>`
      SELECT table_name AS name FROM information_schema.tables WHERE table_schema = ${schema}`).map((row) => row.name)
    const hasMigrationsTable = names.includes(migrationsTable)
    const applied = hasMigrationsTable
      ? (yield* sql<{ migration_id: number; name: string; created_at: Date }>`
          SELECT migration_id, name, created_at FROM ${sql(schema)}.${sql(migrationsTable)} ORDER BY migration_id`).map(
          (row) => ({ version: row.migration_id, name: row.name, appliedAt: row.created_at })
        )
      : []
    const state: SchemaState = {
      tables: names.filter((name) => name !== migrationsTable),
      hasMigrationsTable,
      applied,
      version: Math.max(0, ...applied.map((m) => m.version))
    }
    return state
  })

/** Why the schema is another application's (tables, none of them ours); undefined when it is not. */
export const foreignSchema = (location: PostgresLocation, state: SchemaState): PostgresUnusable | undefined => {
  if (state.hasMigrationsTable || state.tables.length === 0) return undefined
  const shown = state.tables.slice(0, 5).join(", ") + (state.tables.length > 5 ? ", …" : "")
  return new PostgresUnusable({ location, reason: "foreign-schema", detail: `it has tables ${shown} but no ${migrationsTable}` })
}

/** The migrations up to `upTo` (default: all), keyed as Migrator.fromRecord expects. */
export const migrationsUpTo = (upTo: number = latestVersion) =>
  Object.fromEntries(Object.entries(migrations).filter(([key]) => Number.parseInt(key, 10) <= upTo))

/**
 * Brings the schema `location.schema` to version `upTo` (default: latest),
 * creating it when absent; returns the migrations that ran.
 */
export const applyMigrations = (
  location: PostgresLocation,
  upTo: number = latestVersion
): Effect.Effect<ReadonlyArray<readonly [version: number, name: string]>, PostgresTooNew | PostgresUnusable, SqlClient.SqlClient> =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const { schema } = location
    return yield* sql.withTransaction(
      Effect.gen(function* () {
        yield* sql`SELECT pg_advisory_xact_lock(hashtext(${`schedulezero:${schema}`}))`
        const state = yield* readSchemaState(schema)
        if (state.version > latestVersion) {
          return yield* new PostgresTooNew({ location, databaseVersion: state.version, supportedVersion: latestVersion })
        }
        const foreign = foreignSchema(location, state)
        if (foreign !== undefined) return yield* foreign
        yield* sql`CREATE SCHEMA IF NOT EXISTS ${sql(schema)}`
        // Created here rather than by the Migrator, whose probe for it would abort this transaction.
        yield* sql`CREATE TABLE IF NOT EXISTS ${sql(schema)}.${sql(migrationsTable)} (
          migration_id integer PRIMARY KEY,
          created_at timestamptz NOT NULL DEFAULT now(),
          name text NOT NULL
        )`
        return yield* runMigrator({ loader: Migrator.fromRecord(migrationsUpTo(upTo)), table: migrationsTable })
      })
    )
  }).pipe(
    Effect.catchTags({
      SqlError: (error) =>
        Effect.fail(
          new PostgresUnusable({ location, reason: "migration-failed", detail: String(error.cause ?? error) })
        ),
      MigrationError: (error) => Effect.fail(new PostgresUnusable({ location, reason: "migration-failed", detail: error.message }))
    }),
    // Migrator turns a failing migration into a defect; the transaction has rolled back by now.
    Effect.catchAllDefect((defect) =>
      Effect.fail(new PostgresUnusable({ location, reason: "migration-failed", detail: describeDefect(defect) }))
    )
  )

const describeDefect = (defect: unknown): string => {
  if (defect instanceof Migrator.MigrationError) {
    return `${defect.message}: ${String((defect.cause as { cause?: unknown } | undefined)?.cause ?? defect.cause)}`
  }
  return String(defect)
}
