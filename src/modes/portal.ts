/**
 * The portal component (HTTP API, dashboard, metrics, event stream) from a
 * deployment's `portal` section; nothing at all when `portal.enabled` is false.
 * With a SQLite store the store layer also provides the ExecutionLog, which
 * the portal picks up to serve the executions endpoints.
 */
import { Layer } from "effect"
import * as Portal from "../components/portal/Portal.js"
import type { PortalSection } from "../config/DeploymentConfig.js"
import { component } from "./component.js"
import type { ComponentFailed } from "./StartupError.js"

export const portalOptionsOf = (section: PortalSection): Portal.PortalOptions => ({
  ...(section.host !== undefined && { host: section.host }),
  ...(section.port !== undefined && { port: section.port }),
  ...(section.tokens !== undefined && { tokens: section.tokens }),
  ...(section.corsOrigins !== undefined && { corsOrigins: section.corsOrigins }),
  ...(section.bodyLimit !== undefined && { bodyLimit: section.bodyLimit })
})

export const portalLayer = (
  section: PortalSection
): Layer.Layer<never, ComponentFailed, Portal.PortalRequirements> =>
  section.enabled ? Layer.discard(component("portal", Portal.layer(portalOptionsOf(section)))) : Layer.empty
