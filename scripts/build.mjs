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
import { spawnSync } from "node:child_process"
import { cpSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs"
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
const bundleDir = join(outDir, "bundle")
const asIfUnbundled = {
  name: "import-meta-url-as-if-unbundled",
  setup(build) {
    build.onLoad({ filter: /\.ts$/ }, (args) => {
      if (!args.path.startsWith(sources)) return undefined
      const contents = readFileSync(args.path, "utf8")
      if (!contents.includes("import.meta.url")) return undefined
      const unbundled = `../${relative(sources, args.path).replace(/\.ts$/, ".js").split("\\").join("/")}`
      const url = `new URL(${JSON.stringify(unbundled)}, import.meta.url).href`
      return { contents: contents.replaceAll("import.meta.url", url), loader: "ts" }
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
await esbuild.build({
  entryPoints: { main: join(sources, "main.ts") },
  outdir: bundleDir,
  bundle: true,
  splitting: true,
  format: "esm",
  platform: "node",
  target: "node20",
  sourcemap: true,
  // Native addons are loaded from node_modules at run time; pg would pull in its optional pg-native.
  external: ["better-sqlite3", "zeromq", "pg"],
  // Bundled CommonJS packages require Node's built-ins; an ES module has no `require` of its own.
  banner: { js: `import { createRequire as __szCreateRequire } from "node:module"\nconst require = __szCreateRequire(import.meta.url)` },
  plugins: [asIfUnbundled, requiredOnFirstUse],
  logLevel: "warning"
})
rmSync(join(outDir, "main.js.map"), { force: true })
writeFileSync(
  join(outDir, "main.js"),
  "#!/usr/bin/env node\n// The product, bundled by scripts/build.mjs into bundle/ (see there why).\nimport \"./bundle/main.js\"\n"
)
