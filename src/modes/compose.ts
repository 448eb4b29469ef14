/**
 * The layer graph every mode builds, with the optional components switched
 * on or off by the deployment's config or, where it is silent, by the mode's
 * defaults. Always: the deployment's store, the local event broker, local
 * handlers, the scheduler and the config's tasks and schedules.
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
import * as BoundAddresses from "./BoundAddresses.js"
import { component } from "./component.js"
import { configSeedLayer } from "./configSeed.js"
import { localHandlersLayer } from "./localHandlers.js"
import type { ComponentDefaults } from "./Mode.js"
import { portalLayer } from "./portal.js"
import { portsFileLayer } from "./portsFile.js"
import { schedulerOptionsOf } from "./schedulerOptions.js"
import { storeLayer } from "./store.js"

export const composeLayer = (deployment: Deployment, defaults: ComponentDefaults) => {
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
  const core = Layer.mergeAll(scheduler, store, handlers, broker, seed, BoundAddresses.layer)
  // Listeners start once the config's tasks and schedules are in place; the
  // ports file is written once every listener has reported its address.
  const listeners = portalLayer(config.portal, defaults.portal)
  return Layer.provideMerge(portsFileLayer(deployment), Layer.provideMerge(listeners, core))
}
