/** Parsing of query parameters whose format the schema cannot express; failures are 400s naming the parameter. */
import { Duration, Effect, Either } from "effect"
import { parseTime } from "../../domain/triggers/spec.js"
import { apiError, BadRequest } from "./errors.js"

export const invalidParam = (name: string, reason: string) =>
  apiError(BadRequest, "InvalidParameter", `${name}: ${reason}`, { field: name, reason })

/** The longest a request may wait for a job (run now, job result). */
export const maxWait = Duration.minutes(5)

const DURATION = /^(\d+(?:\.\d+)?)\s*(ms|s|m)$/

/** "500ms", "30s", "2m" (at most 5m). */
export const parseWait = (name: string, text: string | undefined) => {
  if (text === undefined) return Effect.succeed(undefined)
  const match = DURATION.exec(text.trim())
  if (match === null) return Effect.fail(invalidParam(name, `expected a duration like 30s, 500ms or 2m, got '${text}'`))
  const amount = Number(match[1])
  const duration =
    match[2] === "ms" ? Duration.millis(amount) : match[2] === "s" ? Duration.seconds(amount) : Duration.minutes(amount)
  return Duration.greaterThan(duration, maxWait)
    ? Effect.fail(invalidParam(name, "must be at most 5m"))
    : Effect.succeed(duration)
}

/** An ISO-8601 instant with an offset. */
export const parseInstant = (name: string, text: string | undefined) =>
  text === undefined
    ? Effect.succeed(undefined)
    : Either.match(parseTime(name, text, undefined), {
        onLeft: (error) => Effect.fail(invalidParam(name, error.reason)),
        onRight: (date) => Effect.succeed(date)
      })
