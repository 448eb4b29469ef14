#!/usr/bin/env node
// `npm start`: builds dist/ when it is missing or older than the sources, then
// runs `node dist/main.js --deployment deployments/default` (extra arguments
// after `npm start --` are passed on, and may name another deployment).
//
// The product runs in its own process group and this script forwards SIGINT
// and SIGTERM to it exactly once: a terminal's Ctrl-C would otherwise reach it
// twice (directly and forwarded), and a second signal forces an immediate exit.
import { spawn, spawnSync } from "node:child_process"
import { readdirSync, statSync } from "node:fs"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"

const root = join(dirname(fileURLToPath(import.meta.url)), "..")
const entry = join(root, "dist", "main.js")

const newestModification = (path) => {
  const stats = statSync(path)
  if (!stats.isDirectory()) return stats.mtimeMs
  return readdirSync(path).reduce((newest, name) => Math.max(newest, newestModification(join(path, name))), 0)
}

const builtAt = (() => {
  try {
    return statSync(entry).mtimeMs
  } catch {
    return -1
  }
})()
const sourcesChangedAt = Math.max(
  newestModification(join(root, "src")),
  newestModification(join(root, "tsconfig.json")),
  newestModification(join(root, "tsconfig.build.json"))
)

if (builtAt < sourcesChangedAt) {
  console.error(builtAt < 0 ? "Building dist/ (first start)..." : "Sources changed: rebuilding dist/...")
  const build = spawnSync(process.execPath, [join(root, "scripts", "build.mjs")], { stdio: "inherit" })
  if (build.status !== 0) {
    console.error("Build failed: see the compiler errors above.")
    process.exit(build.status ?? 1)
  }
}

const args = process.argv.slice(2)
const namesDeployment = args.some((arg) => arg === "--deployment" || arg.startsWith("--deployment="))
const child = spawn(
  process.execPath,
  [entry, ...(namesDeployment ? [] : ["--deployment", join("deployments", "default")]), ...args],
  { cwd: root, stdio: ["ignore", "inherit", "inherit"], detached: true }
)

for (const signal of ["SIGINT", "SIGTERM"]) {
  process.on(signal, () => child.kill(signal))
}
child.on("exit", (code, signal) => {
  process.exit(code ?? (signal === null ? 1 : 128))
})
