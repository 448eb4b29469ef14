/**
 * Who is calling: the role of the bearer token (or `admin` when the portal
 * runs open on loopback with no tokens configured). Declared here, in the
 * contract; implemented by security.ts.
 */
import { HttpApiMiddleware, HttpApiSecurity } from "@effect/platform"
import { Context, Schema } from "effect"
import { Unauthorized } from "./errors.js"

export const Role = Schema.Literal("viewer", "admin")
export type Role = typeof Role.Type

export interface CallerShape {
  readonly role: Role
  /** The token's name from config; "anonymous" when the portal is open. */
  readonly name: string
}

export class Caller extends Context.Tag("schedulezero/portal/Caller")<Caller, CallerShape>() {}

export class Authorization extends HttpApiMiddleware.Tag<Authorization>()("schedulezero/portal/Authorization", {
  failure: Unauthorized,
  provides: Caller,
  security: { bearer: HttpApiSecurity.bearer }
}) {}
