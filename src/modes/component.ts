/**
 * Wraps a component's layer so that a failure while building it stops startup
 * with a message naming the component, whatever went wrong inside (a typed
 * error, a thrown exception, a defect). Errors that already name their source
 * (ConfigError names the file, ComponentFailed its component) pass through,
 * and so does interruption (a signal during startup is not a failure).
 */
import { Cause, Layer, Predicate } from "effect"
import { ConfigError } from "../config/ConfigError.js"
import { ComponentFailed } from "./StartupError.js"

const ownMessage = (error: unknown): string | undefined =>
  Predicate.hasProperty(error, "message") && typeof error.message === "string" && error.message.trim() !== ""
    ? error.message
    : undefined

/**
 * The failure's message followed by those of its causes (`cause` chain), so a
 * wrapper such as "An error has occurred" still shows "listen EADDRINUSE ...".
 */
const describe = (cause: Cause.Cause<unknown>): string => {
  const messages: Array<string> = []
  let error: unknown = Cause.squash(cause)
  for (let depth = 0; depth < 5 && error !== undefined; depth++) {
    const message = ownMessage(error)
    if (message !== undefined && !messages.includes(message)) messages.push(message)
    error = Predicate.hasProperty(error, "cause") ? error.cause : undefined
  }
  return messages.length > 0 ? messages.join(": ") : Cause.pretty(cause)
}

const namesItsSource = (error: unknown): error is ConfigError | ComponentFailed =>
  error instanceof ConfigError || error instanceof ComponentFailed

export const component = <A, E, R>(
  name: string,
  layer: Layer.Layer<A, E, R>
): Layer.Layer<A, ComponentFailed | Extract<E, ConfigError>, R> =>
  Layer.catchAllCause(layer, (cause) => {
    if (Cause.isInterruptedOnly(cause)) return Layer.failCause(cause as Cause.Cause<never>)
    const failure = Cause.failureOption(cause)
    if (failure._tag === "Some" && namesItsSource(failure.value)) {
      return Layer.fail(failure.value as ComponentFailed | Extract<E, ConfigError>)
    }
    return Layer.fail(new ComponentFailed({ component: name, reason: describe(cause) }))
  })
