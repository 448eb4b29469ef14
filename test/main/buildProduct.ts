/**
 * Builds the product's entry point (src/main.ts and what it imports, plus the
 * handler SDK that governed handler processes import) the way
 * `npm run build` does (scripts/build.mjs: tsc with the build's options, then
 * the non-TypeScript assets) into a private directory, so process tests run
 * the real `node <dir>/main.js` without racing other builds of dist/.
 * The directory sits inside the repository so `node_modules` resolves.
 */
import { execFile } from "node:child_process"
import { mkdir, writeFile } from "node:fs/promises"
import { dirname, join, resolve } from "node:path"
import { fileURLToPath } from "node:url"
import { promisify } from "node:util"

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..")
const workDir = join(root, "test-results")
export const productDir = join(workDir, "process-dist")
export const mainJs = join(productDir, "main.js")

export const buildProduct = async (): Promise<void> => {
  await mkdir(workDir, { recursive: true })
  const tsconfig = join(workDir, "tsconfig.process.json")
  await writeFile(
    tsconfig,
    JSON.stringify({
      extends: "../tsconfig.build.json",
      compilerOptions: { outDir: "process-dist", rootDir: "../src" },
      include: [],
      // The handler SDK too: full mode hands its URL to governed handler processes.
      files: ["../src/main.ts", "../src/handler/index.ts"]
    })
  )
  const build = [join(root, "scripts/build.mjs"), "--project", tsconfig, "--out-dir", productDir]
  await promisify(execFile)(process.execPath, build, { cwd: root }).catch((error: { stdout?: string; message: string }) => {
    throw new Error(`building src/main.ts failed:\n${error.stdout ?? error.message}`)
  })
}
