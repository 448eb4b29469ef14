/**
 * Wraps the whole HTTP app: enforces the body limit, turns every failure into
 * the one error shape (framework errors included: bad input, unknown route),
 * never lets a stack trace out (defects are logged and answered with a bare
 * 500), and adds the security headers.
 */
import { HttpApiError, HttpIncomingMessage, type HttpApp, HttpServerRequest, HttpServerResponse } from "@effect/platform"
import { Cause, Effect, Option, ParseResult } from "effect"
import {
  BadRequest,
  Conflict,
  type ErrorBody,
  Forbidden,
  NotFound,
  PayloadTooLarge,
  Unauthorized,
  Unavailable
} from "./errors.js"

// By constructor: the classes have the same fields, and Schema classes compare structurally under instanceof.
const statuses = new Map<unknown, number>([
  [BadRequest, 400],
  [Unauthorized, 401],
  [Forbidden, 403],
  [NotFound, 404],
  [Conflict, 409],
  [PayloadTooLarge, 413],
  [Unavailable, 503]
])

const errorResponse = (status: number, error: ErrorBody) =>
  HttpServerResponse.unsafeJson({ error }, { status })

/** The dashboard's policy: only this server's own scripts, styles and API. */
export const dashboardCsp =
  "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
  "font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

/** The API docs page inlines its (bundled, local) Swagger UI, so it needs inline scripts and styles. */
export const docsCsp =
  "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; " +
  "connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'"

export const securityHeaders = (path: string): Record<string, string> => ({
  "content-security-policy": path === "/api/docs" ? docsCsp : dashboardCsp,
  "x-content-type-options": "nosniff",
  "x-frame-options": "DENY",
  "referrer-policy": "no-referrer",
  "cross-origin-opener-policy": "same-origin",
  "permissions-policy": "camera=(), microphone=(), geolocation=()"
})

const decodeField = (issue: ParseResult.ArrayFormatterIssue | undefined): string =>
  issue === undefined ? "" : issue.path.map(String).join(".")

/** The failure of a request as one of our error responses. */
const toResponse = (cause: Cause.Cause<unknown>) =>
  Effect.gen(function* () {
    if (Cause.isInterruptedOnly(cause)) return yield* Effect.interrupt
    // Some framework errors (an unreadable body) arrive as defects: look at whatever failed.
    const failure = Option.orElse(Cause.failureOption(cause), () => Cause.dieOption(cause))
    if (Option.isSome(failure)) {
      const error = failure.value
      const status = typeof error === "object" && error !== null ? statuses.get(error.constructor) : undefined
      if (status !== undefined) return errorResponse(status, (error as { readonly error: ErrorBody }).error)
      if (error instanceof HttpApiError.HttpApiDecodeError) {
        const issue = error.issues[0]
        const field = issue === undefined ? "" : issue.path.map(String).join(".")
        const reason = issue?.message ?? error.message
        return errorResponse(400, {
          tag: "InvalidRequest",
          message: field === "" ? reason : `${field}: ${reason}`,
          details: { field, issues: error.issues.map((i) => ({ field: i.path.map(String).join("."), message: i.message })) }
        })
      }
      if (ParseResult.isParseError(error)) {
        const issue = ParseResult.ArrayFormatter.formatErrorSync(error)[0]
        return errorResponse(400, { tag: "InvalidRequest", message: issue?.message ?? "invalid request", details: { field: decodeField(issue) } })
      }
      const tag = (error as { readonly _tag?: unknown })._tag
      if (tag === "RouteNotFound") {
        const request = yield* HttpServerRequest.HttpServerRequest
        return errorResponse(404, { tag: "RouteNotFound", message: `no route for ${request.method} ${request.url}`, details: null })
      }
      if (tag === "RequestError") {
        return errorResponse(400, {
          tag: "InvalidRequest",
          message: "the request body could not be read (not valid JSON, or larger than the limit)",
          details: null
        })
      }
    }
    yield* Effect.logError("portal: request failed unexpectedly", cause)
    return errorResponse(500, { tag: "InternalError", message: "internal error (logged on the server)", details: null })
  })

export const portalMiddleware =
  (options: { readonly bodyLimit: number }) =>
  (app: HttpApp.Default): HttpApp.Default =>
    Effect.gen(function* () {
      const request = yield* HttpServerRequest.HttpServerRequest
      const path = request.url.split("?")[0] ?? "/"
      const declared = Number(request.headers["content-length"] ?? "0")
      const response =
        declared > options.bodyLimit
          ? errorResponse(413, {
              tag: "PayloadTooLarge",
              message: `request body of ${declared} bytes exceeds the limit of ${options.bodyLimit} bytes`,
              details: { limit: options.bodyLimit }
            })
          : yield* app.pipe(
              HttpIncomingMessage.withMaxBodySize(Option.some(options.bodyLimit)),
              Effect.catchAllCause(toResponse)
            )
      return HttpServerResponse.setHeaders(response, securityHeaders(path))
    })
