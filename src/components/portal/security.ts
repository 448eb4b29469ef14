/**
 * Bearer-token security. Tokens are random secrets shown once; the deployment
 * keeps only their SHA-256 (hex) with a role. A portal bound to loopback with
 * no tokens is open (and says so in the log); bound anywhere else with no
 * tokens it refuses to start.
 */
import { createHash, randomBytes, timingSafeEqual } from "node:crypto"
import { isIP } from "node:net"
import { HttpServerRequest } from "@effect/platform"
import { Effect, Layer, Redacted, Schema } from "effect"
import { Authorization, Caller, type CallerShape, type Role } from "./Authorization.js"
import { apiError, Forbidden, Unauthorized } from "./errors.js"

export interface TokenEntry {
  /** Shown in logs; never the secret. */
  readonly name: string
  readonly role: Role
  /** SHA-256 of the token, lowercase hex. */
  readonly sha256: string
}

export const tokenHash = (token: string): string => createHash("sha256").update(token, "utf8").digest("hex")

/** A fresh token (prefix "sz_" + 32 random bytes, base64url) and the hash to put in config. */
export const createToken = (): { readonly token: string; readonly sha256: string } => {
  const token = `sz_${randomBytes(32).toString("base64url")}`
  return { token, sha256: tokenHash(token) }
}

/** The lines `tokens create` prints: the token once, and the config entry that stores only its hash. */
export const describeNewToken = (role: Role, name: string, created: { readonly token: string; readonly sha256: string }) =>
  [
    `token (shown once, keep it secret): ${created.token}`,
    "add to config.yaml under portal.tokens:",
    `  - name: ${name}`,
    `    role: ${role}`,
    `    sha256: ${created.sha256}`
  ].join("\n")

export const isLoopback = (host: string): boolean => {
  const bare = host.replace(/^\[|\]$/g, "")
  if (bare === "localhost") return true
  if (isIP(bare) === 4) return bare.startsWith("127.")
  if (isIP(bare) === 6) return bare === "::1" || bare.startsWith("::ffff:127.")
  return false
}

/** The portal may not start: it would expose an unauthenticated API beyond this machine. */
export class PortalInsecure extends Schema.TaggedError<PortalInsecure>()("PortalInsecure", { host: Schema.String }) {
  override get message() {
    return (
      `portal: refusing to listen on ${this.host} without tokens (anyone who reaches it could change schedules). ` +
      "Create one with `node dist/main.js tokens create --role admin` and add the printed entry under portal.tokens " +
      "in config.yaml, or bind to 127.0.0.1."
    )
  }
}

/** Whether the portal runs open (no tokens on loopback), authenticated, or must not start. */
export const accessMode = (host: string, tokens: ReadonlyArray<TokenEntry>) =>
  tokens.length > 0
    ? Effect.succeed("tokens" as const)
    : isLoopback(host)
      ? Effect.as(
          Effect.logWarning(
            `portal: no tokens configured; API open to anyone on this machine (bound to ${host}). ` +
              "Create one with `node dist/main.js tokens create --role admin`."
          ),
          "open" as const
        )
      : Effect.fail(new PortalInsecure({ host }))

const sameHash = (a: string, b: string): boolean => {
  const left = Buffer.from(a, "hex")
  const right = Buffer.from(b, "hex")
  return left.length === right.length && left.length > 0 && timingSafeEqual(left, right)
}

const anonymous: CallerShape = { role: "admin", name: "anonymous" }

/**
 * What anyone may fetch without a token: the dashboard's static files (it asks
 * for a token before calling the API) and the API's description.
 */
export const isPublicPath = (url: string): boolean => {
  const path = url.split("?")[0] ?? ""
  return path === "/" || /^\/ui\/[\w.-]+$/.test(path) || path === "/api/openapi.json" || path === "/api/docs"
}
const publicCaller: CallerShape = { role: "viewer", name: "public" }

/** Resolves the bearer token to a caller; every request needs one unless the portal is open. */
export const authorizationLayer = (mode: "open" | "tokens", tokens: ReadonlyArray<TokenEntry>) =>
  Layer.succeed(Authorization, {
    bearer: (credential) =>
      Effect.flatMap(HttpServerRequest.HttpServerRequest, (request) => {
        const token = Redacted.value(credential)
        if (mode === "open") return Effect.succeed(anonymous)
        if (token === "" && isPublicPath(request.url)) return Effect.succeed(publicCaller)
        if (token === "") {
          return Effect.fail(apiError(Unauthorized, "MissingToken", "an Authorization: Bearer <token> header is required"))
        }
        const hash = tokenHash(token)
        const entry = tokens.find((candidate) => sameHash(candidate.sha256.toLowerCase(), hash))
        return entry === undefined
          ? Effect.fail(apiError(Unauthorized, "InvalidToken", "the bearer token is not valid for this deployment"))
          : Effect.succeed<CallerShape>({ role: entry.role, name: entry.name })
      })
  })

/** Fails with 403 unless the caller is an admin; wraps every mutation. */
export const requireAdmin = Effect.flatMap(Caller, (caller) =>
  caller.role === "admin"
    ? Effect.void
    : Effect.fail(apiError(Forbidden, "AdminRequired", "this action needs a token with role admin", { role: caller.role }))
)

export const adminOnly = <A, E, R>(effect: Effect.Effect<A, E, R>) => Effect.zipRight(requireAdmin, effect)
