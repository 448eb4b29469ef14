/**
 * `store: { type: postgres }`: the tables in a PostgreSQL database shared by
 * several schedulers (and their portals). The URL is a secret: give it in
 * the environment, as SZ_STORE_URL (the loader's override of `store.url`) or
 * in the variable that `url_env` names (read when the store starts).
 *
 * ```yaml
 * store:
 *   type: postgres
 *   url_env: SZ_PG_URL          # or url: (better: SZ_STORE_URL in the environment)
 *   schema: schedulezero        # default public; created when absent
 *   max_connections: 10
 *   synchronous_commit: "on"    # "off": faster commits; a server crash may lose the last ~0.6 s
 *   connect_timeout: 5s
 *   reconnect_timeout: 60s      # how long operations retry while the server is unreachable
 *   execution_log: { max_rows: 1000000, max_age: 30d }
 * ```
 */
import { Schema } from "effect"
import { schemaNamePattern } from "../../components/datastore/postgres/schemaName.js"
import {
  containing,
  expecting,
  NullablePositiveDuration,
  NullablePositiveInt,
  oneOf,
  optionalKey,
  PositiveDuration,
  PositiveInt
} from "../fields.js"

/** A connection URL; messages never repeat it (it may hold a password). */
const PostgresUrl = Schema.String.pipe(
  Schema.pattern(/^postgres(ql)?:\/\/\S+$/),
  Schema.annotations({
    message: () => ({ message: "expected a URL postgres://user:password@host:port/database", override: true })
  })
)

const EnvName = Schema.String.pipe(
  Schema.pattern(/^[A-Za-z_][A-Za-z0-9_]*$/),
  expecting("the name of an environment variable")
)

const SchemaName = Schema.String.pipe(
  Schema.pattern(schemaNamePattern),
  expecting("a lowercase identifier (a-z, 0-9, _; at most 63)")
)

export const PostgresStore = Schema.Struct({
  type: Schema.Literal("postgres"),
  url: Schema.optionalWith(PostgresUrl, { exact: true }),
  urlEnv: optionalKey("url_env", EnvName),
  schema: Schema.optionalWith(SchemaName, { exact: true }),
  maxConnections: optionalKey("max_connections", PositiveInt),
  synchronousCommit: optionalKey("synchronous_commit", oneOf("on", "off")),
  connectTimeout: optionalKey("connect_timeout", PositiveDuration),
  reconnectTimeout: optionalKey("reconnect_timeout", PositiveDuration),
  executionLog: optionalKey(
    "execution_log",
    Schema.Struct({
      /** Newest rows kept; null = no bound. */
      maxRows: optionalKey("max_rows", NullablePositiveInt),
      /** Age beyond which rows are deleted; null = no bound. */
      maxAge: optionalKey("max_age", NullablePositiveDuration)
    }).pipe(containing("a mapping"))
  )
}).pipe(
  containing("a mapping"),
  Schema.filter(
    (store) =>
      store.url !== undefined ||
      store.urlEnv !== undefined ||
      "give the database as url_env (an environment variable holding the URL) or url (e.g. from SZ_STORE_URL)"
  )
)
export type PostgresStore = typeof PostgresStore.Type
