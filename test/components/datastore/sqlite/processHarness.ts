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

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../../../..")
const workDir = join(root, "test-results")
const outDir = join(workDir, "sqlite-worker-dist")
const workerJs = join(outDir, "test/components/datastore/sqlite/worker.js")

export const buildWorker = async (): Promise<void> => {
  fs.mkdirSync(workDir, { recursive: true })
  const tsconfig = join(workDir, "tsconfig.sqlite-worker.json")
  fs.writeFileSync(
    tsconfig,
    JSON.stringify({
      extends: "../tsconfig.build.json",
      compilerOptions: { outDir: "sqlite-worker-dist", rootDir: "..", sourceMap: false },
      include: [],
      files: ["../test/components/datastore/sqlite/worker.ts"]
    })
  )
  await promisify(execFile)(process.execPath, [join(root, "node_modules/typescript/bin/tsc"), "-p", tsconfig], {
    cwd: root
  }).catch((error: { stdout?: string; message: string }) => {
    throw new Error(`building the sqlite worker failed:\n${error.stdout ?? error.message}`)
  })
}

export interface Worker {
  readonly child: ChildProcess
  /** Resolves with the exit code (or signal name) once the process has exited. */
  readonly exited: Promise<number | string>
  readonly output: () => string
}

export const startWorker = (db: string, schedulerId: string, runsFile: string): Worker => {
  const child = spawn(process.execPath, [workerJs, db, schedulerId, runsFile], { stdio: ["ignore", "pipe", "pipe"] })
  let output = ""
  child.stdout?.on("data", (chunk) => (output += chunk))
  child.stderr?.on("data", (chunk) => (output += chunk))
  const exited = new Promise<number | string>((resolveExit) =>
    child.on("exit", (code, signal) => resolveExit(code ?? signal ?? "unknown"))
  )
  return { child, exited, output: () => output }
}

export interface RunLine {
  readonly event: "start" | "done"
  readonly pid: number
  readonly schedulerId: string
  readonly jobId: string
  readonly taskId: string
  readonly scheduleId: string | null
  readonly fireTime: number | null
  readonly attempt: number
}

/** Every line the workers appended to the runs files in `dir`. */
export const readRuns = (dir: string): Array<RunLine> =>
  fs
    .readdirSync(dir)
    .filter((name) => name.startsWith("runs-"))
    .flatMap((name) =>
      fs
        .readFileSync(join(dir, name), "utf8")
        .split("\n")
        .filter((line) => line.length > 0)
        .map((line) => JSON.parse(line) as RunLine)
    )

/** Polls `condition` every 200 ms until it holds or `timeoutMs` passes (then throws with `describe()`). */
export const waitFor = async (condition: () => boolean, timeoutMs: number, describe: () => string) => {
  const deadline = Date.now() + timeoutMs
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out: ${describe()}`)
    await new Promise((r) => setTimeout(r, 200))
  }
}
