/**
 * Writes `<deployment>/run/ports.json` once every component is listening:
 * `{ "portal": { "host": "127.0.0.1", "port": 41523, "url": "http://127.0.0.1:41523" }, ... }`
 * (empty when nothing listens), and logs the same. With every port 0, this
 * file is how tools and tests find a deployment. It is written whole (a
 * temporary file renamed over it) so a reader never sees half of it, and
 * removed at shutdown so it never names ports of a process that has stopped.
 */
import * as FileSystem from "@effect/platform/FileSystem"
import * as Path from "@effect/platform/Path"
import { Effect, Layer } from "effect"
import type { Deployment } from "../config/load.js"
import { BoundAddresses } from "./BoundAddresses.js"

export const RUN_DIR = "run"
export const PORTS_FILE = "ports.json"

export const portsFilePath = (path: Path.Path, deployment: Deployment): string =>
  path.join(deployment.root, RUN_DIR, PORTS_FILE)

export const portsFileLayer = (
  deployment: Deployment
): Layer.Layer<never, never, BoundAddresses | FileSystem.FileSystem | Path.Path> =>
  Layer.scopedDiscard(
    Effect.gen(function* () {
      const fs = yield* FileSystem.FileSystem
      const path = yield* Path.Path
      const bound = yield* (yield* BoundAddresses).all
      const file = portsFilePath(path, deployment)
      const written = Effect.gen(function* () {
        yield* fs.makeDirectory(path.dirname(file), { recursive: true })
        const partial = `${file}.${process.pid}.tmp`
        yield* fs.writeFileString(partial, `${JSON.stringify(bound, null, 2)}\n`)
        yield* fs.rename(partial, file)
        yield* Effect.addFinalizer(() => Effect.ignore(fs.remove(file)))
      })
      // Not being able to write the file stops nothing: the ports are logged below either way.
      yield* written.pipe(
        Effect.catchAll((error) => Effect.logWarning(`cannot write ${file}: ${error.message}`))
      )
      const ports = Object.fromEntries(Object.entries(bound).map(([name, address]) => [name, address.url]))
      yield* Effect.logInfo(Object.keys(ports).length === 0 ? "no listening sockets" : "listening").pipe(
        Effect.annotateLogs({ ...ports, portsFile: file })
      )
    })
  )
