/**
 * The portal component (HTTP API, dashboard, metrics, event stream) from a
 * deployment's `portal` section, when enabled (`portal.enabled`, else the
 * mode's default); it reports where it listens as `portal`. With a SQLite
 * store the store layer also provides the ExecutionLog, which the portal picks
 * up to serve the executions endpoints.
 */
import { Effect, Layer } from "effect"
import type * as Portal from "../components/portal/Portal.js"
import type { PortalSection } from "../config/DeploymentConfig.js"
import { BoundAddresses } from "./BoundAddresses.js"
import { component } from "./component.js"
import { lazyLayer } from "./lazy.js"
import type { ComponentFailed } from "./StartupError.js"

export const portalOptionsOf = (section: PortalSection): Portal.PortalOptions => ({
  ...(section.host !== undefined && { host: section.host }),
  ...(section.port !== undefined && { port: section.port }),
  ...(section.tokens !== undefined && { tokens: section.tokens }),
  ...(section.corsOrigins !== undefined && { corsOrigins: section.corsOrigins }),
  ...(section.bodyLimit !== undefined && { bodyLimit: section.bodyLimit })
})


export const portalLayer = (
  section: PortalSection,
  enabledByDefault: boolean
): Layer.Layer<never, ComponentFailed, Portal.PortalRequirements | BoundAddresses> =>
  (section.enabled ?? enabledByDefault)
    ? component(
        "portal",
        lazyLayer(
          () => import("../components/portal/Portal.js"),
          (Portal) =>
            Layer.effectDiscard(
              Effect.gen(function* () {
                const server = yield* Portal.PortalServer
                yield* (yield* BoundAddresses).report("portal", server)
              })
            ).pipe(Layer.provide(Portal.layer(portalOptionsOf(section))))
        )
      )
    : Layer.empty
