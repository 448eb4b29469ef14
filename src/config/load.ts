/**
 * Reads a deployment directory's `config.yaml`: file → YAML → environment
 * overrides → the mode's defaults → DeploymentConfig. Every failure is a
 * ConfigError naming the file, or the environment variable that set the value,
 * and the key when there is one.
 */
// Deep imports: the package index would load every platform module (HTTP API, clients...): ~30 MB per process.
import * as FileSystem from "@effect/platform/FileSystem"
import * as Path from "@effect/platform/Path"
import { Clock, Effect } from "effect"
import YAML from "yaml"
import { ConfigError } from "./ConfigError.js"
import { decodeConfigValue } from "./decode.js"
import { DeploymentConfig, type ModeName } from "./DeploymentConfig.js"
import { applyEnvOverrides, attributeToVariables, type Environment, envOverridesOf } from "./envOverrides.js"
import { withModeDefaults } from "./modeDefaults.js"
import { checkScheduleTriggers } from "./scheduleTriggers.js"

export const CONFIG_FILE_NAME = "config.yaml"

/** A validated deployment: its directory, config file and decoded config. */
export interface Deployment {
  /** The deployment directory as given (relative paths stay relative, for messages). */
  readonly dir: string
  /** Absolute deployment directory; paths in the config are relative to it. */
  readonly root: string
  /** `<dir>/config.yaml` as shown in messages. */
  readonly configFile: string
  /** Decoded, with environment overrides and the mode's defaults applied; `config.mode` is the mode to run. */
  readonly config: DeploymentConfig
}

export interface LoadOptions {
  /** The mode to run (the CLI's `--mode`); wins over SZ_MODE and the file's `mode`. */
  readonly mode?: ModeName | undefined
  /** Where `SZ_<SECTION>_<KEY>` overrides are read (default: this process's environment). */
  readonly env?: Environment
}

/** Parses YAML text; an empty document is an empty mapping (all defaults). */
export const parseYaml = (file: string, text: string): Effect.Effect<unknown, ConfigError> => {
  const document = YAML.parseDocument(text)
  const [error] = document.errors
  if (error !== undefined) {
    const position = error.linePos?.[0]
    const where = position === undefined ? "" : ` at line ${position.line}, column ${position.col}`
    const reason = error.message.split(" at line ")[0]!
    return Effect.fail(ConfigError.about(file, `invalid YAML${where}: ${reason}`))
  }
  return Effect.succeed(document.toJS() ?? {})
}

const readConfigText = (file: string) =>
  Effect.flatMap(FileSystem.FileSystem, (fs) => fs.readFileString(file)).pipe(
    Effect.catchTag("SystemError", (error) =>
      Effect.fail(
        ConfigError.about(
          file,
          error.reason === "NotFound"
            ? "file not found (--deployment must name a directory that contains config.yaml)"
            : `cannot read the file: ${error.message}`
        )
      )
    ),
    Effect.catchTag("BadArgument", (error) => Effect.fail(ConfigError.about(file, `cannot read the file: ${error.message}`)))
  )

/** file → YAML → environment overrides → mode defaults → DeploymentConfig (→ triggers checked). */
export const loadDeployment = Effect.fn("loadDeployment")(function* (dir: string, options: LoadOptions = {}) {
  const path = yield* Path.Path
  const configFile = path.join(dir, CONFIG_FILE_NAME)
  const text = yield* readConfigText(configFile)
  const overrides = yield* envOverridesOf(options.env ?? process.env)
  const raw = yield* applyEnvOverrides(yield* parseYaml(configFile, text), overrides)
  const config = yield* decodeConfigValue(DeploymentConfig, configFile, withModeDefaults(raw, options.mode)).pipe(
    Effect.mapError((error) => attributeToVariables(error, overrides))
  )
  yield* checkScheduleTriggers(configFile, config, new Date(yield* Clock.currentTimeMillis))
  return { dir, root: path.resolve(dir), configFile, config } satisfies Deployment
})
