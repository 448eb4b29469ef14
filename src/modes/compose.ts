/**
 * The layer graph every mode builds, with the optional components switched
 * on or off by the deployment's config or, where it is silent, by the mode's
 * defaults. Always: the deployment's store, an event broker (local, or ZeroMQ
 * when `events` publishes or has peers), local handlers, the scheduler and
 * the config's tasks and schedules. Optional: the ZeroMQ handler registry,
 * the governor, the portal.
 *
 * Build order is start order (and the reverse is stop order): core, then the
 * governor (its processes connect to the registry), then the portal (it
 * serves once tasks and schedules are in place and shows the governor), then
 * the ports file (once everything that listens has reported its address).
 *
 * Shared layers are single consts referenced wherever they are needed: a layer
 * is memoised by reference within one build, so the broker the store publishes
 * to is the very broker the scheduler subscribes to.
 */
import { Layer } from "effect"
import * as EdgeSync from "../components/edge/deployment.js"
import type { Deployment } from "../config/load.js"
import { logJobOutcomes } from "../log/jobLog.js"
import type { DataStore } from "../services/DataStore.js"
import type { EventBroker } from "../services/EventBroker.js"
import * as SchedulerComponent from "../services/scheduler/layer.js"
import { defaultSchedulerId } from "../services/scheduler/SchedulerOptions.js"
import * as BoundAddresses from "./BoundAddresses.js"
import { component } from "./component.js"
import { configSeedLayer } from "./configSeed.js"
import { brokerLayer } from "./events.js"
import { governorLayer } from "./governor.js"
import { handlersLayer } from "./handlers.js"
import { lazyLayer } from "./lazy.js"
import type { ComponentDefaults } from "./Mode.js"
import { portalLayer } from "./portal.js"
import { portsFileLayer } from "./portsFile.js"
import { schedulerOptionsOf } from "./schedulerOptions.js"
import { storeLayer } from "./store.js"

/**
 * Notification rules (`events.notifiers`), when there are any. Their module
 * (and the HTTP client it uses) is loaded only then; the Notifiers service
 * stays in the context for whoever reads it as an optional service.
 */
const notifiersLayer = (deployment: Deployment): Layer.Layer<never, never, EventBroker | DataStore> => {
  const rules = deployment.config.events.notifiers
  return rules.length === 0
    ? Layer.empty
    : lazyLayer(() => import("../components/notify/Notifiers.js"), (Notifiers) => Notifiers.layer(rules))
}

export const composeLayer = (deployment: Deployment, defaults: ComponentDefaults) => {
  const { config } = deployment
  // One id for the scheduler and the event stream's instance, so stream messages name the scheduler.
  const schedulerId = config.scheduler.id ?? defaultSchedulerId()
  const bound = BoundAddresses.layer
  const broker = brokerLayer(deployment, schedulerId, defaults.eventBuffer).pipe(Layer.provide(bound))
  const store = storeLayer(deployment).pipe(Layer.provide(broker))
  // The zmq registry publishes handler.online/offline on the broker (an optional service there).
  const handlers = handlersLayer(deployment, defaults.remoteHandlers).pipe(Layer.provide(Layer.merge(bound, broker)))
  const jobLog = Layer.scopedDiscard(logJobOutcomes).pipe(Layer.provide(broker))
  const notifiers = notifiersLayer(deployment).pipe(Layer.provide(Layer.merge(broker, store)))
  // edge sync (issue 7): the upstream's outbox trigger is in place before the first job is logged;
  // it applies the server's schedule assignments through the store; both ends see the broker
  // (optional service: the upstream records the scheduler's start/stop, the hub republishes edge events)
  const upstream = EdgeSync.upstreamLayer(deployment).pipe(Layer.provide(Layer.merge(store, broker)))
  const edgeHub = EdgeSync.hubLayer(deployment).pipe(Layer.provide(Layer.merge(bound, broker)))
  // jobLog and notifiers are given to the scheduler so that they are
  // subscribed before the scheduler runs its first job.
  const schedulerOptions = { ...schedulerOptionsOf(config.scheduler), id: schedulerId }
  const scheduler = component("scheduler", SchedulerComponent.layer(schedulerOptions)).pipe(
    Layer.provide(Layer.mergeAll(store, handlers, broker, jobLog, notifiers, upstream))
  )
  const seed = component("config (tasks and schedules)", configSeedLayer(deployment)).pipe(Layer.provide(scheduler))
  const core = Layer.mergeAll(scheduler, store, handlers, broker, seed, bound, notifiers, edgeHub)
  const supervised = Layer.provideMerge(governorLayer(deployment, defaults.governor), core)
  const served = Layer.provideMerge(portalLayer(config.portal, defaults.portal), supervised)
  return Layer.provideMerge(portsFileLayer(deployment), served)
}
