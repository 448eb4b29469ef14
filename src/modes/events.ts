/**
 * The deployment's EventBroker: the local in-process broker, or — when the
 * `events` section publishes a stream or listens to peers, and does not
 * switch it off (`events.enabled: false`) — the ZeroMQ broker
 * (which wraps a local one, so in-process subscribers see the same events),
 * reporting its PUB socket as `event_pub`. With a PostgreSQL store and no
 * ZeroMQ stream, the PostgreSQL broker (LISTEN/NOTIFY), so schedulers sharing
 * the database wake each other. A broker's module is loaded only when it runs.
 */
import { Effect, Layer } from "effect"
import * as LocalBroker from "../components/broker/Local.js"
import type { Deployment } from "../config/load.js"
import { streamRuns } from "../config/sections/events.js"
import type { EventBroker } from "../services/EventBroker.js"
import type { BoundAddresses } from "./BoundAddresses.js"
import { component } from "./component.js"
import { reportEndpoint } from "./endpoints.js"
import { lazyLayer } from "./lazy.js"
import type { ComponentFailed } from "./StartupError.js"
import { postgresOptionsOf } from "./store.js"

/**
 * `schedulerId` becomes the stream's instance id, so its messages name the
 * scheduler that published them; `localBuffer` is the local broker's buffer
 * (the mode's `eventBuffer`).
 */
export const brokerLayer = (
  deployment: Deployment,
  schedulerId: string,
  localBuffer: number
): Layer.Layer<EventBroker, ComponentFailed, BoundAddresses> => {
  const { events, store } = deployment.config
  if (!streamRuns(events)) {
    if (store.type !== "postgres") return component("broker (local)", LocalBroker.layerWithCapacity(localBuffer))
    return component(
      "broker (postgres)",
      lazyLayer(
        () => import("../components/broker/Postgres.js"),
        (PostgresBroker) => Layer.unwrapEffect(Effect.map(postgresOptionsOf(store), PostgresBroker.layer))
      )
    )
  }
  return component(
    "events (zmq)",
    lazyLayer(
      () => import("../components/broker/Zmq.js"),
      (ZmqBroker) => {
        const broker = ZmqBroker.layerFromDeployment(events, deployment.root, schedulerId)
        const report = Layer.effectDiscard(
          ZmqBroker.ZmqBroker.pipe(Effect.flatMap((zmq) => reportEndpoint("event_pub", zmq.endpoint)))
        )
        return Layer.provideMerge(report, broker)
      }
    )
  )
}
