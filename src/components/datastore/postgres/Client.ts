/**
 * Connections to the PostgreSQL database of a deployment: a pool whose
 * connections use the configured schema (search_path), with bigint read as a
 * JavaScript number (sequence numbers and counts stay far below 2^53).
 *
 * `ClientLive` is a single top-level layer: the store and the execution log
 * are provided from it, so they share one pool, opened once and migrated to
 * the latest schema.
 */
import * as Reactivity from "@effect/experimental/Reactivity"
import { SqlClient } from "@effect/sql"
import * as PgClient from "@effect/sql-pg/PgClient"
import { Context, Effect, Layer, Redacted, type Scope } from "effect"
import pg from "pg"
import { type PostgresLocation, type PostgresRefused, PostgresUnusable } from "./errors.js"
import { applyMigrations } from "./migrator.js"
import { schemaNamePattern } from "./schemaName.js"

export interface PostgresStoreConfig {
  readonly url: Redacted.Redacted<string>
  /** Where the tables live; created when absent. */
  readonly schema: string
  readonly maxConnections: number
  /** "on" waits for each commit to reach disk; "off" answers first (a server crash can lose the last moments of commits). */
  readonly synchronousCommit: "on" | "off"
  readonly connectTimeoutMs: number
  /** How long an operation keeps retrying while the database is unreachable (a restart) before it gives up. */
  readonly reconnectTimeoutMs: number
  /** Execution log retention, applied by cleanup; null = unbounded. */
  readonly executionLogMaxRows: number | null
  readonly executionLogMaxAgeMs: number | null
}

export class PostgresStoreOptions extends Context.Tag("schedulezero/PostgresStoreOptions")<
  PostgresStoreOptions,
  PostgresStoreConfig
>() {}


/** `host:port/database` of the URL, for messages (never the user or password). */
export const describeUrl = (url: Redacted.Redacted<string>): string => {
  try {
    const parsed = new URL(Redacted.value(url))
    return `${parsed.hostname}:${parsed.port || "5432"}${parsed.pathname}`
  } catch {
    return "<unparseable url>"
  }
}

export const locationOf = (config: Pick<PostgresStoreConfig, "url" | "schema">): PostgresLocation => ({
  database: describeUrl(config.url),
  schema: config.schema
})

const int8 = 20
const types = {
  getTypeParser: ((oid: number, format?: "text" | "binary") =>
    oid === int8 && format !== "binary" ? Number : pg.types.getTypeParser(oid, format)) as typeof pg.types.getTypeParser
}

/**
 * Marks a statement (its text starts with it) as prepared: the first time a connection runs
 * it, it is parsed into a named statement kept for the connection's life; later runs send
 * only its parameters. Sent unnamed, each of the hot statements (a schedule lease or
 * release, a settle, a look for jobs; a few kilobytes of CTEs) was parsed anew, up to
 * 0.4 ms of server CPU a run. Only for statements whose text is fixed (lists as array parameters); each run is
 * still planned for its parameters (plan_cache_mode, see connectionSettings).
 */
export const preparedMarker = "/*prepared*/ "

/** Statement names by text, for the whole process (a connection prepares those it runs). */
const preparedNames = new Map<string, string>()

const nameOf = (text: string): string => {
  let name = preparedNames.get(text)
  if (name === undefined) {
    name = `sz_${preparedNames.size}`
    preparedNames.set(text, name)
  }
  return name
}

/** The pool's client: runs statements marked with preparedMarker as named statements. */
class PreparingClient extends pg.Client {
  override query(config: unknown, values?: unknown, callback?: unknown): never {
    const run = super.query as (...args: Array<unknown>) => never
    if (typeof config === "string" && config.startsWith(preparedMarker)) {
      return run.call(this, { name: nameOf(config), text: config }, values, callback)
    }
    return run.call(this, config, values, callback)
  }
}

/** The pool settings every connection of ours uses (the broker's LISTEN connection too). */
export const connectionSettings = (config: PostgresStoreConfig, applicationName: string): pg.PoolConfig => ({
  connectionString: Redacted.value(config.url),
  // No JIT: our statements run in milliseconds, and a plan estimated past jit_above_cost (a sort of
  // many rows) spent ~0.9 s compiling here. Prepared statements (preparedMarker) are planned for
  // their parameters each run, as unnamed ones are: a generic plan knows nothing of an array's
  // length, and the same release or settle joins ten rows in one call and a thousand in the next.
  options: `-c search_path=${config.schema} -c synchronous_commit=${config.synchronousCommit} -c jit=off ` +
    "-c plan_cache_mode=force_custom_plan",
  connectionTimeoutMillis: config.connectTimeoutMs,
  application_name: applicationName,
  types
})

/** A client on a new pool (closed with the scope); fails with cannot-connect unless a first query succeeds. */
export const openClient = (
  config: PostgresStoreConfig,
  options: { readonly applicationName: string; readonly maxConnections: number }
): Effect.Effect<PgClient.PgClient, PostgresUnusable, Scope.Scope> =>
  Effect.gen(function* () {
    const location = locationOf(config)
    if (!schemaNamePattern.test(config.schema)) {
      return yield* new PostgresUnusable({
        location,
        reason: "cannot-connect",
        detail: `schema name '${config.schema}' must be a lowercase identifier (a-z, 0-9, _)`
      })
    }
    const client = yield* PgClient.fromPool({
      acquire: Effect.acquireRelease(
        Effect.sync(() => {
          const pool = new pg.Pool({
            ...connectionSettings(config, options.applicationName),
            max: options.maxConnections,
            Client: PreparingClient
          })
          // Idle connections that the server closes (a restart) are dropped by the pool; nothing to do here.
          pool.on("error", () => {})
          return pool
        }),
        (pool) => Effect.promise(() => pool.end()).pipe(Effect.timeoutOption("2 seconds"))
      ),
      applicationName: options.applicationName
    }).pipe(Effect.provide(Reactivity.layer))
    yield* client`SELECT 1`.pipe(
      Effect.mapError((error) => new PostgresUnusable({ location, reason: "cannot-connect", detail: causeMessage(error) }))
    )
    return client
  }).pipe(
    Effect.catchTag("SqlError", (error) =>
      Effect.fail(new PostgresUnusable({ location: locationOf(config), reason: "cannot-connect", detail: causeMessage(error) }))
    )
  )

/** The driver's message behind an SqlError (the SqlError's own message is generic). */
export const causeMessage = (error: { readonly message: string; readonly cause?: unknown }): string => {
  const cause = error.cause as { message?: unknown } | undefined
  return typeof cause?.message === "string" && cause.message !== "" ? cause.message : error.message
}

/** The store's client, opened from PostgresStoreOptions and migrated to the latest schema. */
export const ClientLive: Layer.Layer<
  PgClient.PgClient | SqlClient.SqlClient,
  PostgresRefused,
  PostgresStoreOptions
> = Layer.scopedContext(
  Effect.gen(function* () {
    const config = yield* PostgresStoreOptions
    const client = yield* openClient(config, { applicationName: "schedulezero-store", maxConnections: config.maxConnections })
    yield* applyMigrations(locationOf(config)).pipe(Effect.provideService(SqlClient.SqlClient, client))
    return Context.make(PgClient.PgClient, client).pipe(Context.add(SqlClient.SqlClient, client))
  })
)
