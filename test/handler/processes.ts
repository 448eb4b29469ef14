/**
 * Real handler processes for tests: compiles the example handlers (and what
 * they import) with the build's compiler options into a private directory,
 * as test/main/buildProduct.ts does for main.js, then spawns them.
 */
import { type ChildProcess, execFile, spawn } from "node:child_process"
import { mkdir, writeFile } from "node:fs/promises"
import { dirname, join, resolve } from "node:path"
import { fileURLToPath } from "node:url"
import { promisify } from "node:util"
import { Effect } from "effect"

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..")
const workDir = join(root, "test-results")
const outDir = join(workDir, "handler-dist")
export const testHandlerJs = join(outDir, "examples", "testHandler.js")
export const fileWriterJs = join(outDir, "examples", "fileWriter.js")

export const buildExamples = async (): Promise<void> => {
  await mkdir(workDir, { recursive: true })
  const tsconfig = join(workDir, "tsconfig.handlers.json")
  await writeFile(
    tsconfig,
    JSON.stringify({
      extends: "../tsconfig.build.json",
      compilerOptions: { outDir: "handler-dist", rootDir: "../src" },
      include: [],
      files: ["../src/examples/testHandler.ts", "../src/examples/fileWriter.ts"]
    })
  )
  await promisify(execFile)(process.execPath, [join(root, "node_modules/typescript/bin/tsc"), "-p", tsconfig], {
    cwd: root
  }).catch((error: { stdout?: string; message: string }) => {
    throw new Error(`building the example handlers failed:\n${error.stdout ?? error.message}`)
  })
}

export interface HandlerProcess {
  readonly child: ChildProcess
  /** Everything the process printed so far. */
  readonly output: () => string
  /** Resolves with the exit code (or signal name) when the process ends. */
  readonly exited: Promise<number | string>
}

/** Starts `script` with SZ_* settings; killed (SIGKILL) when the scope closes if still running. */
export const spawnHandler = (env: Record<string, string>, script: string = testHandlerJs) =>
  Effect.acquireRelease(
    Effect.sync((): HandlerProcess => {
      const child = spawn(process.execPath, [script], {
        env: { ...process.env, ...env },
        stdio: ["ignore", "pipe", "pipe"]
      })
      let output = ""
      child.stdout?.on("data", (chunk) => (output += String(chunk)))
      child.stderr?.on("data", (chunk) => (output += String(chunk)))
      const exited = new Promise<number | string>((done) =>
        child.on("exit", (code, signal) => done(code ?? signal ?? "unknown"))
      )
      return { child, output: () => output, exited }
    }),
    ({ child }) => Effect.sync(() => child.exitCode === null && child.signalCode === null && child.kill("SIGKILL"))
  )
