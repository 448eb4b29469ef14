/** The sqlite HandlerDirectory on a real file, sharing the store's one connection. */
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { expect } from "@effect/vitest"
import { Effect, Layer } from "effect"
import * as LocalBroker from "../../../../src/components/broker/Local.js"
import * as Sqlite from "../../../../src/components/datastore/Sqlite.js"
import * as SqliteDirectory from "../../../../src/components/registry/zmq/SqliteDirectory.js"
import { directorySuite } from "./directorySuite.js"

/** Open file descriptors of this process on exactly `filename` (one per SQLite connection). */
const connectionsTo = (filename: string): number =>
  fs.readdirSync("/proc/self/fd").filter((fd) => {
    try {
      return fs.readlinkSync(`/proc/self/fd/${fd}`) === filename
    } catch {
      return false
    }
  }).length

directorySuite("sqlite", {
  fresh: Effect.acquireRelease(
    Effect.sync(() => fs.mkdtempSync(path.join(os.tmpdir(), "sz-directory-"))),
    (dir) => Effect.sync(() => fs.rmSync(dir, { recursive: true, force: true }))
  ).pipe(Effect.map((dir) => path.join(dir, "data", "sz.db"))),
  directory: (filename) => SqliteDirectory.layerOnStore({ filename }),
  store: (filename) => Sqlite.layer({ filename }).pipe(Layer.provide(LocalBroker.layer)),
  sharesConnection: (filename) => expect(connectionsTo(filename)).toBe(1)
})
