/**
 * `minimal` mode: the scheduler with the deployment's store (memory or SQLite),
 * the local event broker, local handlers and the portal (HTTP API and
 * dashboard, unless `portal.enabled` is false); nothing on ZeroMQ.
 *
 * Shared layers are single consts referenced wherever they are needed: a layer
 * is memoised by reference within one build, so the broker the store publishes
 * to is the very broker the scheduler subscribes to.
 */
import { Layer } from "effect"
import * as LocalBroker from "../components/broker/Local.js"
import type { Deployment } from "../config/load.js"
import { logJobOutcomes } from "../log/jobLog.js"
import * as SchedulerComponent from "../services/scheduler/layer.js"
import { component } from "./component.js"
import { configSeedLayer } from "./configSeed.js"
import { localHandlersLayer } from "./localHandlers.js"
import { portalLayer } from "./portal.js"
import type { ModeDefinition } from "./Mode.js"
import { schedulerOptionsOf } from "./schedulerOptions.js"
import { storeLayer } from "./store.js"

const layer = (deployment: Deployment) => {
  const { config } = deployment
  const broker = component("broker (local)", LocalBroker.layer)
  const store = storeLayer(deployment).pipe(Layer.provide(broker))
  const handlers = localHandlersLayer(deployment)
  const jobLog = Layer.scopedDiscard(logJobOutcomes).pipe(Layer.provide(broker))
  // jobLog provides no service: it is given to the scheduler so that it is
  // subscribed before the scheduler runs its first job.
  const scheduler = component("scheduler", SchedulerComponent.layer(schedulerOptionsOf(config.scheduler))).pipe(
    Layer.provide(Layer.mergeAll(store, handlers, broker, jobLog))
  )
  const seed = component("config (tasks and schedules)", configSeedLayer(deployment)).pipe(Layer.provide(scheduler))
  const core = Layer.mergeAll(scheduler, store, handlers, broker, seed)
  // The portal starts last: it serves only once the config's tasks and schedules are in place.
  return Layer.provideMerge(portalLayer(config.portal), core)
}

export const minimal: ModeDefinition = {
  name: "minimal",
  summary: "scheduler + store + local event broker + local handlers + portal; nothing on ZeroMQ",
  layer
}
