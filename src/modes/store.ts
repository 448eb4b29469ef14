/**
 * The DataStore component a deployment's `store` section selects: one case
 * per store type (memory, sqlite, postgres). Each store's module is loaded
 * only by the deployments that use it, when the layer is built.
 */
import { resolve as resolvePath } from "node:path"
import { Duration, Effect, Layer } from "effect"
import type * as PostgresStore from "../components/datastore/Postgres.js"
import type * as SqliteStore from "../components/datastore/Sqlite.js"
import type { StoreSection } from "../config/DeploymentConfig.js"
import type { Deployment } from "../config/load.js"
import type { DataStore } from "../services/DataStore.js"
import type { EventBroker } from "../services/EventBroker.js"
import { component } from "./component.js"
import { lazyLayer } from "./lazy.js"
import { ComponentFailed } from "./StartupError.js"

/** The component's name in startup messages and logs. */
export const storeComponentName = (store: StoreSection): string => `store (${store.type})`

const millisOrNull = (duration: Duration.Duration | null) => (duration === null ? null : Duration.toMillis(duration))

/** SQLite options from the config; the file path is relative to the deployment directory. */
export const sqliteOptionsOf = (
  store: Extract<StoreSection, { type: "sqlite" }>,
  deployment: Deployment
): SqliteStore.SqliteOptions => ({
  filename: resolvePath(deployment.root, store.path),
  ...(store.synchronous !== undefined && { synchronous: store.synchronous === "full" ? "FULL" : "NORMAL" }),
  ...(store.busyTimeout !== undefined && { busyTimeoutMs: Duration.toMillis(store.busyTimeout) }),
  ...(store.executionLog !== undefined && {
    executionLog: {
      ...(store.executionLog.maxRows !== undefined && { maxRows: store.executionLog.maxRows }),
      ...(store.executionLog.maxAge !== undefined && { maxAgeMs: millisOrNull(store.executionLog.maxAge) })
    }
  })
})

/**
 * PostgreSQL options from the config: the URL from `url` (which SZ_STORE_URL
 * sets) or else from the environment variable `url_env` names.
 */
export const postgresOptionsOf = (
  store: Extract<StoreSection, { type: "postgres" }>,
  env: Readonly<Record<string, string | undefined>> = process.env
): Effect.Effect<PostgresStore.PostgresOptions, ComponentFailed> => {
  const url = store.url ?? (store.urlEnv === undefined ? undefined : env[store.urlEnv])
  if (url === undefined || url === "") {
    return Effect.fail(
      new ComponentFailed({
        component: storeComponentName(store),
        reason: `environment variable ${store.urlEnv} (store.url_env) is not set`
      })
    )
  }
  return Effect.succeed({
    url,
    ...(store.schema !== undefined && { schema: store.schema }),
    ...(store.maxConnections !== undefined && { maxConnections: store.maxConnections }),
    ...(store.synchronousCommit !== undefined && { synchronousCommit: store.synchronousCommit }),
    ...(store.connectTimeout !== undefined && { connectTimeoutMs: Duration.toMillis(store.connectTimeout) }),
    ...(store.reconnectTimeout !== undefined && { reconnectTimeoutMs: Duration.toMillis(store.reconnectTimeout) }),
    ...(store.executionLog !== undefined && {
      executionLog: {
        ...(store.executionLog.maxRows !== undefined && { maxRows: store.executionLog.maxRows }),
        ...(store.executionLog.maxAge !== undefined && { maxAgeMs: millisOrNull(store.executionLog.maxAge) })
      }
    })
  })
}

export const storeLayer = (deployment: Deployment): Layer.Layer<DataStore, ComponentFailed, EventBroker> => {
  const store = deployment.config.store
  switch (store.type) {
    case "memory":
      return component(
        storeComponentName(store),
        lazyLayer(() => import("../components/datastore/Memory.js"), (MemoryStore) => MemoryStore.layer)
      )
    case "sqlite":
      return component(
        storeComponentName(store),
        lazyLayer(
          () => import("../components/datastore/Sqlite.js"),
          (SqliteStore) => SqliteStore.layer(sqliteOptionsOf(store, deployment))
        )
      )
    case "postgres":
      return component(
        storeComponentName(store),
        Layer.unwrapEffect(
          Effect.map(postgresOptionsOf(store), (options) =>
            lazyLayer(() => import("../components/datastore/Postgres.js"), (Postgres) => Postgres.layer(options))
          )
        )
      )
  }
}
