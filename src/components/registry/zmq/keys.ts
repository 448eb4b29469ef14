/**
 * CURVE keys of a deployment, as Z85 text files in `deployments/<name>/keys/`:
 * `server.key` / `server.pub` for the registry's ROUTER socket and
 * `<handler>.key` / `<handler>.pub` for each handler process. Secret keys are
 * written readable by the owner only. The `keys generate` CLI calls
 * generateKeys.
 */
import * as fs from "node:fs/promises"
import * as path from "node:path"
import { Effect, Schema } from "effect"
import * as zmq from "zeromq"

export interface KeyPair {
  readonly publicKey: string
  readonly secretKey: string
}

export class KeyFileError extends Schema.TaggedError<KeyFileError>()("KeyFileError", {
  path: Schema.String,
  reason: Schema.String
}) {
  override get message() {
    return `${this.path}: ${this.reason}`
  }
}

/** `deployments/<name>/keys` for a deployment directory. */
export const keysDir = (deploymentDir: string): string => path.join(deploymentDir, "keys")

const z85Key = /^[0-9a-zA-Z.\-:+=^!/*?&<>()[\]{}@%$#]{40}$/

const safeName = (name: string): string => {
  if (!/^[A-Za-z0-9._-]{1,200}$/.test(name) || name === "server" || name.startsWith(".")) {
    throw new Error(`'${name}' cannot name a key file (letters, digits, '.', '_', '-'; not 'server')`)
  }
  return name
}

const writeNew = (file: string, text: string, mode: number, overwrite: boolean) =>
  Effect.tryPromise({
    try: () => fs.writeFile(file, text + "\n", { mode, flag: overwrite ? "w" : "wx" }),
    catch: (error) =>
      new KeyFileError({
        path: file,
        reason: (error as NodeJS.ErrnoException).code === "EEXIST"
          ? "already exists (pass overwrite to replace it)"
          : String(error)
      })
  })

const writePair = (dir: string, name: string, overwrite: boolean) =>
  Effect.gen(function*() {
    const pair = zmq.curveKeyPair()
    yield* writeNew(path.join(dir, `${name}.key`), pair.secretKey, 0o600, overwrite)
    yield* writeNew(path.join(dir, `${name}.pub`), pair.publicKey, 0o644, overwrite)
    return pair satisfies KeyPair
  })

export interface GeneratedKeys {
  readonly dir: string
  /** Only when `server` was asked for. */
  readonly server?: KeyPair
  readonly handlers: Readonly<Record<string, KeyPair>>
}

/**
 * Writes a server keypair (when `server` is true) and one keypair per handler
 * name into `<deploymentDir>/keys/`. Existing files are kept unless `overwrite`.
 */
export const generateKeys = (options: {
  readonly deploymentDir: string
  readonly server: boolean
  readonly handlers: ReadonlyArray<string>
  readonly overwrite?: boolean
}): Effect.Effect<GeneratedKeys, KeyFileError> =>
  Effect.gen(function*() {
    const dir = keysDir(options.deploymentDir)
    const names = yield* Effect.try({
      try: () => options.handlers.map(safeName),
      catch: (error) => new KeyFileError({ path: dir, reason: (error as Error).message })
    })
    yield* Effect.tryPromise({
      try: () => fs.mkdir(dir, { recursive: true, mode: 0o700 }),
      catch: (error) => new KeyFileError({ path: dir, reason: String(error) })
    })
    const overwrite = options.overwrite ?? false
    const server = options.server ? yield* writePair(dir, "server", overwrite) : undefined
    const handlers: Record<string, KeyPair> = {}
    for (const name of names) handlers[name] = yield* writePair(dir, name, overwrite)
    return server === undefined ? { dir, handlers } : { dir, server, handlers }
  })

/** Reads one Z85 key file (`<dir>/<name>.key` or `.pub`). */
export const readKey = (file: string): Effect.Effect<string, KeyFileError> =>
  Effect.tryPromise({
    try: () => fs.readFile(file, "utf8"),
    catch: (error) => new KeyFileError({ path: file, reason: String(error) })
  }).pipe(
    Effect.map((text) => text.trim()),
    Effect.filterOrFail(
      (key) => z85Key.test(key),
      () => new KeyFileError({ path: file, reason: "not a 40-character Z85 CURVE key" })
    )
  )
