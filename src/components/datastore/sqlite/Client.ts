/**
 * The one SQLite connection of a process: checked (ours, not newer, not corrupt)
 * before it is opened for writing, tuned (WAL, synchronous, busy timeout,
 * foreign keys) and migrated to the latest schema.
 *
 * `ClientLive` is a single top-level layer: every component that needs the
 * database (the store, the execution log) is provided from it, so the
 * connection is built once per layer graph.
 */
import * as Reactivity from "@effect/experimental/Reactivity"
import { SqlClient } from "@effect/sql"
import * as SqliteClient from "@effect/sql-sqlite-node/SqliteClient"
import { Context, Effect, Layer, type Scope } from "effect"
import * as fs from "node:fs"
import * as path from "node:path"
import { type DatabaseTooNew, DatabaseUnusable } from "./errors.js"
import { ensureSupported, inspectDatabase } from "./inspect.js"
import { applyMigrations } from "./migrator.js"

export interface SqliteStoreConfig {
  readonly filename: string
  /** NORMAL (default) can lose the last commits on power loss, never corrupts; FULL syncs every commit. */
  readonly synchronous: "NORMAL" | "FULL"
  /** How long a writer waits for another process's write lock before failing. */
  readonly busyTimeoutMs: number
  /** Execution log retention, applied by cleanup; null = unbounded. */
  readonly executionLogMaxRows: number | null
  readonly executionLogMaxAgeMs: number | null
}

export class SqliteStoreOptions extends Context.Tag("schedulezero/SqliteStoreOptions")<
  SqliteStoreOptions,
  SqliteStoreConfig
>() {}

const pragmas = (config: SqliteStoreConfig) => [
  `PRAGMA busy_timeout = ${Math.max(0, Math.round(config.busyTimeoutMs))}`,
  `PRAGMA synchronous = ${config.synchronous}`,
  "PRAGMA foreign_keys = ON"
]

const ensureDirectory = (filename: string) =>
  Effect.try({
    try: () => fs.mkdirSync(path.dirname(path.resolve(filename)), { recursive: true }),
    catch: (cause) => new DatabaseUnusable({ filename, reason: "cannot-open", detail: String(cause) })
  })

/**
 * Opens `config.filename` for writing after checking it is new or ours and not
 * newer than this build; nothing is written to a refused file. Not migrated.
 */
export const openClient = (
  config: SqliteStoreConfig
): Effect.Effect<SqliteClient.SqliteClient, DatabaseTooNew | DatabaseUnusable, Scope.Scope> =>
  Effect.gen(function* () {
    const { filename } = config
    const state = yield* inspectDatabase(filename)
    yield* ensureSupported(filename, state)
    yield* ensureDirectory(filename)
    const client = yield* SqliteClient.make({ filename }).pipe(
      Effect.provide(Reactivity.layer),
      Effect.catchAllDefect((defect) =>
        Effect.fail(new DatabaseUnusable({ filename, reason: "cannot-open", detail: String(defect) }))
      )
    )
    for (const pragma of pragmas(config)) {
      yield* client.unsafe(pragma).pipe(
        Effect.mapError((error) => new DatabaseUnusable({ filename, reason: "cannot-open", detail: String(error.cause) }))
      )
    }
    return client
  })

/** The process's SQLite client, opened from SqliteStoreOptions and migrated to the latest schema. */
export const ClientLive: Layer.Layer<
  SqliteClient.SqliteClient | SqlClient.SqlClient,
  DatabaseTooNew | DatabaseUnusable,
  SqliteStoreOptions
> = Layer.scopedContext(
  Effect.gen(function* () {
    const config = yield* SqliteStoreOptions
    const client = yield* openClient(config)
    yield* applyMigrations(config.filename).pipe(Effect.provideService(SqlClient.SqlClient, client))
    return Context.make(SqliteClient.SqliteClient, client).pipe(Context.add(SqlClient.SqlClient, client))
  })
)
