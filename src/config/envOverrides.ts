/**
 * Environment overrides for containers: `SZ_<SECTION>_<KEY>=value` sets
 * `<section>.<key>` of config.yaml (`SZ_PORTAL_PORT=0`, `SZ_STORE_PATH=/data/sz.db`,
 * `SZ_LOGGING_LEVEL=debug`), and `SZ_<NAME>` a top-level key (`SZ_MODE=full`).
 * Deeper keys follow the same way, matched against the config's schema
 * (`SZ_HANDLERS_REMOTE_ENDPOINT` sets handlers.remote.endpoint,
 * `SZ_STORE_EXECUTION_LOG_MAX_ROWS` store.execution_log.max_rows). Values are read as YAML scalars or flow collections, so `0` is a number,
 * `false` a flag and `[a.mjs, b.mjs]` a list.
 *
 * They are applied to the parsed file before Schema validation, so a bad value
 * is reported like one in the file, naming the variable instead of the file.
 * Variables whose first word is not a config section (the handler SDK's
 * `SZ_ENDPOINT`, `SZ_CREDENTIAL`, ...) are not overrides and are left alone.
 */
import { Array as Arr, Either, Predicate, Schema, type SchemaAST } from "effect"
import YAML from "yaml"
import { ConfigError, ConfigIssue } from "./ConfigError.js"
import { DeploymentConfig } from "./DeploymentConfig.js"

export const ENV_PREFIX = "SZ_"

export type Environment = Readonly<Record<string, string | undefined>>

export interface EnvOverride {
  readonly variable: string
  /** The YAML key path it sets: `[section]`, `[section, key]`, `[section, key, key]`... */
  readonly path: ReadonlyArray<string>
  readonly value: unknown
}

/** The keys a mapping may have at `ast` (every member's, for a union), with the schema of each value. */
const keysOf = (ast: SchemaAST.AST): ReadonlyArray<readonly [string, SchemaAST.AST]> => {
  switch (ast._tag) {
    case "TypeLiteral":
      return ast.propertySignatures.map((property) => [String(property.name), property.type] as const)
    case "Union":
      return ast.types.flatMap(keysOf)
    case "Refinement":
    case "Transformation":
      return keysOf(ast.from)
    default:
      return []
  }
}

/**
 * The key path `name` (the variable without its prefix, lowercased) spells
 * under `ast`: the longest key that matches, then the rest under that key's
 * schema. Below the top level, a rest that matches no key is taken as one key,
 * so a misspelt key is reported by validation, naming the variable.
 */
const pathUnder = (ast: SchemaAST.AST, name: string, topLevel: boolean): ReadonlyArray<string> | undefined => {
  const keys = [...keysOf(ast)].sort(([a], [b]) => b.length - a.length)
  for (const [key, schema] of keys) {
    if (name === key) return [key]
    if (name.startsWith(`${key}_`)) {
      const rest = pathUnder(schema, name.slice(key.length + 1), false)
      if (rest !== undefined) return [key, ...rest]
    }
  }
  return topLevel ? undefined : [name]
}

const configAst = Schema.encodedSchema(DeploymentConfig).ast

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
        const path = pathUnder(configAst, variable.slice(ENV_PREFIX.length).toLowerCase(), true)
        return path === undefined
          ? []
          : [Either.map(parseValue(variable, env[variable] ?? ""), (value): EnvOverride => ({ variable, path, value }))]
      })
  )

const isMapping = (value: unknown): value is Record<string, unknown> =>
  Predicate.isRecord(value) && !Array.isArray(value)

/** `mapping` with `value` at `path`, creating mappings on the way; the first key whose value is not a mapping, if any. */
const setIn = (
  mapping: Readonly<Record<string, unknown>>,
  path: ReadonlyArray<string>,
  value: unknown
): Either.Either<Record<string, unknown>, number> => {
  const [key, ...rest] = path
  if (key === undefined) return Either.right({ ...mapping })
  if (rest.length === 0) return Either.right({ ...mapping, [key]: value })
  const inner = mapping[key] ?? {}
  if (!isMapping(inner)) return Either.left(0)
  return Either.match(setIn(inner, rest, value), {
    onLeft: (depth) => Either.left(depth + 1),
    onRight: (updated) => Either.right({ ...mapping, [key]: updated })
  })
}

/**
 * `raw` (the parsed file) with the overrides set. A key the file has as
 * something other than a mapping cannot take a key below it: that is an error
 * naming the variable. A file that is not a mapping at all is left for
 * validation to report.
 */
export const applyEnvOverrides = (
  raw: unknown,
  overrides: ReadonlyArray<EnvOverride>
): Either.Either<unknown, ConfigError> => {
  if (!isMapping(raw)) return Either.right(raw)
  let result: Record<string, unknown> = raw
  for (const override of overrides) {
    const updated = setIn(result, override.path, override.value)
    if (Either.isLeft(updated)) {
      const blocking = override.path.slice(0, updated.left + 1).join(".")
      return Either.left(
        ConfigError.about(override.variable, `cannot set ${overridePath(override)}: '${blocking}' is not a mapping in the file`)
      )
    }
    result = updated.right
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
