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
// compiling them than starting the deployment. The bundle is tree-shaken,
// minified in whitespace and syntax but not in names (stack traces keep their
// function names; a chunk's source stays in the heap of every process that
// loads it, some 1 MB less on an idle edge box), and split at the dynamic
// imports, so a mode loads only the chunks of the components
// it runs (src/modes/lazy.ts). Everything else tsc emitted stays as it is:
// the handler SDK governed handler processes import, the bench and its child
// scripts, the examples.
import { spawn, spawnSync } from "node:child_process"
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs"
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
const asIfUnbundled = (path, contents) => {
  if (!contents.includes("import.meta.url") && contents.match(computedImport) === null) return contents
  const unbundled = `../${relative(sources, path).replace(/\.ts$/, ".js").split("\\").join("/")}`
  const url = `new URL(${JSON.stringify(unbundled)}, import.meta.url).href`
  return contents.replaceAll("import.meta.url", url).replaceAll(computedImport, "__szImport(")
}

// Our sources import effect's modules from the package's index
// (`import { Effect, Schema } from "effect"`), which re-exports every module
// of the package. esbuild drops the modules nothing uses, but it puts a module
// in the chunks of every entry point whose imports reach it file by file, and
// through the index every entry point reaches every module used anywhere: the
// JSON Schema and OpenAPI code only the portal uses, fast-check (Schema's
// arbitraries), STM... all sat in the chunk every start loads, and in the heap
// of an edge box that never runs them. So each value imported from such an
// index is imported from its own module instead (`import * as Effect from
// "effect/Effect"`); a name the index does not export from a module of its
// own fails the build.
const barrels = ["effect", "@effect/sql", "@effect/platform", "@effect/platform-node", "@effect/cli"]
const barrelExports = new Map(
  barrels.map((name) => {
    const index = readFileSync(join(root, "node_modules", name, "dist", "esm", "index.js"), "utf8")
    const exports = new Map()
    for (const [, alias, module] of index.matchAll(/^export \* as (\w+) from "\.\/(\w+)\.js"/gm)) {
      exports.set(alias, { module, namespace: true })
    }
    for (const [, names, module] of index.matchAll(/^export \{([^}]*)\} from "\.\/(\w+)\.js"/gm)) {
      for (const exported of names.split(",").map((part) => part.trim()).filter((part) => part !== "")) {
        exports.set(exported, { module, namespace: false })
      }
    }
    return [name, exports]
  })
)
const barrelImport = new RegExp(`^import \\{([^}]*)\\} from "(${barrels.join("|")})"`, "gm")
const importsFromModules = (path, contents) =>
  contents.replace(barrelImport, (statement, specifiers, barrel) => {
    const types = []
    const values = []
    for (const specifier of specifiers.split(",").map((part) => part.trim()).filter((part) => part !== "")) {
      if (specifier.startsWith("type ")) {
        types.push(specifier)
        continue
      }
      const [, imported, local = imported] = /^(\w+)(?: as (\w+))?$/.exec(specifier) ?? []
      const exported = barrelExports.get(barrel).get(imported)
      if (exported === undefined) throw new Error(`${path}: "${barrel}" has no module for ${specifier}`)
      values.push(
        exported.namespace
          ? `import * as ${local} from "${barrel}/${exported.module}"`
          : `import { ${imported} as ${local} } from "${barrel}/${exported.module}"`
      )
    }
    // As many lines as the statement had, so line numbers in stack traces stay the source's.
    const imports = [...values, ...(types.length > 0 ? [`import { ${types.join(", ")} } from "${barrel}"`] : [])]
    return `${imports.join("; ")}${"\n".repeat(statement.split("\n").length - 1)}`
  })

const ourSources = {
  name: "our-sources",
  setup(build) {
    build.onLoad({ filter: /\.ts$/ }, (args) => {
      if (!args.path.startsWith(sources)) return undefined
      const contents = readFileSync(args.path, "utf8")
      return { contents: asIfUnbundled(args.path, importsFromModules(args.path, contents)), loader: "ts" }
    })
  }
}

// CommonJS packages that bundled modules import at load time for something a
// start does not do, with the names they use: @effect/cli's TOML and INI
// parsers (for options that read a .toml or .ini file, which the product has
// none of; 150 kB), undici and ws, which @effect/platform-node's HTTP
// server imports for its HTTP client and WebSocket upgrades (a megabyte of
// modules that took some 20 ms of every start to run), and mime, whose
// table of some 1,000 types (40 kB) the HTTP server builds at load time to
// name the type of a file it serves. Each is required from node_modules when
// one of its names (or a property of its default export) is first used; a
// bundled module that used another name would get a build warning (no such
// export).
const onFirstUse = {
  toml: ["parse"],
  ini: ["parse"],
  undici: ["Agent", "getGlobalDispatcher"],
  ws: ["WebSocket", "WebSocketServer"],
  mime: []
}
const requiredOnFirstUse = {
  name: "required-on-first-use",
  setup(build) {
    build.onResolve({ filter: /^(toml|ini|undici|ws|mime)$/ }, (args) =>
      args.namespace === "on-first-use" ? { path: args.path, external: true } : { path: args.path, namespace: "on-first-use" }
    )
    build.onLoad({ filter: /.*/, namespace: "on-first-use" }, (args) => {
      const load = `require(${JSON.stringify(args.path)})`
      const names = onFirstUse[args.path].map(
        (name) =>
          `export function ${name}(...args) { const target = ${load}.${name}; return new.target ? Reflect.construct(target, args) : target(...args) }`
      )
      // @effect/platform-node re-exports undici's default export (the module
      // itself) and calls mime's methods on its default export.
      const module = `export default new Proxy({}, { get: (_target, key) => ${load}[key] })`
      return { contents: [...names, module].join("\n"), resolveDir: root }
    })
  }
}

// The docs page's Swagger UI (1.9 MB) is loaded by src/components/portal/docsPage.ts,
// which imports @effect/platform/HttpApiSwagger itself, when the page is first
// asked for. esbuild puts a module in a chunk shared by everything that imports
// it, and @effect/platform's index re-exports HttpApiSwagger: Swagger UI would
// sit in a chunk every start loads. So the index re-exports a stub instead.
const swaggerOnlyWhereImported = {
  name: "swagger-only-where-imported",
  setup(build) {
    build.onResolve({ filter: /^\.\/HttpApiSwagger\.js$/ }, (args) =>
      /@effect[\\/]platform[\\/]dist[\\/]esm[\\/]index\.js$/.test(args.importer)
        ? { path: args.path, namespace: "swagger-stub" }
        : undefined
    )
    build.onLoad({ filter: /.*/, namespace: "swagger-stub" }, () => ({
      contents: `export const layer = () => { throw new Error("import @effect/platform/HttpApiSwagger itself (see scripts/build.mjs)") }`
    }))
  }
}

// Node's built-in modules that @effect/platform-node imports at load time for
// what a start does not do: https (and tls with it, some 6 ms of CPU to load)
// for its HTTP client, and, in NodeContext, child_process for its
// CommandExecutor and readline for its Terminal (child_process is loaded all
// the same by a process that listens on a TCP port: net's listen loads
// cluster). Within those packages each is required when one of its names is
// first used (the product's own modules import them as they are).
const builtinsOnFirstUse = {
  "node:https": ["Agent", "request"],
  "node:child_process": ["spawn", "exec"],
  "node:readline": ["createInterface", "emitKeypressEvents"]
}
const platformBuiltinsOnFirstUse = {
  name: "platform-builtins-on-first-use",
  setup(build) {
    build.onResolve({ filter: /^node:(https|child_process|readline)$/ }, (args) => {
      if (args.namespace === "builtin-on-first-use") return { path: args.path, external: true }
      return /[\\/]@effect[\\/]platform-node(-shared)?[\\/]/.test(args.importer)
        ? { path: args.path, namespace: "builtin-on-first-use" }
        : undefined
    })
    build.onLoad({ filter: /.*/, namespace: "builtin-on-first-use" }, (args) => ({
      contents: builtinsOnFirstUse[args.path]
        .map(
          (name) =>
            `export function ${name}(...args) { const target = require(${JSON.stringify(args.path)}).${name}; return new.target ? Reflect.construct(target, args) : target(...args) }`
        )
        .join("\n"),
      resolveDir: root
    }))
  }
}

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
  plugins: [ourSources, requiredOnFirstUse, platformBuiltinsOnFirstUse, swaggerOnlyWhereImported],
  write: false,
  logLevel: "warning"
})

// Each chunk becomes a CommonJS-style function expression that
// src/cli/bundleLoader.ts runs through vm.Script with V8's code cache (see
// there why): its imports of other chunks become `require("./chunk-X.cjs")`
// (a dynamic import too, so chunks still load when first needed), its
// `import.meta.url` the chunk's URL the loader passes in. The file holds the
// whole function, starting on its first line (line numbers in stack traces
// are the chunk's), so the loader compiles the file's text as it read it.
// They are written beside the bundle and swapped in at once: other processes
// may be running dist/main.js meanwhile.
const staging = `${bundleDir}.${process.pid}`
mkdirSync(staging, { recursive: true })
// V8 stores a script's source one byte a character only when every character
// fits one byte: a single em dash in a comment esbuild keeps (it escapes
// strings and regexes itself) doubles a chunk's source in every process's heap.
const oneByteOnly = (code) =>
  code.replace(/[\u0100-\uffff]/g, (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, "0")}`)
for (const file of esm.outputFiles) {
  const chunk = await esbuild.transform(file.text, {
    format: "cjs",
    platform: "node",
    target: "node20",
    define: { "import.meta.url": "__szChunkUrl" },
    supported: { "dynamic-import": false },
    minifyWhitespace: true,
    minifySyntax: true,
    logLevel: "warning"
  })
  const wrapped = `(function (exports, require, module, __szChunkUrl, __szImport) {${oneByteOnly(chunk.code)}\n})`
  writeFileSync(join(staging, relative(bundleDir, file.path)), wrapped)
}
rmSync(bundleDir, { recursive: true, force: true })
renameSync(staging, bundleDir)
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

// Without a cache the product runs as well, only compiling what the cache
// would have held: a machine where the scratch start fails (no loopback, no
// writable temporary directory) still gets a working build, with a warning.
try {
  await startOnScratch("write", ["/api/health", "/api/schedules", "/api/handlers"])
  if (!readdirSync(bundleDir).some((name) => name.endsWith(".cache"))) throw new Error("the scratch start wrote none")
  const stderr = await startOnScratch("verify", ["/api/health"])
  const rejected = stderr.split("\n").filter((line) => line.startsWith("code cache rejected"))
  if (rejected.length > 0) console.warn(`V8 did not accept the code cache of some chunks:\n${rejected.join("\n")}`)
} catch (error) {
  console.warn(`${relative(root, bundleDir)}/ has no code cache (starts compile all their code): ${error.message}`)
}
