/**
 * A worker program written as a test module (a scheduler process for the
 * multi-process tests): compiled with the build's compiler options, with the
 * product code it imports, into a private directory inside the repository (so
 * node_modules resolves), then started as real child processes.
 */
import { type ChildProcess, execFile, spawn } from "node:child_process"
import * as fs from "node:fs"
import { dirname, join, resolve } from "node:path"
import { fileURLToPath } from "node:url"
import { promisify } from "node:util"

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..")
export const workDir = join(root, "test-results")

export interface Worker {
  readonly child: ChildProcess
  /** Resolves with the exit code (or signal name) once the process has exited. */
  readonly exited: Promise<number | string>
  readonly output: () => string
}

/** `name` names the output directory and the error; `source` is the module's path from the repository root. */
export const testWorker = (name: string, source: string) => {
  const outDir = `${name}-dist`
  const workerJs = join(workDir, outDir, source.replace(/\.ts$/, ".js"))

  const build = async (): Promise<void> => {
    fs.mkdirSync(workDir, { recursive: true })
    const tsconfig = join(workDir, `tsconfig.${name}.json`)
    fs.writeFileSync(
      tsconfig,
      JSON.stringify({
        extends: "../tsconfig.build.json",
        compilerOptions: { outDir, rootDir: "..", sourceMap: false },
        include: [],
        files: [`../${source}`]
      })
    )
    await promisify(execFile)(process.execPath, [join(root, "node_modules/typescript/bin/tsc"), "-p", tsconfig], {
      cwd: root
    }).catch((error: { stdout?: string; message: string }) => {
      throw new Error(`building the ${name} failed:\n${error.stdout ?? error.message}`)
    })
  }

  const start = (args: ReadonlyArray<string>): Worker => {
    const child = spawn(process.execPath, [workerJs, ...args], { stdio: ["ignore", "pipe", "pipe"] })
    let output = ""
    child.stdout?.on("data", (chunk) => (output += chunk))
    child.stderr?.on("data", (chunk) => (output += chunk))
    const exited = new Promise<number | string>((resolveExit) =>
      child.on("exit", (code, signal) => resolveExit(code ?? signal ?? "unknown"))
    )
    return { child, exited, output: () => output }
  }

  return { build, start }
}
