/**
 * `minimal` mode: the scheduler with the deployment's store (memory unless
 * configured), the local event broker, local handlers and the portal (HTTP
 * API and dashboard); nothing on ZeroMQ. For a small VM, tests, embedding.
 */
import * as LocalBroker from "../components/broker/Local.js"
import type { Deployment } from "../config/load.js"
import { composeLayer } from "./compose.js"
import type { ComponentDefaults, ModeDefinition } from "./Mode.js"

const defaults: ComponentDefaults = {
  portal: true,
  remoteHandlers: false,
  governor: false,
  eventBuffer: LocalBroker.defaultCapacity
}

export const minimal: ModeDefinition = {
  name: "minimal",
  summary: "scheduler + store (memory unless configured) + local event broker + local handlers + portal; nothing on ZeroMQ",
  defaults,
  smallHeap: false,
  layer: (deployment: Deployment) => composeLayer(deployment, defaults)
}
