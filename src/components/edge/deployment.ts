/**
 * Edge sync in a running deployment: the upstream when the `upstream` section
 * is present, the hub when `edges` asks for it (sections/upstream.ts,
 * sections/edges.ts). Both need the deployment's SQLite store and share its
 * connection; their module (and ZeroMQ) is loaded only when one runs.
 */
import { Effect, Layer } from "effect"
import type { Deployment } from "../../config/load.js"
import type { BoundAddresses } from "../../modes/BoundAddresses.js"
import { component } from "../../modes/component.js"
import { reportEndpoint } from "../../modes/endpoints.js"
import { lazyLayer } from "../../modes/lazy.js"
import { ComponentFailed } from "../../modes/StartupError.js"
import { sqliteOptionsOf } from "../../modes/store.js"
import { hubEnabled, hubOptionsOf, upstreamOptionsOf } from "./fromConfig.js"
import type { DataStore } from "../../services/DataStore.js"
import type { EdgeAssignments } from "./assignments.js"
import type { Hub } from "./Hub.js"

const sqliteOf = (deployment: Deployment, name: string) => {
  const { store } = deployment.config
  return store.type === "sqlite"
    ? Effect.succeed(sqliteOptionsOf(store, deployment))
    : Effect.fail(new ComponentFailed({ component: name, reason: `needs store.type sqlite, not ${store.type}` }))
}

/** The edge side: connects out to `upstream.endpoint`; applies assignments through the store. Nothing when the section is absent. */
export const upstreamLayer = (deployment: Deployment): Layer.Layer<never, ComponentFailed, DataStore> => {
  const section = deployment.config.upstream
  if (section === null) return Layer.empty
  const name = "upstream (edge sync)"
  return component(
    name,
    Layer.unwrapEffect(
      Effect.map(sqliteOf(deployment, name), (sqlite) =>
        lazyLayer(
          () => Promise.all([import("./onSqlite.js"), import("./curveKeys.js")]),
          ([edge, keys]) =>
            Layer.discard(
              Layer.unwrapEffect(
                Effect.map(keys.upstreamCurveOf(section, deployment.root), (curve) =>
                  edge.upstreamLayer(sqlite, { ...upstreamOptionsOf(section), curve })
                )
              )
            )
        )
      )
    )
  )
}

/**
 * The server side: binds `edges.endpoint` and reports it as `edge_hub`; the Hub
 * and EdgeAssignments services stay in the context (the portal serves them). Nothing unless enabled.
 */
export const hubLayer = (
  deployment: Deployment
): Layer.Layer<Hub | EdgeAssignments, ComponentFailed, BoundAddresses> | Layer.Layer<never> => {
  const section = deployment.config.edges
  if (!hubEnabled(section)) return Layer.empty
  const name = "edge hub"
  return component(
    name,
    Layer.unwrapEffect(
      Effect.map(sqliteOf(deployment, name), (sqlite) =>
        lazyLayer(
          () => Promise.all([import("./onSqlite.js"), import("./Hub.js"), import("./curveKeys.js")]),
          ([edge, HubModule, keys]) =>
            Layer.provideMerge(
              Layer.effectDiscard(Effect.flatMap(HubModule.Hub, (hub) => reportEndpoint("edge_hub", hub.endpoint))),
              Layer.unwrapEffect(
                Effect.map(keys.hubCurveOf(section, deployment.root), (curve) =>
                  edge.hubLayer(sqlite, { ...hubOptionsOf(section), curve })
                )
              )
            )
        )
      )
    )
  )
}
