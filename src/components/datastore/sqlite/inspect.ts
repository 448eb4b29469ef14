/**
 * Reads what a database file is, without changing it: absent, a fresh or
 * ScheduleZero database (with its applied migrations), or something we must not
 * touch (not SQLite, corrupt, another application's).
 */
import * as Reactivity from "@effect/experimental/Reactivity"
import type { SqlError } from "@effect/sql"
import * as SqliteClient from "@effect/sql-sqlite-node/SqliteClient"
import { Effect } from "effect"
import * as fs from "node:fs"
import { DatabaseTooNew, DatabaseUnusable } from "./errors.js"
import { applicationId, latestVersion, migrationsTable } from "./migrations.js"

export interface AppliedMigration {
  readonly version: number
  readonly name: string
  readonly appliedAt: string
}

export interface DatabaseState {
  /** False when there is no file yet (it will be created). */
  readonly exists: boolean
  readonly applied: ReadonlyArray<AppliedMigration>
  /** The highest applied version; 0 for a new database. */
  readonly version: number
}

const sqliteCode = (error: SqlError.SqlError): string =>
  String((error.cause as { code?: unknown } | undefined)?.code ?? "")

const sqliteMessage = (error: SqlError.SqlError): string =>
  String((error.cause as { message?: unknown } | undefined)?.message ?? error.message)

const unusable = (filename: string) => (error: SqlError.SqlError) => {
  const code = sqliteCode(error)
  const reason = code === "SQLITE_NOTADB" ? "not-sqlite" : code.startsWith("SQLITE_CORRUPT") ? "corrupt" : "cannot-open"
  return new DatabaseUnusable({ filename, reason, detail: sqliteMessage(error) })
}

const fileSize = (filename: string) =>
  Effect.try({
    try: () => {
      const stat = fs.statSync(filename, { throwIfNoEntry: false })
      if (stat !== undefined && !stat.isFile()) throw new Error("not a regular file")
      return stat?.size
    },
    catch: (cause) => new DatabaseUnusable({ filename, reason: "cannot-open", detail: String(cause) })
  })

const readState = (filename: string, client: SqliteClient.SqliteClient) =>
  Effect.gen(function* () {
    const tables = yield* client<{ name: string }>`SELECT name FROM sqlite_master WHERE type = 'table'`
    const [{ application_id: appId }] = yield* client<{ application_id: number }>`PRAGMA application_id`
    const names = tables.map((table) => table.name).filter((name) => !name.startsWith("sqlite_"))
    if (appId !== 0 && appId !== applicationId) {
      return yield* new DatabaseUnusable({
        filename,
        reason: "foreign-schema",
        detail: `its application id is 0x${appId.toString(16)}, ours is 0x${applicationId.toString(16)}`
      })
    }
    if (names.length > 0 && !names.includes(migrationsTable)) {
      return yield* new DatabaseUnusable({
        filename,
        reason: "foreign-schema",
        detail: `it has tables ${names.slice(0, 5).join(", ")}${names.length > 5 ? ", …" : ""} but no ${migrationsTable}`
      })
    }
    // quick_check, not integrity_check (run at every start): it verifies every page, b-tree and
    // record, which is what a truncated, overwritten or foreign-written file breaks, in time linear
    // in the file. integrity_check also matches every index entry against its row, two to three
    // times slower on a large execution log; an index out of step with its table is not damage a
    // crash leaves (WAL commits are atomic at any synchronous level) and `REINDEX` repairs it.
    const check = yield* client<{ quick_check: string }>`PRAGMA quick_check`
    const problems = check.map((row) => row.quick_check).filter((line) => line !== "ok")
    if (problems.length > 0) {
      return yield* new DatabaseUnusable({ filename, reason: "corrupt", detail: problems.join("; ").slice(0, 500) })
    }
    if (names.length === 0) return { exists: true, applied: [], version: 0 }
    const rows = yield* client<{ migration_id: number; name: string; created_at: string }>`
      SELECT migration_id, name, created_at FROM ${client(migrationsTable)} ORDER BY migration_id`
    const applied = rows.map((row) => ({ version: row.migration_id, name: row.name, appliedAt: row.created_at }))
    return { exists: true, applied, version: Math.max(0, ...applied.map((m) => m.version)) }
  })

/** Inspects `filename` through a read-only connection (nothing is written, not even the journal mode). */
export const inspectDatabase = (filename: string): Effect.Effect<DatabaseState, DatabaseUnusable> =>
  Effect.gen(function* () {
    const size = yield* fileSize(filename)
    if (size === undefined) return { exists: false, applied: [], version: 0 }
    if (size === 0) return { exists: true, applied: [], version: 0 }
    return yield* Effect.scoped(
      Effect.gen(function* () {
        const client = yield* SqliteClient.make({ filename, readonly: true, disableWAL: true })
        return yield* readState(filename, client).pipe(
          Effect.catchTag("SqlError", (error) => Effect.fail(unusable(filename)(error)))
        )
      })
    ).pipe(
      Effect.provide(Reactivity.layer),
      Effect.catchAllDefect((defect) =>
        Effect.fail(new DatabaseUnusable({ filename, reason: "cannot-open", detail: String(defect) }))
      )
    )
  })

/** Refuses a database written by a newer build. */
export const ensureSupported = (filename: string, state: DatabaseState): Effect.Effect<void, DatabaseTooNew> =>
  state.version > latestVersion
    ? Effect.fail(new DatabaseTooNew({ filename, databaseVersion: state.version, supportedVersion: latestVersion }))
    : Effect.void
