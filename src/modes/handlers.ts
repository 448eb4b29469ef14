/**
 * The deployment's HandlerRegistry: its local handlers, plus the ZeroMQ
 * registry remote handler processes connect to when `handlers.remote` is on
 * (`handlers.remote.enabled`, else the mode's default), which reports where
 * it listens as `zmq_router`. The ZeroMQ registry's module is loaded only
 * when it runs.
 */
import type { FileSystem, Path } from "@effect/platform"
import { Effect, Layer } from "effect"
import type { LocalHandlers } from "../components/registry/Local.js"
import type { ConfigError } from "../config/ConfigError.js"
import type { Deployment } from "../config/load.js"
import type { HandlerRegistry } from "../services/HandlerRegistry.js"
import type { BoundAddresses } from "./BoundAddresses.js"
import { component } from "./component.js"
import { reportEndpoint } from "./endpoints.js"
import { lazyLayer } from "./lazy.js"
import { localHandlersLayer } from "./localHandlers.js"
import type { ComponentFailed } from "./StartupError.js"
import { postgresOptionsOf, sqliteOptionsOf } from "./store.js"

export const handlersLayer = (
  deployment: Deployment,
  remoteByDefault: boolean
): Layer.Layer<
  HandlerRegistry | LocalHandlers,
  ConfigError | ComponentFailed,
  FileSystem.FileSystem | Path.Path | BoundAddresses
> => {
  const { config } = deployment
  const local = localHandlersLayer(deployment)
  if (!(config.handlers.remote.enabled ?? remoteByDefault)) return local
  return component(
    "handlers (local + zmq)",
    lazyLayer(
      () => Promise.all([import("../components/registry/deploymentRegistry.js"), import("../components/registry/Zmq.js")]),
      ([DeploymentRegistry, Zmq]) => {
        const { store } = config
        // Remote handlers are remembered in the deployment's SQL store, if it has one.
        const registry = Layer.unwrapEffect(
          Effect.map(
            store.type === "postgres" ? postgresOptionsOf(store) : Effect.succeed(null),
            (postgres) =>
              DeploymentRegistry.layer(local, {
                remote: config.handlers.remote,
                deploymentDir: deployment.root,
                sqlite: store.type === "sqlite" ? sqliteOptionsOf(store, deployment) : null,
                postgres
              })
          )
        )
        const report = Layer.effectDiscard(
          Effect.flatMap(Zmq.ZmqRegistry, (zmq) => reportEndpoint("zmq_router", zmq.endpoint))
        )
        return Layer.provideMerge(report, registry)
      }
    )
  )
}
