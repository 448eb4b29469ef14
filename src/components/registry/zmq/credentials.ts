/**
 * Handler credentials: the deployment stores `sha256:<hex>` of each handler
 * id's token, never the token; a register's token is hashed and compared in
 * constant time.
 */
import { createHash, randomBytes, timingSafeEqual } from "node:crypto"

const prefix = "sha256:"

/** The stored form of a token. */
export const hashToken = (token: string): string => prefix + createHash("sha256").update(token, "utf8").digest("hex")

/** A fresh random token (URL-safe, 256 bits) and the hash to put in the deployment. */
export const generateToken = (): { readonly token: string; readonly hash: string } => {
  const token = randomBytes(32).toString("base64url")
  return { token, hash: hashToken(token) }
}

/** The digest inside a stored hash, or undefined when it is not `sha256:` + 64 hex digits. */
export const parseTokenHash = (stored: string): Buffer | undefined =>
  /^sha256:[0-9a-f]{64}$/i.test(stored) ? Buffer.from(stored.slice(prefix.length), "hex") : undefined

/** Whether `token` hashes to `digest`; the comparison takes the same time wherever they differ. */
export const tokenMatches = (token: string, digest: Buffer): boolean =>
  timingSafeEqual(createHash("sha256").update(token, "utf8").digest(), digest)
