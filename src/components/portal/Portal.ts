/**
 * The portal component: the HTTP API, its OpenAPI document and docs page,
 * Prometheus metrics, the SSE event stream and the dashboard, on one Node
 * HTTP server. Needs the core services; uses the ExecutionLog when the
 * deployment provides one (otherwise the executions endpoints do not exist).
 */
import { createServer } from "node:http"
import { HttpApi, HttpApiBuilder, HttpServer, HttpServerResponse, OpenApi } from "@effect/platform"
import { NodeHttpServer } from "@effect/platform-node"
import { Context, Effect, Layer, Option } from "effect"
// The tag alone: ../broker/Zmq.js would load ZeroMQ's native addon in every mode.
import { ZmqBroker } from "../broker/zmq/options.js"
import { DataStore } from "../../services/DataStore.js"
import { EventBroker } from "../../services/EventBroker.js"
import { ExecutionLog } from "../../services/ExecutionLog.js"
import { HandlerRegistry } from "../../services/HandlerRegistry.js"
import type { Scheduler } from "../../services/Scheduler.js"
import { CoreApi, FullApi } from "./Api.js"
import { dashboardRoutes } from "./dashboard.js"
import { edgesGroup } from "./handlers/edges.js"
import { executionsGroup } from "./handlers/executions.js"
import { governorGroup } from "./handlers/governor.js"
import { eventsGroup, metricsGroup } from "./handlers/live.js"
import { handlersGroup, healthGroup, jobsGroup, sessionGroup, triggersGroup } from "./handlers/read.js"
import { schedulesGroup } from "./handlers/schedules.js"
import { makeMetrics, PortalMetrics } from "./Metrics.js"
import { portalMiddleware } from "./middleware.js"
import { makeScheduleIndex, ScheduleIndex } from "./ScheduleIndex.js"
import { accessMode, authorizationLayer, type TokenEntry } from "./security.js"

export interface PortalOptions {
  /** Address to bind; default 127.0.0.1 (loopback: open when no tokens are configured). */
  readonly host?: string
  /** Default 8080; 0 picks a free port. */
  readonly port?: number
  readonly tokens?: ReadonlyArray<TokenEntry>
  /** Origins allowed to call the API from a browser; empty (the default) = CORS off. */
  readonly corsOrigins?: ReadonlyArray<string>
  /** Largest request body in bytes; default 1 MiB. */
  readonly bodyLimit?: number
}

export const defaults = { host: "127.0.0.1", port: 8080, bodyLimit: 1024 * 1024 } as const

/** Where the running portal listens (port resolved when 0 was asked for). */
export interface PortalServerShape {
  readonly host: string
  readonly port: number
  readonly url: string
}

export class PortalServer extends Context.Tag("schedulezero/portal/PortalServer")<PortalServer, PortalServerShape>() {}

const coreGroups = Layer.mergeAll(
  healthGroup,
  sessionGroup,
  schedulesGroup,
  triggersGroup,
  handlersGroup,
  jobsGroup,
  governorGroup,
  eventsGroup,
  edgesGroup,
  metricsGroup
)

const metricsLayer = Layer.scoped(
  PortalMetrics,
  Effect.gen(function* () {
    return yield* makeMetrics({
      broker: yield* EventBroker,
      store: yield* DataStore,
      registry: yield* HandlerRegistry,
      index: yield* ScheduleIndex,
      eventStream: yield* Effect.serviceOption(ZmqBroker)
    })
  })
)

const scheduleIndexLayer = Layer.scoped(
  ScheduleIndex,
  Effect.gen(function* () {
    return yield* makeScheduleIndex({ store: yield* DataStore, broker: yield* EventBroker })
  })
)

/** The API with its handlers: executions included exactly when an ExecutionLog is in the context. */
const apiLayer = Layer.unwrapEffect(
  Effect.map(Effect.serviceOption(ExecutionLog), (log) =>
    Option.match(log, {
      onNone: () => HttpApiBuilder.api(CoreApi).pipe(Layer.provide(coreGroups)),
      onSome: (service) =>
        HttpApiBuilder.api(FullApi).pipe(
          Layer.provide(coreGroups),
          Layer.provide(executionsGroup),
          Layer.provide(Layer.succeed(ExecutionLog, service))
        )
    })
  )
)

/**
 * The OpenAPI document and the docs page, each built on its first request
 * (HttpApiBuilder.middlewareOpenApi and HttpApiSwagger.layer build both at
 * every start, the docs page with 1.9 MB of Swagger UI in it).
 */
const docsRoutes = HttpApiBuilder.Router.use((router) =>
  Effect.gen(function* () {
    const api = yield* HttpApi.Api
    const openApi = yield* Effect.cached(
      Effect.orDie(Effect.suspend(() => HttpServerResponse.json(OpenApi.fromApi(api.api))))
    )
    yield* router.get("/api/openapi.json", openApi)
    const docsPage = yield* Effect.cached(
      Effect.flatMap(
        Effect.promise(() => import("./docsPage.js")),
        (module) => module.swaggerPage(api, "/api/docs")
      )
    )
    yield* router.get("/api/docs", Effect.flatten(docsPage))
  })
)

const addressOf = (address: HttpServer.Address, host: string): PortalServerShape => {
  const port = address._tag === "TcpAddress" ? address.port : 0
  const shown = host.includes(":") ? `[${host}]` : host
  return { host, port, url: `http://${shown}:${port}` }
}

export const layer = (options: PortalOptions = {}) => {
  const host = options.host ?? defaults.host
  const tokens = options.tokens ?? []
  const bodyLimit = options.bodyLimit ?? defaults.bodyLimit
  const corsOrigins = options.corsOrigins ?? []
  return Layer.unwrapEffect(
    Effect.map(accessMode(host, tokens), (mode) => {
      const http = Layer.mergeAll(
        HttpApiBuilder.serve(),
        HttpApiBuilder.middleware(portalMiddleware({ bodyLimit })),
        docsRoutes,
        dashboardRoutes,
        corsOrigins.length > 0
          ? HttpApiBuilder.middlewareCors({ allowedOrigins: corsOrigins, allowedHeaders: ["authorization", "content-type"] })
          : Layer.empty
      ).pipe(
        Layer.provide(apiLayer),
        Layer.provide(authorizationLayer(mode, tokens)),
        Layer.provide(metricsLayer),
        Layer.provide(scheduleIndexLayer)
      )
      const announce = Layer.effect(
        PortalServer,
        Effect.gen(function* () {
          const server = yield* HttpServer.HttpServer
          const address = addressOf(server.address, host)
          yield* Effect.logInfo(`portal listening on ${address.url} (dashboard /, API /api, docs /api/docs)`).pipe(
            Effect.annotateLogs({ access: mode === "open" ? "open (loopback, no tokens)" : `${tokens.length} token(s)` })
          )
          return address
        })
      )
      return Layer.merge(http, announce).pipe(
        Layer.provide(NodeHttpServer.layer(createServer, { host, port: options.port ?? defaults.port }))
      )
    })
  )
}

export type PortalRequirements = Scheduler | DataStore | EventBroker | HandlerRegistry
