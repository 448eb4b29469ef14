#!/usr/bin/env node
// `npm run build`: compiles src/ to dist/ with tsc, then copies the files under
// src/ that are not TypeScript (the portal's dashboard in
// src/components/portal/ui/, for one) to the same place under dist/, so dist/
// runs on its own.
//
//   node scripts/build.mjs [--project <tsconfig>] [--out-dir <dir>]
//
// Defaults: tsconfig.build.json and dist/. The process tests use both options
// to build a private copy.
import { spawnSync } from "node:child_process"
import { cpSync, readdirSync, statSync } from "node:fs"
import { dirname, join, relative, resolve } from "node:path"
import { fileURLToPath } from "node:url"
import { parseArgs } from "node:util"

const root = join(dirname(fileURLToPath(import.meta.url)), "..")
const { values } = parseArgs({
  options: { project: { type: "string", default: "tsconfig.build.json" }, "out-dir": { type: "string", default: "dist" } }
})
const sources = join(root, "src")
const outDir = resolve(root, values["out-dir"])

const tsc = join(root, "node_modules", "typescript", "bin", "tsc")
const compiled = spawnSync(process.execPath, [tsc, "-p", resolve(root, values.project)], { stdio: "inherit" })
if (compiled.status !== 0) process.exit(compiled.status ?? 1)

const isAsset = (name) => !name.endsWith(".ts")
const copyAssets = (dir) => {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name)
    if (statSync(path).isDirectory()) copyAssets(path)
    else if (isAsset(name)) cpSync(path, join(outDir, relative(sources, path)))
  }
}
copyAssets(sources)
