#!/usr/bin/env node
// `npm run build`: compiles src/ to dist/ with tsc, copies the files under
// src/ that are not TypeScript (the portal's dashboard in
// src/components/portal/ui/, for one) to the same place under dist/, then
// bundles the product's entry point (src/main.ts) with esbuild into
// dist/bundle/ and makes dist/main.js load it.
//
//   node scripts/build.mjs [--project <tsconfig>] [--out-dir <dir>]
//
// Defaults: tsconfig.build.json and dist/. The process tests use both options
// to build a private copy.
//
// Why a bundle: unbundled, `node dist/main.js` loads some 900 modules (most of
// them effect's and fast-check's) and spends more time resolving, reading and
// compiling them than starting the deployment. The bundle is tree-shaken (not
// minified, so stack traces stay readable; source maps beside it) and split
// at the dynamic imports, so a mode loads only the chunks of the components
// it runs (src/modes/lazy.ts). Everything else tsc emitted stays as it is:
// the handler SDK governed handler processes import, the bench and its child
// scripts, the examples.
import { spawn, spawnSync } from "node:child_process"
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { dirname, join, relative, resolve } from "node:path"
import { fileURLToPath } from "node:url"
import { parseArgs } from "node:util"
import * as esbuild from "esbuild"

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

// Every file of the bundle sits one directory below outDir, as tsc's output
// does (dist/modes/x.js), so a module's `import.meta.url` can be replaced by
// the URL of its own tsc output: the files it locates beside itself (the
// dashboard's ui/, the handler SDK) are found where they are without the bundle.
// A dynamic import of a computed specifier (a handler module) calls the
// loader's importer instead: a chunk run by vm.Script has no import() of its
// own (src/cli/bundleLoader.ts).
const bundleDir = join(outDir, "bundle")
const computedImport = /\bimport\((?!["'`])/g
const asIfUnbundled = {
  name: "as-if-unbundled",
  setup(build) {
    build.onLoad({ filter: /\.ts$/ }, (args) => {
      if (!args.path.startsWith(sources)) return undefined
      const contents = readFileSync(args.path, "utf8")
      if (!contents.includes("import.meta.url") && contents.match(computedImport) === null) return undefined
      const unbundled = `../${relative(sources, args.path).replace(/\.ts$/, ".js").split("\\").join("/")}`
      const url = `new URL(${JSON.stringify(unbundled)}, import.meta.url).href`
      return { contents: contents.replaceAll("import.meta.url", url).replaceAll(computedImport, "__szImport("), loader: "ts" }
    })
  }
}

// @effect/cli imports the TOML and INI parsers at load time for options that
// read a .toml or .ini file, which the product has none of; 150 kB that every
// start would parse. They are required from node_modules when first called.
const requiredOnFirstUse = {
  name: "required-on-first-use",
  setup(build) {
    build.onResolve({ filter: /^(toml|ini)$/ }, (args) =>
      args.namespace === "on-first-use" ? { path: args.path, external: true } : { path: args.path, namespace: "on-first-use" }
    )
    build.onLoad({ filter: /.*/, namespace: "on-first-use" }, (args) => ({
      contents: `export const parse = (text) => require(${JSON.stringify(args.path)}).parse(text)`,
      resolveDir: root
    }))
  }
}

rmSync(bundleDir, { recursive: true, force: true })
const esm = await esbuild.build({
  entryPoints: { main: join(sources, "main.ts") },
  outdir: bundleDir,
  outExtension: { ".js": ".cjs" },
  bundle: true,
  splitting: true,
  format: "esm",
  platform: "node",
  target: "node20",
  // Native addons are loaded from node_modules at run time; pg would pull in its optional pg-native.
  external: ["better-sqlite3", "zeromq", "pg"],
  plugins: [asIfUnbundled, requiredOnFirstUse],
  write: false,
  logLevel: "warning"
})

// Each chunk becomes the body of a CommonJS-style function that
// src/cli/bundleLoader.ts runs through vm.Script with V8's code cache (see
// there why): its imports of other chunks become `require("./chunk-X.cjs")`
// (a dynamic import too, so chunks still load when first needed), its
// `import.meta.url` the chunk's URL the loader passes in.
mkdirSync(bundleDir, { recursive: true })
for (const file of esm.outputFiles) {
  const chunk = await esbuild.transform(file.text, {
    format: "cjs",
    platform: "node",
    target: "node20",
    define: { "import.meta.url": "__szChunkUrl" },
    supported: { "dynamic-import": false },
    logLevel: "warning"
  })
  writeFileSync(file.path, chunk.code)
}
rmSync(join(outDir, "main.js.map"), { force: true })
await esbuild.build({
  entryPoints: [join(sources, "cli", "bundleLoader.ts")],
  outfile: join(outDir, "main.js"),
  bundle: true,
  format: "esm",
  platform: "node",
  target: "node20",
  banner: { js: "#!/usr/bin/env node" },
  logLevel: "warning"
})

// The code cache (src/cli/bundleLoader.ts): one start of the product on a
// scratch minimal deployment (SQLite store, a local handler, a schedule, the
// portal) that serves a few API requests and stops writes the cache of every
// chunk it loaded; a second start checks that V8 accepts it.
const scratchConfig = [
  "mode: minimal",
  "store: { type: sqlite, path: data/schedulezero.db }",
  "handlers: { local: [echo.mjs] }",
  "tasks: [{ id: echo, handler: echo, method: echo }]",
  "schedules: [{ id: hourly, task: echo, trigger: { type: cron, expr: '0 * * * *', timezone: UTC } }]",
  "portal: { host: 127.0.0.1, port: 0 }",
  ""
].join("\n")

/** Starts the built product with SZ_CODE_CACHE=`codeCache`, requests `paths`, stops it; resolves with its stderr. */
const startOnScratch = async (codeCache, paths) => {
  const dir = mkdtempSync(join(tmpdir(), "sz-build-"))
  writeFileSync(join(dir, "config.yaml"), scratchConfig)
  writeFileSync(join(dir, "echo.mjs"), `export default { id: "echo", methods: { echo: ({ kwargs }) => kwargs } }\n`)
  const child = spawn(process.execPath, [join(outDir, "main.js"), `--deployment=${dir}`, "--log-format=json"], {
    env: { ...process.env, SZ_CODE_CACHE: codeCache },
    stdio: ["ignore", "pipe", "pipe"]
  })
  let stdout = ""
  let stderr = ""
  child.stderr.on("data", (data) => (stderr += data))
  const exited = new Promise((done) => child.on("exit", (code, signal) => done({ code, signal })))
  try {
    const url = await new Promise((found, failed) => {
      const timer = setTimeout(() => failed(new Error("the product did not start within 60 s")), 60_000)
      child.stdout.on("data", (data) => {
        stdout += data
        const match = /portal listening on (http:\/\/[\d.]+:\d+)/.exec(stdout)
        if (match !== null) found(match[1], clearTimeout(timer))
      })
      exited.then(({ code }) => failed(new Error(`the product exited (code ${code}) before it was ready`)))
    })
    for (const path of paths) {
      const response = await fetch(`${url}${path}`)
      if (response.status !== 200) throw new Error(`GET ${path} answered ${response.status}`)
    }
  } catch (error) {
    throw new Error(`code cache: ${error.message}\n${stdout}${stderr}`)
  } finally {
    child.kill("SIGTERM")
    await exited
    rmSync(dir, { recursive: true, force: true })
  }
  return stderr
}

await startOnScratch("write", ["/api/health", "/api/schedules", "/api/handlers"])
const rejected = (await startOnScratch("verify", ["/api/health"])).split("\n").filter((line) => line.startsWith("code cache not used"))
if (rejected.length > 0) console.warn(`V8 did not accept the code cache of some chunks:\n${rejected.join("\n")}`)
