/**
 * The `governor` section: handler processes the deployment starts and
 * supervises (full mode). Keys left out take the governor's defaults
 * (src/components/governor/options.ts), so there is one source of defaults.
 *
 * ```yaml
 * governor:
 *   enabled: true             # left out: the mode decides (on in full)
 *   processes:
 *     - name: billing
 *       command: node
 *       args: [handlers/billing.js]
 *       env: { LOG_LEVEL: info }
 *       cwd: .                  # relative to the deployment directory
 *       restart: on-failure     # never | on-failure | always
 *       backoff: { initial: 1s, max: 30s, factor: 2 }
 *       max_restarts: 5         # within restart_window, then it gives up
 *       restart_window: 1m
 *       stop_grace_period: 10s  # SIGTERM, then SIGKILL after this
 *       curve_keys: billing     # with handlers.remote.curve: the key pair keys/<this>.key/.pub (default: name)
 * ```
 */
import { Schema } from "effect"
import {
  ConfigDuration,
  containing,
  expecting,
  Flag,
  ListOf,
  NonEmptyText,
  NonNegativeInt,
  oneOf,
  optionalKey,
  PositiveDuration,
  Text
} from "../fields.js"

const ProcessName = Schema.String.pipe(
  Schema.pattern(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/),
  expecting("a name of letters, digits, '.', '_' or '-' (at most 64)")
)

/** Environment values may be written as numbers or booleans; the process sees them as text. */
const EnvValue = Schema.Union(Schema.String, Schema.Number, Schema.Boolean).pipe(
  expecting("a string, number or boolean")
)

export const BackoffSection = Schema.Struct({
  /** Delay before the first restart. */
  initial: Schema.optionalWith(PositiveDuration, { exact: true }),
  /** Longest delay between restarts. */
  max: Schema.optionalWith(PositiveDuration, { exact: true }),
  /** Each restart within the window waits `factor` times longer than the one before. */
  factor: Schema.optionalWith(
    Schema.Number.pipe(Schema.finite(), Schema.greaterThanOrEqualTo(1), expecting("a number >= 1")),
    { exact: true }
  )
}).pipe(containing("a mapping"))

export const GovernedProcessEntry = Schema.Struct({
  name: ProcessName,
  command: NonEmptyText,
  args: Schema.optionalWith(ListOf(Text), { exact: true }),
  env: Schema.optionalWith(Schema.Record({ key: Schema.String, value: EnvValue }).pipe(containing("a mapping")), {
    exact: true
  }),
  /** Working directory, relative to the deployment directory. */
  cwd: Schema.optionalWith(NonEmptyText, { exact: true }),
  restart: Schema.optionalWith(oneOf("never", "on-failure", "always"), { exact: true }),
  backoff: Schema.optionalWith(BackoffSection, { exact: true }),
  maxRestarts: optionalKey("max_restarts", NonNegativeInt),
  restartWindow: optionalKey("restart_window", PositiveDuration),
  stopGracePeriod: optionalKey("stop_grace_period", ConfigDuration),
  /**
   * With `handlers.remote.curve` on, the process connects with the key pair
   * `keys/<curve_keys>.key` and `.pub` of the deployment (default: its name),
   * whose public key the registry must allow (a handler id's key).
   */
  curveKeys: optionalKey("curve_keys", ProcessName)
}).pipe(containing("a mapping"))
export type GovernedProcessEntry = typeof GovernedProcessEntry.Type

const firstRepeatedName = (entries: ReadonlyArray<GovernedProcessEntry>): string | undefined => {
  const seen = new Set<string>()
  for (const { name } of entries) {
    if (seen.has(name)) return name
    seen.add(name)
  }
  return undefined
}

export const GovernorSection = Schema.Struct({
  /** Left out: the mode decides (on in full, off in minimal and autonomous). */
  enabled: Schema.optionalWith(Flag, { exact: true }),
  processes: Schema.optionalWith(
    ListOf(GovernedProcessEntry).pipe(
      Schema.filter((entries) => {
        const repeated = firstRepeatedName(entries)
        return repeated === undefined || `process names must be unique: '${repeated}' appears more than once`
      })
    ),
    { exact: true, default: () => [] }
  )
}).pipe(containing("a mapping"))
export type GovernorSection = typeof GovernorSection.Type
