/**
 * dist/main.js: runs the product's bundle (dist/bundle/, written by
 * scripts/build.mjs) with V8's code cache.
 *
 * Why: most of a start's CPU went into parsing and compiling the bundle's
 * JavaScript, again on every start. Node 20 caches compiled code for no
 * module, but a script compiled with `vm.Script` accepts V8's code cache of
 * an earlier run. So the build turns every chunk of the bundle into the body
 * of a CommonJS-style function, starts the product once on a scratch
 * deployment with SZ_CODE_CACHE=write, and this loader writes, when that
 * process exits, the cache of every chunk it loaded (`<chunk>.cache`, holding
 * the functions the start compiled). Every other start reads it, and V8
 * compiles only what the cache lacks. A cache V8 rejects (another Node
 * version, other V8 flags) costs nothing but the compilation it would have
 * saved; SZ_CODE_CACHE=verify reports rejected chunks on stderr at exit,
 * which the build checks. Nothing is written in any other run: dist/ may be
 * read-only.
 *
 * The chunks keep the bundle's split: a chunk is loaded when first required
 * (a dynamic import of a chunk became a require), so a mode still loads only
 * the components it runs.
 */
import { readFileSync, renameSync, writeFileSync } from "node:fs"
import { createRequire } from "node:module"
import { dirname, join } from "node:path"
import { fileURLToPath, pathToFileURL } from "node:url"
import { Script } from "node:vm"

const bundleDir = join(dirname(fileURLToPath(import.meta.url)), "bundle")
const mode = process.env.SZ_CODE_CACHE

/** Packages and Node's built-ins, required as from a module in bundle/. */
const nodeRequire = createRequire(join(bundleDir, "main.cjs"))

/**
 * A chunk cannot `import()` by itself (a vm.Script has no module loader of its
 * own); the build makes the bundle's dynamic imports of other files (handler
 * modules) call this.
 */
const importModule = (specifier: string): Promise<unknown> => import(specifier)

interface Loaded {
  readonly module: { exports: unknown }
  readonly script: Script
}

const loaded = new Map<string, Loaded>()

const readCache = (path: string): Buffer | undefined => {
  try {
    return readFileSync(`${path}.cache`)
  } catch {
    return undefined
  }
}

/** Chunks name each other "./chunk-X.cjs"; everything else comes from node_modules or Node. */
const requireFromChunk = (specifier: string): unknown =>
  specifier.startsWith("./") ? loadChunk(specifier.slice(2)) : nodeRequire(specifier)

const loadChunk = (name: string): unknown => {
  const path = join(bundleDir, name)
  const known = loaded.get(path)
  if (known !== undefined) return known.module.exports
  // The wrapper starts on the chunk's first line, so line numbers in stack traces are the file's.
  const source = `(function (exports, require, module, __szChunkUrl, __szImport) {${readFileSync(path, "utf8")}\n})`
  const script = new Script(source, { filename: path, cachedData: mode === "write" ? undefined : readCache(path) })
  const module = { exports: {} }
  loaded.set(path, { module, script })
  script.runInThisContext()(module.exports, requireFromChunk, module, pathToFileURL(path).href, importModule)
  return module.exports
}

if (mode === "write") {
  process.on("exit", () => {
    // Renamed into place: a process starting meanwhile reads a whole cache or none.
    for (const [path, { script }] of loaded) {
      writeFileSync(`${path}.cache.${process.pid}`, script.createCachedData())
      renameSync(`${path}.cache.${process.pid}`, `${path}.cache`)
    }
  })
} else if (mode === "verify") {
  process.on("exit", () => {
    for (const [path, { script }] of loaded) {
      if (script.cachedDataRejected !== false) process.stderr.write(`code cache not used: ${path}\n`)
    }
  })
}

loadChunk("main.cjs")
