/**
 * What the governor needs to know about each process, with defaults applied
 * and paths resolved: built from the config section by `fromConfig`.
 */
import * as path from "node:path"
import { Duration } from "effect"
import type { GovernedProcessEntry, GovernorSection } from "../../config/sections/governor.js"
import type { RestartPolicy } from "../../services/Governor.js"

export interface Backoff {
  readonly initial: Duration.Duration
  readonly max: Duration.Duration
  readonly factor: number
}

export interface RestartRules {
  readonly restart: RestartPolicy
  readonly backoff: Backoff
  /** Restarts allowed within `window`; one more exit in it and the governor gives up. */
  readonly maxRestarts: number
  readonly window: Duration.Duration
}

export interface ProcessSpec extends RestartRules {
  readonly name: string
  readonly command: string
  readonly args: ReadonlyArray<string>
  /** Added to (and overriding) the governor's own environment. */
  readonly env: Readonly<Record<string, string>>
  /** Absolute working directory. */
  readonly cwd: string
  /** After SIGTERM, how long to wait before SIGKILL. */
  readonly stopGracePeriod: Duration.Duration
}

export const defaults = {
  restart: "on-failure" as RestartPolicy,
  backoff: { initial: Duration.seconds(1), max: Duration.seconds(30), factor: 2 } satisfies Backoff,
  maxRestarts: 5,
  window: Duration.minutes(1),
  stopGracePeriod: Duration.seconds(10)
}

const specOf = (entry: GovernedProcessEntry, deploymentDir: string): ProcessSpec => ({
  name: entry.name,
  command: entry.command,
  args: entry.args ?? [],
  env: Object.fromEntries(Object.entries(entry.env ?? {}).map(([key, value]) => [key, String(value)])),
  cwd: path.resolve(deploymentDir, entry.cwd ?? "."),
  restart: entry.restart ?? defaults.restart,
  backoff: {
    initial: entry.backoff?.initial ?? defaults.backoff.initial,
    max: entry.backoff?.max ?? defaults.backoff.max,
    factor: entry.backoff?.factor ?? defaults.backoff.factor
  },
  maxRestarts: entry.maxRestarts ?? defaults.maxRestarts,
  window: entry.restartWindow ?? defaults.window,
  stopGracePeriod: entry.stopGracePeriod ?? defaults.stopGracePeriod
})

/** The processes of a `governor` section; relative `cwd`s are resolved against `deploymentDir`. */
export const fromConfig = (section: GovernorSection, deploymentDir: string): ReadonlyArray<ProcessSpec> =>
  section.processes.map((entry) => specOf(entry, deploymentDir))
