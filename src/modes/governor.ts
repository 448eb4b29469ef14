/**
 * The governor component (`governor.enabled`, else the mode's default):
 * supervises the handler processes the deployment declares. Each process
 * gets, unless its `env` sets them:
 * - `SZ_ENDPOINT`: where the ZeroMQ handler registry really listens (its port
 *   may have been 0), so governed handlers connect without knowing the port;
 * - `SZ_HANDLER_SDK`: the URL of this ScheduleZero's handler SDK module, so a
 *   handler script inside a deployment directory imports it with
 *   `await import(process.env.SZ_HANDLER_SDK)` and needs no install step;
 * - with `handlers.remote.curve` on, `SZ_CURVE_SERVER_KEY`,
 *   `SZ_CURVE_PUBLIC_KEY` and `SZ_CURVE_SECRET_KEY`: the registry's public
 *   key and the process's key pair (`curve_keys`, else its name) from the
 *   deployment's keys directory, which the handler SDK connects with. A
 *   missing or malformed key file stops startup, naming the file.
 * Built after the registry (children connect to it) and so stopped before it.
 * Its output (Governor) stays in the context for the portal, which reads it
 * as an optional service; the type says nothing because nothing requires it.
 */
import { join } from "node:path"
import { Effect, Layer, Option } from "effect"
import { ZmqRegistry } from "../components/registry/zmq/options.js"
import type { Deployment } from "../config/load.js"
import type { GovernorSection } from "../config/sections/governor.js"
import { component } from "./component.js"
import { lazyLayer } from "./lazy.js"
import type { ComponentFailed } from "./StartupError.js"

/** The SDK beside this module in the build (dist/handler/index.js next to dist/modes/). */
export const handlerSdkUrl = new URL("../handler/index.js", import.meta.url).href

type GovernedEntry = GovernorSection["processes"][number]

/** The CURVE variables for one process, read from the deployment's key files. */
const curveEnvOf = (Keys: typeof import("../components/registry/zmq/keys.js"), dir: string, entry: GovernedEntry) =>
  Effect.all({
    SZ_CURVE_SERVER_KEY: Keys.readKey(join(dir, "server.pub")),
    SZ_CURVE_PUBLIC_KEY: Keys.readKey(join(dir, `${entry.curveKeys ?? entry.name}.pub`)),
    SZ_CURVE_SECRET_KEY: Keys.readKey(join(dir, `${entry.curveKeys ?? entry.name}.key`))
  })

export const governorLayer = (
  deployment: Deployment,
  enabledByDefault: boolean
): Layer.Layer<never, ComponentFailed> => {
  const section = deployment.config.governor
  if (!(section.enabled ?? enabledByDefault)) return Layer.empty
  const { remote } = deployment.config.handlers
  return component(
    "governor",
    lazyLayer(
      () =>
        Promise.all([
          import("../components/governor/Governor.js"),
          import("../components/governor/options.js"),
          import("../components/registry/zmq/keys.js")
        ]),
      ([GovernorComponent, { fromConfig }, Keys]) =>
        Layer.unwrapEffect(
          Effect.gen(function* () {
            const registry = yield* Effect.serviceOption(ZmqRegistry)
            const provided = {
              SZ_HANDLER_SDK: handlerSdkUrl,
              ...Option.match(registry, { onNone: () => ({}), onSome: ({ endpoint }) => ({ SZ_ENDPOINT: endpoint }) })
            }
            const encrypted = remote.curve && Option.isSome(registry)
            const dir = Keys.keysDir(deployment.root)
            const specs = yield* Effect.forEach(fromConfig(section, deployment.root), (spec, index) =>
              Effect.map(
                encrypted ? curveEnvOf(Keys, dir, section.processes[index]!) : Effect.succeed({}),
                (curve) => ({ ...spec, env: { ...provided, ...curve, ...spec.env } })
              )
            )
            return GovernorComponent.layer(specs)
          })
        )
    )
  )
}
