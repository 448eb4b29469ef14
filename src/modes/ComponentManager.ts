/**
 * Turns a validated deployment into the layer graph that runs it, in the mode
 * its config names (`config.mode`, which the CLI's --mode has already set).
 * Modes register here; a mode that is designed but not built yet is refused
 * by name rather than approximated.
 */
import { Effect, Layer } from "effect"
import type { ModeName } from "../config/DeploymentConfig.js"
import type { Deployment } from "../config/load.js"
import { autonomous } from "./autonomous.js"
import { minimal } from "./minimal.js"
import type { CoreServices, ModeDefinition, ModeRequirements, StartupError } from "./Mode.js"
import { ModeNotAvailable } from "./StartupError.js"

/** Every mode of the design; `undefined` marks one that is not built yet. */
export const modes: Readonly<Record<ModeName, ModeDefinition | undefined>> = {
  minimal,
  full: undefined,
  autonomous
}

export const availableModes: ReadonlyArray<ModeName> = Object.values(modes).flatMap((mode) =>
  mode === undefined ? [] : [mode.name]
)

/** The mode's definition, or ModeNotAvailable naming it (for unknown names too). */
export const modeNamed = (name: string): Effect.Effect<ModeDefinition, ModeNotAvailable> => {
  const definition = Object.hasOwn(modes, name) ? modes[name as ModeName] : undefined
  return definition === undefined
    ? Effect.fail(new ModeNotAvailable({ mode: name, available: availableModes }))
    : Effect.succeed(definition)
}

/** The running system for `deployment` in its mode. */
export const layer = (deployment: Deployment): Layer.Layer<CoreServices, StartupError, ModeRequirements> =>
  Layer.unwrapEffect(Effect.map(modeNamed(deployment.config.mode), (definition) => definition.layer(deployment)))
