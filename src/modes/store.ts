/**
 * The DataStore component a deployment's `store` section selects. Each store
 * type is one case here; PostgreSQL joins as a further case when it is built
 * (its config member joins StoreSection at the same time).
 */
import { resolve as resolvePath } from "node:path"
import { Duration, type Layer } from "effect"
import * as MemoryStore from "../components/datastore/Memory.js"
import * as SqliteStore from "../components/datastore/Sqlite.js"
import type { StoreSection } from "../config/DeploymentConfig.js"
import type { Deployment } from "../config/load.js"
import type { DataStore } from "../services/DataStore.js"
import type { EventBroker } from "../services/EventBroker.js"
import { component } from "./component.js"
import type { ComponentFailed } from "./StartupError.js"

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

export const storeLayer = (deployment: Deployment): Layer.Layer<DataStore, ComponentFailed, EventBroker> => {
  const store = deployment.config.store
  switch (store.type) {
    case "memory":
      return component(storeComponentName(store), MemoryStore.layer)
    case "sqlite":
      return component(storeComponentName(store), SqliteStore.layer(sqliteOptionsOf(store, deployment)))
  }
}
