/**
 * Builds src/main.ts into a private directory (as test/main/buildProduct.ts
 * does, but apart from it, so the two process tests never write the same
 * files at once) and runs `node main.js ...` collecting its output.
 */
import { execFile, spawn } from "node:child_process"
import { mkdir, writeFile } from "node:fs/promises"
import { dirname, join, resolve } from "node:path"
import { fileURLToPath } from "node:url"
import { promisify } from "node:util"
import { Effect } from "effect"

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..")
const workDir = join(root, "test-results")
const outDir = join(workDir, "events-cli-dist")
export const mainJs = join(outDir, "main.js")

export const buildMain = async (): Promise<void> => {
  await mkdir(workDir, { recursive: true })
  const tsconfig = join(workDir, "tsconfig.events-cli.json")
  await writeFile(
    tsconfig,
    JSON.stringify({
      extends: "../tsconfig.build.json",
      compilerOptions: { outDir: "events-cli-dist", rootDir: "../src" },
      include: [],
      files: ["../src/main.ts"]
    })
  )
  const build = [join(root, "scripts/build.mjs"), "--project", tsconfig, "--out-dir", outDir]
  await promisify(execFile)(process.execPath, build, { cwd: root }).catch((error: { stdout?: string; message: string }) => {
    throw new Error(`building src/main.ts failed:\n${error.stdout ?? error.message}`)
  })
}

export interface CliProcess {
  readonly stdout: () => string
  readonly stderr: () => string
  /** Resolves with the exit code when the process ends. */
  readonly exited: Promise<number | null>
}

/** Starts `node main.js ...args`; killed when the scope closes if still running. */
export const startCli = (...args: ReadonlyArray<string>) =>
  Effect.acquireRelease(
    Effect.sync((): CliProcess & { readonly kill: () => void } => {
      const child = spawn(process.execPath, [mainJs, ...args], { stdio: ["ignore", "pipe", "pipe"] })
      let stdout = ""
      let stderr = ""
      child.stdout.on("data", (chunk) => (stdout += String(chunk)))
      child.stderr.on("data", (chunk) => (stderr += String(chunk)))
      const exited = new Promise<number | null>((done) => child.on("exit", (code) => done(code)))
      return {
        stdout: () => stdout,
        stderr: () => stderr,
        exited,
        kill: () => child.exitCode === null && child.signalCode === null && child.kill("SIGKILL")
      }
    }),
    (cli) => Effect.sync(() => cli.kill())
  )
