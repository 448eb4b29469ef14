/**
 * Failures that pass: the server restarting or shutting connections down, a
 * connection that broke, a serialization failure or deadlock. An operation
 * that hit one ran in a transaction that did not commit (or, for a lost
 * COMMIT reply, is made safe to repeat by the caller), so it is run again
 * after a short backoff until `reconnectTimeoutMs` has passed.
 *
 * @effect/sql turns a failed COMMIT or ROLLBACK into a defect, so defects that
 * are such SqlErrors count too.
 */
import { SqlError } from "@effect/sql"
import { Cause, Data, Effect, Option, Schedule } from "effect"

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

/** The transient SqlError in `cause` (as a failure or a defect), unless the cause holds an interruption. */
const transientIn = <E>(cause: Cause.Cause<E>): Option.Option<SqlError.SqlError> =>
  Cause.isInterrupted(cause)
    ? Option.none()
    : Cause.find(cause, (reason) => {
        const error = reason._tag === "Fail" ? reason.error : reason._tag === "Die" ? reason.defect : undefined
        return isTransient(error) ? Option.some(error) : Option.none()
      })

/** A transient failure, carried through the retry with the cause it stands for. */
class Transient<E> extends Data.TaggedError("Transient")<{ readonly cause: Cause.Cause<E>; readonly error: SqlError.SqlError }> {}

const backoff = (reconnectTimeoutMs: number) =>
  Schedule.exponential("50 millis").pipe(
    Schedule.union(Schedule.spaced("1 second")),
    Schedule.upTo(reconnectTimeoutMs)
  )

const describe = (error: SqlError.SqlError) => {
  const message = (error.cause as { message?: unknown } | undefined)?.message
  return typeof message === "string" ? message : error.message
}

/**
 * Runs `effect` again while it fails transiently (logging the first failure),
 * for up to `reconnectTimeoutMs`; then the last failure stands. The retry
 * machinery is only built once a failure happened: the success path runs on
 * every operation.
 */
export const retryTransient =
  (reconnectTimeoutMs: number, what: string) =>
  <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> => {
    const marked: Effect.Effect<A, E | Transient<E>, R> = Effect.catchAllCause(effect, (cause) =>
      Option.match(transientIn(cause), {
        onNone: (): Effect.Effect<never, E | Transient<E>> => Effect.failCause(cause),
        onSome: (error) => Effect.fail(new Transient({ cause, error }))
      })
    )
    return Effect.catchIf(
      marked,
      (error): error is Transient<E> => error instanceof Transient,
      (first) =>
        Effect.zipRight(
          Effect.logWarning(`postgres ${what}: ${describe(first.error)}; retrying`),
          Effect.retry(marked, { while: (error) => error instanceof Transient, schedule: backoff(reconnectTimeoutMs) })
        )
    ).pipe(
      Effect.catchIf(
        (error): error is Transient<E> => error instanceof Transient,
        (last) => Effect.failCause(last.cause)
      )
    ) as Effect.Effect<A, E, R>
  }
