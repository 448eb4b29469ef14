/**
 * The `postgres` DataStore component: the store and its execution log in one
 * PostgreSQL database (in the configured schema), shared by any number of
 * schedulers. Requires an EventBroker; give it the postgres broker
 * (broker/Postgres.ts) so that schedulers on other machines hear its events.
 *
 * The schema is checked before anything is written (a newer one, or one with
 * another application's tables, is refused with PostgresTooNew /
 * PostgresUnusable), then migrated in place to the latest version.
 */
import { Layer, Redacted } from "effect"
import { DataStore } from "../../services/DataStore.js"
import type { EventBroker } from "../../services/EventBroker.js"
import { ExecutionLog } from "../../services/ExecutionLog.js"
import { ClientLive, type PostgresStoreConfig, PostgresStoreOptions } from "./postgres/Client.js"
import type { PostgresRefused } from "./postgres/errors.js"
import * as PostgresExecutionLog from "./postgres/ExecutionLog.js"
import * as PostgresStore from "./postgres/Store.js"

export { PostgresTooNew, PostgresUnusable, type PostgresRefused } from "./postgres/errors.js"

export interface PostgresOptions {
  /** `postgres://user:password@host:port/database` (a secret: take it from the environment). */
  readonly url: string | Redacted.Redacted<string>
  /** Schema of the tables, created when absent; default `public`. Lowercase identifier. */
  readonly schema?: string
  /** Connections in the store's pool; default 10. */
  readonly maxConnections?: number
  /**
   * "on" (default): a commit returns once it is on disk. "off": it returns at
   * once; a crash of the server (not a restart) can lose the last ~0.6 s of
   * commits, after which a job may run again. Like SQLite's synchronous NORMAL vs FULL.
   */
  readonly synchronousCommit?: "on" | "off"
  /** How long to wait for a connection; default 5000 ms. */
  readonly connectTimeoutMs?: number
  /** How long an operation retries while the server is unreachable (a restart, a failover); default 60,000 ms. */
  readonly reconnectTimeoutMs?: number
  /** Execution log retention, applied by cleanup: newest `maxRows` (default 1,000,000), younger than `maxAgeMs` (default 30 days); null = no bound. */
  readonly executionLog?: { readonly maxRows?: number | null; readonly maxAgeMs?: number | null }
}

export const defaults = {
  schema: "public",
  maxConnections: 10,
  synchronousCommit: "on",
  connectTimeoutMs: 5000,
  reconnectTimeoutMs: 60_000,
  executionLogMaxRows: 1_000_000,
  executionLogMaxAgeMs: 30 * 24 * 60 * 60 * 1000
} as const

export const resolveOptions = (options: PostgresOptions): PostgresStoreConfig => ({
  url: typeof options.url === "string" ? Redacted.make(options.url) : options.url,
  schema: options.schema ?? defaults.schema,
  maxConnections: options.maxConnections ?? defaults.maxConnections,
  synchronousCommit: options.synchronousCommit ?? defaults.synchronousCommit,
  connectTimeoutMs: options.connectTimeoutMs ?? defaults.connectTimeoutMs,
  reconnectTimeoutMs: options.reconnectTimeoutMs ?? defaults.reconnectTimeoutMs,
  executionLogMaxRows:
    options.executionLog?.maxRows === undefined ? defaults.executionLogMaxRows : options.executionLog.maxRows,
  executionLogMaxAgeMs:
    options.executionLog?.maxAgeMs === undefined ? defaults.executionLogMaxAgeMs : options.executionLog.maxAgeMs
})

const StoreLive = Layer.scoped(DataStore, PostgresStore.make)
const ExecutionLogLive = Layer.effect(ExecutionLog, PostgresExecutionLog.make)

/** DataStore and ExecutionLog on one PostgreSQL pool. */
export const layer = (options: PostgresOptions): Layer.Layer<DataStore | ExecutionLog, PostgresRefused, EventBroker> => {
  const config = Layer.succeed(PostgresStoreOptions, resolveOptions(options))
  return Layer.mergeAll(StoreLive, ExecutionLogLive).pipe(
    Layer.provide(Layer.merge(ClientLive, config)),
    Layer.provide(config)
  )
}
