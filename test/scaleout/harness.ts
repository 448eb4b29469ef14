/**
 * Compiles worker.ts (and the product code it imports) with the build's
 * compiler options into a private directory inside the repository (so
 * node_modules resolves), and runs scheduler processes from it.
 */
import { type ChildProcess, execFile, spawn } from "node:child_process"
import * as fs from "node:fs"
import { dirname, join, resolve } from "node:path"
import { fileURLToPath } from "node:url"
import { promisify } from "node:util"

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..")
const workDir = join(root, "test-results")
const outDir = join(workDir, "scaleout-worker-dist")
const workerJs = join(outDir, "test/scaleout/worker.js")

export const buildWorker = async (): Promise<void> => {
  fs.mkdirSync(workDir, { recursive: true })
  const tsconfig = join(workDir, "tsconfig.scaleout-worker.json")
  fs.writeFileSync(
    tsconfig,
    JSON.stringify({
      extends: "../tsconfig.build.json",
      compilerOptions: { outDir: "scaleout-worker-dist", rootDir: "..", sourceMap: false },
      include: [],
      files: ["../test/scaleout/worker.ts"]
    })
  )
  await promisify(execFile)(process.execPath, [join(root, "node_modules/typescript/bin/tsc"), "-p", tsconfig], {
    cwd: root
  }).catch((error: { stdout?: string; message: string }) => {
    throw new Error(`building the scale-out worker failed:\n${error.stdout ?? error.message}`)
  })
}

export interface Worker {
  readonly child: ChildProcess
  /** Resolves with the exit code (or signal name) once the process has exited. */
  readonly exited: Promise<number | string>
  readonly output: () => string
}

export const startWorker = (
  url: string,
  schema: string,
  schedulerId: string,
  runsFile: string,
  leaseMs: number
): Worker => {
  const child = spawn(process.execPath, [workerJs, url, schema, schedulerId, runsFile, String(leaseMs)], {
    stdio: ["ignore", "pipe", "pipe"]
  })
  let output = ""
  child.stdout?.on("data", (chunk) => (output += chunk))
  child.stderr?.on("data", (chunk) => (output += chunk))
  const exited = new Promise<number | string>((resolveExit) =>
    child.on("exit", (code, signal) => resolveExit(code ?? signal ?? "unknown"))
  )
  return { child, exited, output: () => output }
}

/** Stops the workers with SIGTERM; their output is kept in test-results/ for a failing run's diagnosis. */
export const stopAll = async (workers: ReadonlyArray<Worker>): Promise<Array<number | string>> => {
  for (const worker of workers) worker.child.kill("SIGTERM")
  const codes = await Promise.all(workers.map((worker) => worker.exited))
  for (const worker of workers) fs.writeFileSync(join(workDir, `scaleout-worker-${worker.child.pid}.log`), worker.output())
  return codes
}

export { readRuns, type RunLine, waitFor } from "../components/datastore/sqlite/processHarness.js"
