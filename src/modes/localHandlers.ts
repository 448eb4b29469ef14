/**
 * The local HandlerRegistry component, filled with the handlers exported by
 * the modules a deployment lists under `handlers.local` (loaded at start).
 */
import type { FileSystem, Path } from "@effect/platform"
import { Effect, Layer } from "effect"
import * as LocalRegistry from "../components/registry/Local.js"
import type { ConfigError } from "../config/ConfigError.js"
import { loadLocalHandlers } from "../config/handlerModules.js"
import type { Deployment } from "../config/load.js"
import type { HandlerRegistry } from "../services/HandlerRegistry.js"
import { component } from "./component.js"
import type { ComponentFailed } from "./StartupError.js"

export const localHandlersLayer = (
  deployment: Deployment
): Layer.Layer<
  HandlerRegistry | LocalRegistry.LocalHandlers,
  ConfigError | ComponentFailed,
  FileSystem.FileSystem | Path.Path
> =>
  component(
    "handlers (local)",
    Layer.unwrapEffect(
      Effect.gen(function* () {
        const loaded = yield* loadLocalHandlers(deployment)
        yield* Effect.logInfo("local handlers loaded").pipe(
          Effect.annotateLogs({ handlers: loaded.map((entry) => entry.handler.id) })
        )
        return LocalRegistry.layer(loaded.map((entry) => entry.handler))
      })
    )
  )
