import * as Reactivity from "@effect/experimental/Reactivity"
import * as SqliteClient from "@effect/sql-sqlite-node/SqliteClient"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { type ChildProcess, execFile, spawn } from "node:child_process"
import * as fs from "node:fs"
import { dirname, join, resolve } from "node:path"
import { fileURLToPath } from "node:url"
import { promisify } from "node:util"
import { tempDirectory } from "../datastore/sqlite/tempDatabase.js"
import { freeEndpoint, serverLayer, waitUntil } from "./harness.js"

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../../..")
const workDir = join(root, "test-results")
const workerJs = join(workDir, "edge-worker-dist/test/components/edge/edgeWorker.js")

const buildWorker = Effect.promise(async () => {
  fs.mkdirSync(workDir, { recursive: true })
  const tsconfig = join(workDir, "tsconfig.edge-worker.json")
  fs.writeFileSync(
    tsconfig,
    JSON.stringify({
      extends: "../tsconfig.build.json",
      compilerOptions: { outDir: "edge-worker-dist", rootDir: "..", sourceMap: false },
      include: [],
      files: ["../test/components/edge/edgeWorker.ts"]
    })
  )
  await promisify(execFile)(process.execPath, [join(root, "node_modules/typescript/bin/tsc"), "-p", tsconfig], { cwd: root })
})

/** A running edge process, killed (SIGKILL) when the scope closes if still running. */
const startEdge = (db: string, endpoint: string, count: number) =>
  Effect.acquireRelease(
    Effect.sync(() => {
      const child = spawn(process.execPath, [workerJs, db, endpoint, String(count)], { stdio: ["ignore", "pipe", "pipe"] })
      let output = ""
      child.stdout?.on("data", (chunk) => (output += chunk))
      child.stderr?.on("data", (chunk) => (output += chunk))
      const exited = new Promise<void>((done) => child.on("exit", () => done()))
      return { child, exited, output: () => output }
    }),
    (edge) => killEdge(edge)
  )

const killEdge = (edge: { readonly child: ChildProcess; readonly exited: Promise<void> }) =>
  Effect.promise(() => {
    if (edge.child.exitCode === null && edge.child.signalCode === null) edge.child.kill("SIGKILL")
    return edge.exited
  })

/** Job ids in a database's execution log, oldest first (read-only, beside the writer). */
const jobIdsIn = (filename: string) =>
  Effect.gen(function* () {
    if (!fs.existsSync(filename)) return []
    const sql = yield* SqliteClient.make({ filename, readonly: true })
    const rows = yield* sql<{ job_id: string }>`SELECT job_id FROM execution_log ORDER BY seq`
    return rows.map((row) => row.job_id)
  }).pipe(
    Effect.scoped,
    Effect.provide(Reactivity.layer),
    // the file exists before its schema does
    Effect.orElseSucceed((): ReadonlyArray<string> => [])
  )

describe("edge sync across processes", () => {
  it.live(
    "an edge process SIGKILLed mid-outage and restarted: the server gets every execution once, in order",
    () =>
      Effect.gen(function* () {
        yield* buildWorker
        const dir = yield* tempDirectory
        const edgeDb = join(dir, "edge.db")
        const endpoint = yield* freeEndpoint(dir)
        const first = yield* startEdge(edgeDb, endpoint, 100_000)
        yield* waitUntil(jobIdsIn(edgeDb), (ids) => ids.length >= 60)
        yield* killEdge(first)
        const second = yield* startEdge(edgeDb, endpoint, 40)
        yield* waitUntil(Effect.sync(second.output), (output) => output.includes("done"))
        const ran = yield* jobIdsIn(edgeDb)

        const serverDb = join(dir, "server.db")
        yield* Layer.build(serverLayer(serverDb, endpoint))
        const delivered = yield* waitUntil(jobIdsIn(serverDb), (ids) => ids.length >= ran.length)
        expect(delivered).toEqual(ran)
        expect(new Set(delivered).size).toBe(ran.length)
      }).pipe(Effect.scoped),
    120_000
  )
})
