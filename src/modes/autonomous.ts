/**
 * `autonomous` mode, for an edge box that is often offline: the scheduler on
 * a local SQLite store (unless another is configured) with local handlers and
 * the local event broker. Nothing listens unless configured (the portal is off
 * by default) and nothing connects out: it runs its schedules with no network
 * at all. With an `upstream` section it also syncs with a central server
 * (docs/edge.md): forwards its execution log and runs the schedules the
 * server assigns it.
 */
import * as LocalBroker from "../components/broker/Local.js"
import type { Deployment } from "../config/load.js"
import { composeLayer } from "./compose.js"
import type { ComponentDefaults, ModeDefinition } from "./Mode.js"

const defaults: ComponentDefaults = {
  portal: false,
  remoteHandlers: false,
  governor: false,
  eventBuffer: LocalBroker.smallHeapCapacity
}

export const autonomous: ModeDefinition = {
  name: "autonomous",
  summary: "scheduler + local SQLite + local event broker + local handlers; no listening sockets unless configured",
  defaults,
  smallHeap: true,
  layer: (deployment: Deployment) => composeLayer(deployment, defaults)
}
