/**
 * The deployment's EventBroker: the local in-process broker, or — when the
 * `events` section publishes a stream or listens to peers — the ZeroMQ broker
 * (which wraps a local one, so in-process subscribers see the same events),
 * reporting its PUB socket as `event_pub`.
 */
import { Effect, Layer } from "effect"
import * as LocalBroker from "../components/broker/Local.js"
import * as ZmqBroker from "../components/broker/Zmq.js"
import type { Deployment } from "../config/load.js"
import type { EventBroker } from "../services/EventBroker.js"
import type { BoundAddresses } from "./BoundAddresses.js"
import { component } from "./component.js"
import { reportEndpoint } from "./handlers.js"
import type { ComponentFailed } from "./StartupError.js"

const reportPublisher = Layer.effectDiscard(
  Effect.flatMap(ZmqBroker.ZmqBroker, (broker) => reportEndpoint("event_pub", broker.endpoint))
)

export const brokerLayer = (deployment: Deployment): Layer.Layer<EventBroker, ComponentFailed, BoundAddresses> => {
  const { events, scheduler } = deployment.config
  if (events.publish === null && events.peers.length === 0) return component("broker (local)", LocalBroker.layer)
  const broker = component("events (zmq)", ZmqBroker.layerFromConfig(events, scheduler.id))
  return Layer.provideMerge(reportPublisher, broker)
}
