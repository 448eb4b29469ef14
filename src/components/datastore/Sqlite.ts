/**
 * The `sqlite` DataStore component (the embedded default): the store and its
 * execution log on one SQLite file. Requires an EventBroker.
 *
 * The file is checked before anything is written (a newer, foreign or corrupt
 * database is refused with DatabaseTooNew / DatabaseUnusable), then migrated in
 * place to the latest schema.
 */
import { Layer } from "effect"
import { DataStore } from "../../services/DataStore.js"
import type { EventBroker } from "../../services/EventBroker.js"
import { ExecutionLog } from "../../services/ExecutionLog.js"
import { ClientLive, type SqliteStoreConfig, SqliteStoreOptions } from "./sqlite/Client.js"
import type { DatabaseRefused } from "./sqlite/errors.js"
import * as SqliteExecutionLog from "./sqlite/ExecutionLog.js"
import * as SqliteStore from "./sqlite/Store.js"

export { DatabaseTooNew, DatabaseUnusable, type DatabaseRefused } from "./sqlite/errors.js"

export interface SqliteOptions {
  /** Path of the database file; created (with its directory) when absent. */
  readonly filename: string
  /** Default NORMAL (durable across crashes of the process, may lose the last commits on power loss); FULL syncs each commit. */
  readonly synchronous?: "NORMAL" | "FULL"
  /** How long to wait for another process's write lock; default 5000 ms. */
  readonly busyTimeoutMs?: number
  /** Execution log retention, applied by cleanup: newest `maxRows` (default 1,000,000), younger than `maxAgeMs` (default 30 days); null = no bound. */
  readonly executionLog?: { readonly maxRows?: number | null; readonly maxAgeMs?: number | null }
}

export const defaults = {
  synchronous: "NORMAL",
  busyTimeoutMs: 5000,
  executionLogMaxRows: 1_000_000,
  executionLogMaxAgeMs: 30 * 24 * 60 * 60 * 1000
} as const

export const resolveOptions = (options: SqliteOptions): SqliteStoreConfig => ({
  filename: options.filename,
  synchronous: options.synchronous ?? defaults.synchronous,
  busyTimeoutMs: options.busyTimeoutMs ?? defaults.busyTimeoutMs,
  executionLogMaxRows:
    options.executionLog?.maxRows === undefined ? defaults.executionLogMaxRows : options.executionLog.maxRows,
  executionLogMaxAgeMs:
    options.executionLog?.maxAgeMs === undefined ? defaults.executionLogMaxAgeMs : options.executionLog.maxAgeMs
})

const StoreLive = Layer.effect(DataStore, SqliteStore.make)
const ExecutionLogLive = Layer.effect(ExecutionLog, SqliteExecutionLog.make)

/** DataStore and ExecutionLog on one SQLite file (one connection, shared by both). */
export const layer = (options: SqliteOptions): Layer.Layer<DataStore | ExecutionLog, DatabaseRefused, EventBroker> =>
  Layer.mergeAll(StoreLive, ExecutionLogLive).pipe(
    Layer.provide(ClientLive),
    Layer.provide(Layer.succeed(SqliteStoreOptions, resolveOptions(options)))
  )
