/**
 * Turns a validated deployment into the layer graph that runs it, in the mode
 * its config names (`config.mode`, which the CLI's --mode has already set).
 */
import type { Layer } from "effect"
import type { ModeName } from "../config/DeploymentConfig.js"
import type { Deployment } from "../config/load.js"
import { autonomous } from "./autonomous.js"
import { full } from "./full.js"
import { minimal } from "./minimal.js"
import type { CoreServices, ModeDefinition, ModeRequirements, StartupError } from "./Mode.js"

export const modes: Readonly<Record<ModeName, ModeDefinition>> = { minimal, full, autonomous }

/** The running system for `deployment` in its mode. */
export const layer = (deployment: Deployment): Layer.Layer<CoreServices, StartupError, ModeRequirements> =>
  modes[deployment.config.mode].layer(deployment)
