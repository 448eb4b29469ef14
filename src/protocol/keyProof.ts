/**
 * Proof that a register comes from the holder of a CURVE key. libzmq checks
 * the client's key during the handshake, but zeromq.js does not tell which
 * key sent a message; so a handler proves its key inside `register`:
 *
 *   proof = hex(HMAC-SHA256(key = X25519(handlerSecret, serverPublic),
 *                           msg = "sz-register|" + handlerId + "|" + instanceId))
 *
 * The server computes the same secret as X25519(serverSecret, handlerPublic).
 * Only the holders of the handler's or the server's secret key can make it, and
 * it travels inside the CURVE-encrypted channel.
 */
import { createHmac, createPrivateKey, createPublicKey, diffieHellman, timingSafeEqual } from "node:crypto"

const z85Alphabet = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#"
const z85Values = new Map(Array.from(z85Alphabet, (char, value) => [char, value]))

/** Z85 text of `bytes` (a length divisible by 4), as keys are written in config and key files. */
export const z85Encode = (bytes: Uint8Array): string => {
  let text = ""
  for (let i = 0; i < bytes.length; i += 4) {
    let value = ((bytes[i]! << 24) | (bytes[i + 1]! << 16) | (bytes[i + 2]! << 8) | bytes[i + 3]!) >>> 0
    let chunk = ""
    for (let j = 0; j < 5; j++) {
      chunk = z85Alphabet[value % 85] + chunk
      value = Math.floor(value / 85)
    }
    text += chunk
  }
  return text
}

/** The bytes of Z85 `text`; undefined when it is not Z85 (or its length is not a multiple of 5). */
export const z85Decode = (text: string): Buffer | undefined => {
  if (text.length % 5 !== 0) return undefined
  const bytes = Buffer.alloc((text.length / 5) * 4)
  for (let i = 0; i < text.length; i += 5) {
    let value = 0
    for (let j = 0; j < 5; j++) {
      const digit = z85Values.get(text[i + j]!)
      if (digit === undefined) return undefined
      value = value * 85 + digit
    }
    if (value > 0xffffffff) return undefined
    bytes.writeUInt32BE(value, (i / 5) * 4)
  }
  return bytes
}

// DER wrappings of raw 32-byte X25519 keys (RFC 8410), which node:crypto imports.
const pkcs8Prefix = Buffer.from("302e020100300506032b656e04220420", "hex")
const spkiPrefix = Buffer.from("302a300506032b656e032100", "hex")

/** X25519 of a Z85 secret key and a Z85 public key; undefined when either is not a 32-byte Z85 key. */
const sharedSecret = (secretKey: string, publicKey: string): Buffer | undefined => {
  const secret = z85Decode(secretKey)
  const peer = z85Decode(publicKey)
  if (secret?.length !== 32 || peer?.length !== 32) return undefined
  try {
    return diffieHellman({
      privateKey: createPrivateKey({ key: Buffer.concat([pkcs8Prefix, secret]), format: "der", type: "pkcs8" }),
      publicKey: createPublicKey({ key: Buffer.concat([spkiPrefix, peer]), format: "der", type: "spki" })
    })
  } catch {
    // A low-order public key gives no shared secret.
    return undefined
  }
}

const proofOf = (secret: Buffer, message: string): Buffer => createHmac("sha256", secret).update(message, "utf8").digest()

const registerMessage = (handlerId: string, instanceId: string) => `sz-register|${handlerId}|${instanceId}`

/**
 * Proof (hex) that the sender holds `keys.secretKey`, over `message`: each use
 * signs its own labelled message, so a proof made for one cannot pass for another.
 * Undefined when a key is malformed.
 */
export const makeProof = (
  keys: { readonly secretKey: string; readonly serverPublicKey: string },
  message: string
): string | undefined => {
  const secret = sharedSecret(keys.secretKey, keys.serverPublicKey)
  return secret === undefined ? undefined : proofOf(secret, message).toString("hex")
}

/** Whether `proof` over `message` shows that its sender holds the secret of `publicKey` (constant time). */
export const proofMatches = (serverSecretKey: string, publicKey: string, proof: string, message: string): boolean => {
  const secret = sharedSecret(serverSecretKey, publicKey)
  if (secret === undefined || !/^[0-9a-f]{64}$/.test(proof)) return false
  return timingSafeEqual(proofOf(secret, message), Buffer.from(proof, "hex"))
}

/** The handler's proof for a register (hex); undefined when a key is malformed. */
export const makeKeyProof = (
  keys: { readonly secretKey: string; readonly serverPublicKey: string },
  handlerId: string,
  instanceId: string
): string | undefined => makeProof(keys, registerMessage(handlerId, instanceId))

/** Whether `proof` shows that the register's sender holds the secret of `handlerPublicKey` (constant time). */
export const keyProofMatches = (
  serverSecretKey: string,
  handlerPublicKey: string,
  proof: string,
  handlerId: string,
  instanceId: string
): boolean => proofMatches(serverSecretKey, handlerPublicKey, proof, registerMessage(handlerId, instanceId))
