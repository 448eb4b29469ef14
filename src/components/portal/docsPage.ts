/**
 * The portal's docs page (/api/docs): the Swagger UI page of @effect/platform
 * for the portal's API. A module of its own, imported on the first request
 * of the page (see Portal.ts's docsRoutes): the page carries 1.9 MB of Swagger
 * UI that no start should have to load.
 */
import { HttpApi, HttpApiBuilder } from "@effect/platform"
// A deep import: through the package's index, the bundle would put Swagger UI in a chunk every start loads.
import * as HttpApiSwagger from "@effect/platform/HttpApiSwagger"
import { Chunk, type Context, Effect, Layer, Option } from "effect"

/** The response HttpApiSwagger's layer serves at `path`, taken from a router it is built into alone. */
export const swaggerPage = (api: Context.Tag.Service<HttpApi.Api>, path: `/${string}`) =>
  Effect.gen(function* () {
    const router = yield* HttpApiBuilder.Router.router
    const route = Chunk.findFirst(router.routes, (candidate) => candidate.path === path)
    return yield* Option.match(route, {
      onNone: () => Effect.dieMessage(`HttpApiSwagger mounted no route at ${path}`),
      onSome: (found) => Effect.succeed(found.handler)
    })
  }).pipe(
    Effect.provide(
      HttpApiSwagger.layer({ path }).pipe(
        Layer.provideMerge(HttpApiBuilder.Router.Live),
        Layer.provide(Layer.succeed(HttpApi.Api, api))
      )
    )
  )
