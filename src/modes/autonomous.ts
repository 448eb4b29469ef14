/**
 * `autonomous` mode, for an edge box that is often offline: the scheduler on
 * a local SQLite store (unless another is configured) with local handlers and
 * the local event broker. Nothing listens unless configured (the portal is off
 * by default) and nothing connects out: it runs its schedules with no network
 * at all. Upstream sync to a central server (issue 7) is not built; it joins
 * here as a component when it is.
 */
import type { Deployment } from "../config/load.js"
import { composeLayer } from "./compose.js"
import type { ComponentDefaults, ModeDefinition } from "./Mode.js"

const defaults: ComponentDefaults = { portal: false, remoteHandlers: false, governor: false }

export const autonomous: ModeDefinition = {
  name: "autonomous",
  summary: "scheduler + local SQLite + local event broker + local handlers; no listening sockets unless configured",
  defaults,
  smallHeap: true,
  layer: (deployment: Deployment) => composeLayer(deployment, defaults)
}
