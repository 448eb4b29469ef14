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
import { Cause, Data, Effect, Option } from "effect"

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

/**
 * Waits in real time, whatever Clock the caller runs under: reconnecting is
 * about the real server, and a test on TestClock must not stall in a backoff.
 */
const realSleep = (ms: number): Effect.Effect<void> =>
  Effect.async<void>((resume) => {
    const timer = setTimeout(() => resume(Effect.void), ms)
    return Effect.sync(() => clearTimeout(timer))
  })

/** Backoff before try `n` (1-based): 50 ms doubling, at most 1 s. */
const delayMs = (n: number) => Math.min(1_000, 50 * 2 ** (n - 1))

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
    const retryFor = (first: Transient<E>): Effect.Effect<A, E | Transient<E>, R> => {
      const deadline = performance.now() + reconnectTimeoutMs
      const again = (n: number, last: Transient<E>): Effect.Effect<A, E | Transient<E>, R> =>
        performance.now() + delayMs(n) > deadline
          ? Effect.fail(last)
          : Effect.zipRight(
              realSleep(delayMs(n)),
              Effect.catchIf(marked, (error): error is Transient<E> => error instanceof Transient, (next) => again(n + 1, next))
            )
      return Effect.zipRight(Effect.logWarning(`postgres ${what}: ${describe(first.error)}; retrying`), again(1, first))
    }
    return Effect.catchIf(marked, (error): error is Transient<E> => error instanceof Transient, retryFor).pipe(
      Effect.catchIf(
        (error): error is Transient<E> => error instanceof Transient,
        (last) => Effect.failCause(last.cause)
      )
    ) as Effect.Effect<A, E, R>
  }
