/**
 * Environment overrides for containers: `SZ_<SECTION>_<KEY>=value` sets
 * `<section>.<key>` of config.yaml (`SZ_PORTAL_PORT=0`, `SZ_STORE_PATH=/data/sz.db`,
 * `SZ_LOGGING_LEVEL=debug`), and `SZ_<NAME>` a top-level key (`SZ_MODE=full`).
 * Values are read as YAML scalars or flow collections, so `0` is a number,
 * `false` a flag and `[a.mjs, b.mjs]` a list.
 *
 * They are applied to the parsed file before Schema validation, so a bad value
 * is reported like one in the file, naming the variable instead of the file.
 * Variables whose first word is not a config section (the handler SDK's
 * `SZ_ENDPOINT`, `SZ_CREDENTIAL`, ...) are not overrides and are left alone.
 */
import { Array as Arr, Either, Predicate, Schema, SchemaAST } from "effect"
import YAML from "yaml"
import { ConfigError, ConfigIssue } from "./ConfigError.js"
import { DeploymentConfig } from "./DeploymentConfig.js"

export const ENV_PREFIX = "SZ_"

export type Environment = Readonly<Record<string, string | undefined>>

export interface EnvOverride {
  readonly variable: string
  /** `[section]` or `[section, key]`, as YAML keys. */
  readonly path: readonly [string] | readonly [string, string]
  readonly value: unknown
}

/** The top-level keys of config.yaml (longest first, so `a_b` wins over `a`). */
const topLevelKeys: ReadonlyArray<string> = SchemaAST.getPropertySignatures(Schema.encodedSchema(DeploymentConfig).ast)
  .map((property) => String(property.name))
  .sort((a, b) => b.length - a.length)

const pathOf = (name: string): EnvOverride["path"] | undefined => {
  for (const key of topLevelKeys) {
    if (name === key) return [key]
    if (name.startsWith(`${key}_`) && name.length > key.length + 1) return [key, name.slice(key.length + 1)]
  }
  return undefined
}

/** The text shown for a key path set by an override (`portal.port`). */
export const overridePath = (override: EnvOverride): string => override.path.join(".")

const parseValue = (variable: string, text: string): Either.Either<unknown, ConfigError> => {
  const document = YAML.parseDocument(text)
  const [error] = document.errors
  return error === undefined
    ? Either.right(document.toJS())
    : Either.left(ConfigError.about(variable, `invalid value ${JSON.stringify(text)}: ${error.message.split(" at line ")[0]}`))
}

/** The overrides `env` holds, sorted by variable name (so the result never depends on the environment's order). */
export const envOverridesOf = (env: Environment): Either.Either<ReadonlyArray<EnvOverride>, ConfigError> =>
  Either.all(
    Object.keys(env)
      .filter((variable) => variable.startsWith(ENV_PREFIX))
      .sort()
      .flatMap((variable) => {
        const path = pathOf(variable.slice(ENV_PREFIX.length).toLowerCase())
        return path === undefined
          ? []
          : [Either.map(parseValue(variable, env[variable] ?? ""), (value): EnvOverride => ({ variable, path, value }))]
      })
  )

const isMapping = (value: unknown): value is Record<string, unknown> =>
  Predicate.isRecord(value) && !Array.isArray(value)

/**
 * `raw` (the parsed file) with the overrides set. A section the file has as
 * something other than a mapping cannot take a key: that is an error naming
 * the variable. A file that is not a mapping at all is left for validation to report.
 */
export const applyEnvOverrides = (
  raw: unknown,
  overrides: ReadonlyArray<EnvOverride>
): Either.Either<unknown, ConfigError> => {
  if (!isMapping(raw) || overrides.length === 0) return Either.right(raw)
  const result: Record<string, unknown> = { ...raw }
  for (const override of overrides) {
    const [section, key] = override.path
    if (key === undefined) {
      result[section] = override.value
      continue
    }
    const current = result[section] ?? {}
    if (!isMapping(current)) {
      return Either.left(
        ConfigError.about(override.variable, `cannot set ${overridePath(override)}: '${section}' is not a mapping in the file`)
      )
    }
    result[section] = { ...current, [key]: override.value }
  }
  return Either.right(result)
}

const covers = (override: EnvOverride, issuePath: string): boolean => {
  const path = overridePath(override)
  return issuePath === path || issuePath.startsWith(`${path}.`) || issuePath.startsWith(`${path}[`)
}

/** `error` with each issue about a value an override set naming that override's variable as its source. */
export const attributeToVariables = (error: ConfigError, overrides: ReadonlyArray<EnvOverride>): ConfigError => {
  if (overrides.length === 0) return error
  // The last override applied to a path is the one whose value is there.
  const latestFirst = [...overrides].reverse()
  const issues = Arr.map(error.issues, (issue) => {
    const override = latestFirst.find((candidate) => covers(candidate, issue.path))
    return override === undefined ? issue : new ConfigIssue({ ...issue, source: override.variable })
  })
  return new ConfigError({ file: error.file, issues })
}
