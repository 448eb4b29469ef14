/**
 * Supervises the handler processes a deployment declares (`governor.processes`):
 * starts them, restarts them by their policy with backoff, gives up on a crash
 * loop, and stops them at shutdown. It only ever signals processes it spawned
 * itself. Implementation: src/components/governor.
 */
import { Context, type Effect, Schema } from "effect"

export const RestartPolicy = Schema.Literal("never", "on-failure", "always")
export type RestartPolicy = typeof RestartPolicy.Type

/**
 * - `running`: the process is alive.
 * - `backoff`: it exited and waits to be restarted.
 * - `exited`: it exited and its restart policy does not restart it.
 * - `gave-up`: it exited too often within the restart window; it stays down.
 * - `stopping` / `stopped`: the governor is stopping it or has (shutdown).
 */
export const ProcessState = Schema.Literal("running", "backoff", "exited", "gave-up", "stopping", "stopped")
export type ProcessState = typeof ProcessState.Type

/** How a process ended: an exit code, a signal, or an error that kept it from starting. */
export class ProcessExit extends Schema.Class<ProcessExit>("ProcessExit")({
  code: Schema.NullOr(Schema.Int),
  signal: Schema.NullOr(Schema.String),
  /** Set when the process could not be spawned (e.g. "spawn ./worker ENOENT"). */
  error: Schema.NullOr(Schema.String),
  at: Schema.DateFromSelf
}) {
  /** Exit code 0 and no signal or spawn error. */
  get succeeded(): boolean {
    return this.code === 0 && this.signal === null && this.error === null
  }

  get description(): string {
    if (this.error !== null) return `failed to start: ${this.error}`
    return this.signal !== null ? `killed by ${this.signal}` : `exit code ${this.code}`
  }
}

export class ProcessStatus extends Schema.Class<ProcessStatus>("ProcessStatus")({
  name: Schema.String,
  /** The command line as configured (command and arguments). */
  command: Schema.Array(Schema.String),
  /** The current process id; null while it is not running. */
  pid: Schema.NullOr(Schema.Int),
  state: ProcessState,
  /** When the current run started; null while it is not running. */
  startedAt: Schema.NullOr(Schema.DateFromSelf),
  /** Milliseconds since the current run started; null while it is not running. */
  uptimeMs: Schema.NullOr(Schema.NonNegativeInt),
  /** Restarts since the governor started it first. */
  restarts: Schema.NonNegativeInt,
  lastExit: Schema.NullOr(ProcessExit),
  /** Why it is `gave-up`, e.g. "5 restarts within 1m; last: exit code 3". */
  gaveUp: Schema.NullOr(Schema.String)
}) {}

export interface GovernorShape {
  /** Every governed process, in start order. */
  readonly status: Effect.Effect<ReadonlyArray<ProcessStatus>>
}

export class Governor extends Context.Tag("schedulezero/Governor")<Governor, GovernorShape>() {}
