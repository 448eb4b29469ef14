/**
 * The portal's one error shape, `{ error: { tag, message, details } }`, one
 * class per HTTP status. Each is a Schema.Class (not a TaggedError) so the
 * encoded body is exactly that shape; `tag` names what happened (e.g.
 * "ScheduleNotFound") and `details` carries its fields, never a stack trace.
 */
import { HttpApiSchema } from "@effect/platform"
import { Schema } from "effect"

export const ErrorBody = Schema.Struct({
  tag: Schema.String,
  message: Schema.String,
  details: Schema.Unknown
})
export type ErrorBody = typeof ErrorBody.Type

const fields = { error: ErrorBody }

export class BadRequest extends Schema.Class<BadRequest>("BadRequest")(
  fields,
  HttpApiSchema.annotations({ status: 400, description: "The request is invalid; details name the field." })
) {}
export class Unauthorized extends Schema.Class<Unauthorized>("Unauthorized")(
  fields,
  HttpApiSchema.annotations({ status: 401, description: "No valid bearer token." })
) {}
export class Forbidden extends Schema.Class<Forbidden>("Forbidden")(
  fields,
  HttpApiSchema.annotations({ status: 403, description: "The token's role may not do this (mutations need admin)." })
) {}
export class NotFound extends Schema.Class<NotFound>("NotFound")(
  fields,
  HttpApiSchema.annotations({ status: 404, description: "No such resource." })
) {}
export class Conflict extends Schema.Class<Conflict>("Conflict")(
  fields,
  HttpApiSchema.annotations({ status: 409, description: "The id is taken (or the resource is not in a state that allows this)." })
) {}
export class PayloadTooLarge extends Schema.Class<PayloadTooLarge>("PayloadTooLarge")(
  fields,
  HttpApiSchema.annotations({ status: 413, description: "The request body exceeds the configured limit." })
) {}
export class Unavailable extends Schema.Class<Unavailable>("Unavailable")(
  fields,
  HttpApiSchema.annotations({ status: 503, description: "A component the request needs is not working." })
) {}

type ErrorClass<A> = new (props: { readonly error: ErrorBody }) => A

/** Builds one of the error classes from a tag, message and details. */
export const apiError = <A>(Class: ErrorClass<A>, tag: string, message: string, details: unknown = null): A =>
  new Class({ error: { tag, message, details } })

/** The fields of a tagged domain error, as details (its _tag and message are given separately). */
const detailsOf = (error: object): Record<string, unknown> => {
  const details: Record<string, unknown> = {}
  for (const [key, value] of Object.entries(error)) if (key !== "_tag") details[key] = value
  return details
}

/** A domain error (TaggedError with a message) as the given HTTP error. */
export const fromDomain =
  <A>(Class: ErrorClass<A>) =>
  (error: { readonly _tag: string; readonly message: string }): A =>
    apiError(Class, error._tag, error.message, detailsOf(error))
