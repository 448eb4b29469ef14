/**
 * `full` mode, for a server: the scheduler on SQLite (unless another store is
 * configured), local handlers plus the ZeroMQ registry remote handler
 * processes connect to, the governor supervising the declared handler
 * processes, and the portal. The ZeroMQ event stream runs when the `events`
 * section names where to publish (or peers to listen to).
 */
import * as LocalBroker from "../components/broker/Local.js"
import type { Deployment } from "../config/load.js"
import { composeLayer } from "./compose.js"
import type { ComponentDefaults, ModeDefinition } from "./Mode.js"

const defaults: ComponentDefaults = {
  portal: true,
  remoteHandlers: true,
  governor: true,
  eventBuffer: LocalBroker.defaultCapacity
}

export const full: ModeDefinition = {
  name: "full",
  summary:
    "scheduler + SQLite store + local and ZeroMQ handler registries + event stream (when configured) + governor + portal",
  defaults,
  smallHeap: false,
  layer: (deployment: Deployment) => composeLayer(deployment, defaults)
}
