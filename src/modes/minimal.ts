/**
 * `minimal` mode: the scheduler with the deployment's store (memory or SQLite),
 * the local event broker and local handlers; nothing listens on the network.
 *
 * Shared layers are single consts referenced wherever they are needed: a layer
 * is memoised by reference within one build, so the broker the store publishes
 * to is the very broker the scheduler subscribes to.
 */
import { Layer } from "effect"
import * as LocalBroker from "../components/broker/Local.js"
import type { Deployment } from "../config/load.js"
import * as SchedulerComponent from "../services/scheduler/layer.js"
import { component } from "./component.js"
import { configSeedLayer } from "./configSeed.js"
import { localHandlersLayer } from "./localHandlers.js"
import type { ModeDefinition } from "./Mode.js"
import { schedulerOptionsOf } from "./schedulerOptions.js"
import { storeLayer } from "./store.js"

const layer = (deployment: Deployment) => {
  const { config } = deployment
  const broker = component("broker (local)", LocalBroker.layer)
  const store = storeLayer(deployment).pipe(Layer.provide(broker))
  const handlers = localHandlersLayer(deployment)
  const scheduler = component("scheduler", SchedulerComponent.layer(schedulerOptionsOf(config.scheduler))).pipe(
    Layer.provide(Layer.mergeAll(store, handlers, broker))
  )
  const seed = component("config (tasks and schedules)", configSeedLayer(deployment)).pipe(Layer.provide(scheduler))
  return Layer.mergeAll(scheduler, store, handlers, broker, seed)
}

export const minimal: ModeDefinition = {
  name: "minimal",
  summary: "scheduler + store + local event broker + local handlers; no network listeners",
  layer
}
