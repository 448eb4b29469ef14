/**
 * The DataStore component a deployment's `store` section selects. Each store
 * type is one case here; SQLite and PostgreSQL join as further cases when they
 * are built (their config members join StoreSection at the same time).
 */
import type { Layer } from "effect"
import * as MemoryStore from "../components/datastore/Memory.js"
import type { StoreSection } from "../config/DeploymentConfig.js"
import type { DataStore } from "../services/DataStore.js"
import type { EventBroker } from "../services/EventBroker.js"
import { component } from "./component.js"
import type { ComponentFailed } from "./StartupError.js"

/** The component's name in startup messages and logs. */
export const storeComponentName = (store: StoreSection): string => `store (${store.type})`

export const storeLayer = (store: StoreSection): Layer.Layer<DataStore, ComponentFailed, EventBroker> => {
  switch (store.type) {
    case "memory":
      return component(storeComponentName(store), MemoryStore.layer)
  }
}
