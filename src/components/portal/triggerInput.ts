/** A trigger from a request body: decoded and validated, with errors naming the field under `trigger`. */
import { Effect, Either } from "effect"
import type { InvalidTrigger } from "../../domain/errors.js"
import { decodeSpec, fromSpec } from "../../domain/triggers/Trigger.js"
import type { Trigger } from "../../domain/triggers/schema.js"
import { apiError, BadRequest } from "./errors.js"

export const invalidTrigger = (error: InvalidTrigger) =>
  apiError(BadRequest, "InvalidTrigger", `trigger.${error.field}: ${error.reason}`, {
    field: `trigger.${error.field}`,
    reason: error.reason
  })

export const triggerFrom = (input: unknown, now: Date): Effect.Effect<Trigger, ReturnType<typeof invalidTrigger>> =>
  Either.match(Either.flatMap(decodeSpec(input), (spec) => fromSpec(spec, now)), {
    onLeft: (error) => Effect.fail(invalidTrigger(error)),
    onRight: Effect.succeed
  })
