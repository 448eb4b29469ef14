/**
 * How the process ends. 0: stopped by a signal or finished; 2: it could not
 * start or was used wrongly (bad flags, bad config, a component that failed
 * to start, a request the portal refused as wrong) —
 * reported as one message on stderr; 3: what a client command asked for does
 * not exist; 1: anything else — a failure that carries its own exit code
 * (an unreachable portal) is reported by its message, the unexpected with its
 * cause.
 */
import type { Teardown } from "@effect/platform/Runtime"
import { Cause, Console, Effect, Exit, Option, Predicate } from "effect"

export const EXIT_UNEXPECTED = 1
export const EXIT_USAGE = 2
export const EXIT_NOT_FOUND = 3

/** Failures that mean "could not start / wrong usage"; each carries a message written for the user. */
const usageTags: ReadonlySet<string> = new Set(["ConfigError", "ComponentFailed", "CliUsageError"])

/**
 * What @effect/cli's ValidationError.isValidationError checks, without
 * importing it: that module loads the whole command line, and this one is
 * part of every start.
 */
const isValidationError = (error: unknown): boolean =>
  Predicate.hasProperty(error, Symbol.for("@effect/cli/ValidationError"))

const isUsageFailure = (error: unknown): boolean =>
  isValidationError(error) ||
  (Predicate.hasProperty(error, "_tag") && typeof error._tag === "string" && usageTags.has(error._tag))

/** A failure that knows its exit code and has a message written for the user (the client commands' errors). */
const ownExitCode = (error: unknown): number | undefined =>
  Predicate.hasProperty(error, "exitCode") && typeof error.exitCode === "number" ? error.exitCode : undefined

/** The exit code for how the main effect ended. */
export const exitCodeOf = <E, A>(exit: Exit.Exit<A, E>): number => {
  if (Exit.isSuccess(exit) || Cause.isInterruptedOnly(exit.cause)) return 0
  return Option.match(Cause.failureOption(exit.cause), {
    onNone: () => EXIT_UNEXPECTED,
    onSome: (error) => ownExitCode(error) ?? (isUsageFailure(error) ? EXIT_USAGE : EXIT_UNEXPECTED)
  })
}

export const teardown: Teardown = (exit, onExit) => onExit(exitCodeOf(exit))

/**
 * Prints why the program failed, once, on stderr: the message of a usage
 * failure (@effect/cli has already printed its own validation errors), or the
 * full cause of anything unexpected.
 */
export const reportFailure = <A, E, R>(program: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
  Effect.tapErrorCause(program, (cause) => {
    if (Cause.isInterruptedOnly(cause)) return Effect.void
    const failure = Cause.failureOption(cause)
    if (Option.isSome(failure) && ownExitCode(failure.value) !== undefined) {
      return Console.error(String((failure.value as { readonly message: unknown }).message))
    }
    if (Option.isSome(failure) && isUsageFailure(failure.value)) {
      return isValidationError(failure.value)
        ? Effect.void
        : Console.error(String((failure.value as { readonly message: unknown }).message))
    }
    return Console.error(Cause.pretty(cause))
  })
