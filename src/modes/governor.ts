/**
 * The governor component (`governor.enabled`, else the mode's default):
 * supervises the handler processes the deployment declares. Each process
 * gets, unless its `env` sets them:
 * - `SZ_ENDPOINT`: where the ZeroMQ handler registry really listens (its port
 *   may have been 0), so governed handlers connect without knowing the port;
 * - `SZ_HANDLER_SDK`: the URL of this ScheduleZero's handler SDK module, so a
 *   handler script inside a deployment directory imports it with
 *   `await import(process.env.SZ_HANDLER_SDK)` and needs no install step.
 * Built after the registry (children connect to it) and so stopped before it.
 * Its output (Governor) stays in the context for the portal, which reads it
 * as an optional service; the type says nothing because nothing requires it.
 */
import { Effect, Layer, Option } from "effect"
import { ZmqRegistry } from "../components/registry/zmq/options.js"
import type { Deployment } from "../config/load.js"
import { component } from "./component.js"
import { lazyLayer } from "./lazy.js"
import type { ComponentFailed } from "./StartupError.js"

/** The SDK beside this module in the build (dist/handler/index.js next to dist/modes/). */
export const handlerSdkUrl = new URL("../handler/index.js", import.meta.url).href

export const governorLayer = (
  deployment: Deployment,
  enabledByDefault: boolean
): Layer.Layer<never, ComponentFailed> => {
  const section = deployment.config.governor
  if (!(section.enabled ?? enabledByDefault)) return Layer.empty
  return component(
    "governor",
    lazyLayer(
      () => Promise.all([import("../components/governor/Governor.js"), import("../components/governor/options.js")]),
      ([GovernorComponent, { fromConfig }]) =>
        Layer.unwrapEffect(
          Effect.map(Effect.serviceOption(ZmqRegistry), (registry) => {
            const provided = {
              SZ_HANDLER_SDK: handlerSdkUrl,
              ...Option.match(registry, { onNone: () => ({}), onSome: ({ endpoint }) => ({ SZ_ENDPOINT: endpoint }) })
            }
            const specs = fromConfig(section, deployment.root).map((spec) => ({ ...spec, env: { ...provided, ...spec.env } }))
            return GovernorComponent.layer(specs)
          })
        )
    )
  )
}
