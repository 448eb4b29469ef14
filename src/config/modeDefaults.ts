/**
 * What the mode decides about config.yaml before it is validated: the mode
 * itself (the CLI's `--mode` wins over the file) and the store used when the
 * file names none — memory for minimal; SQLite under the deployment directory
 * for full and autonomous, whose schedules must survive a restart.
 * Which components run by default is the mode's business (src/modes).
 */
import { Predicate } from "effect"
import { type ModeName, modeNames } from "./DeploymentConfig.js"

/** The `store` section (as written in YAML) a mode uses when the file has none. */
export const defaultStoreOf: Readonly<Record<ModeName, { readonly type: "memory" | "sqlite" }>> = {
  minimal: { type: "memory" },
  full: { type: "sqlite" },
  autonomous: { type: "sqlite" }
}

const isModeName = (value: unknown): value is ModeName => (modeNames as ReadonlyArray<unknown>).includes(value)

/**
 * `raw` (the parsed file, overrides applied) with `mode` set when one is
 * given and the mode's store filled in when there is no `store` key. Anything
 * invalid is left as it is for validation to report.
 */
export const withModeDefaults = (raw: unknown, mode: ModeName | undefined): unknown => {
  if (!Predicate.isRecord(raw) || Array.isArray(raw)) return raw
  const effective = mode ?? raw.mode ?? "minimal"
  return {
    ...raw,
    ...(mode !== undefined && { mode }),
    ...(raw.store === undefined && isModeName(effective) && { store: defaultStoreOf[effective] })
  }
}
