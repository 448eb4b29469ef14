/** A fresh database path inside a temporary directory that is removed when the scope closes. */
import { Effect } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"

export const tempDirectory = Effect.acquireRelease(
  Effect.sync(() => fs.mkdtempSync(path.join(os.tmpdir(), "sz-sqlite-"))),
  (dir) => Effect.sync(() => fs.rmSync(dir, { recursive: true, force: true }))
)

export const tempDatabase = Effect.map(tempDirectory, (dir) => path.join(dir, "schedulezero.db"))
