/**
 * Failures that pass: the server restarting or shutting connections down, a
 * connection that broke, a serialization failure or deadlock. An operation
 * that hit one ran in a transaction that did not commit (or, for a lost
 * COMMIT reply, is made safe to repeat by the caller), so it is run again
 * after a short backoff until `reconnectTimeoutMs` has passed.
 */
import { SqlError } from "@effect/sql"
import { Effect, Schedule } from "effect"

/** SQLSTATEs worth a retry: admin/crash shutdown, starting up, too many connections, serialization, deadlock. */
const transientStates = new Set(["57P01", "57P02", "57P03", "53300", "40001", "40P01"])
const transientNodeCodes = new Set(["ECONNREFUSED", "ECONNRESET", "EPIPE", "ETIMEDOUT", "EHOSTUNREACH", "ENETUNREACH"])
const transientMessages = /Connection terminated|not queryable|timeout exceeded when trying to connect|Connection ended/i

export const isTransientCause = (cause: unknown): boolean => {
  const { code, message } = (cause ?? {}) as { code?: unknown; message?: unknown }
  if (typeof code === "string" && (transientStates.has(code) || code.startsWith("08") || transientNodeCodes.has(code))) {
    return true
  }
  return typeof message === "string" && transientMessages.test(message)
}

export const isTransient = (error: unknown): error is SqlError.SqlError =>
  error instanceof SqlError.SqlError && isTransientCause(error.cause)

const backoff = (reconnectTimeoutMs: number) =>
  Schedule.exponential("50 millis").pipe(
    Schedule.union(Schedule.spaced("1 second")),
    Schedule.upTo(reconnectTimeoutMs)
  )

/**
 * Runs `effect` again while it fails transiently (logging the first failure),
 * for up to `reconnectTimeoutMs`. The retry machinery is only built once a
 * failure happened: the success path runs on every operation.
 */
export const retryTransient =
  (reconnectTimeoutMs: number, what: string) =>
  <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
    Effect.catchIf(effect, (error): boolean => isTransient(error), (error) =>
      Effect.zipRight(
        Effect.logWarning(`postgres ${what}: ${String(((error as SqlError.SqlError).cause as { message?: unknown })?.message ?? error)}; retrying`),
        Effect.retry(effect, { while: (e: E): boolean => isTransient(e), schedule: backoff(reconnectTimeoutMs) })
      )
    )
