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
import { closeSync, fstatSync, openSync, readSync, renameSync, statSync, writeFileSync } from "node:fs"
import { createRequire } from "node:module"
import { dirname, join } from "node:path"
import { fileURLToPath, pathToFileURL } from "node:url"
import { setFlagsFromString } from "node:v8"
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
  /** The inode of the file the script was compiled from. */
  readonly inode: bigint
}

const loaded = new Map<string, Loaded>()

/*
 * The files are read without any allocation of a megabyte or more through
 * malloc: glibc raises its mmap and trim thresholds to the size of the largest
 * such block freed, and every malloc arena then keeps that much freed memory
 * for the life of the process (some 3 MB of an idle edge box's RSS). They are
 * read in pieces through one small buffer into a WebAssembly.Memory, which V8
 * maps itself, grown to the largest file and reused while chunks load (V8 has
 * deserialized a cache when the Script is constructed), then left to the
 * garbage collector. A chunk's source becomes one string in V8's heap (UTF-8
 * decoding, unlike Latin-1, never makes a megabyte external string through
 * malloc), the one V8 compiles: no pieces, joined or wrapped copies of it
 * left for the garbage collector while the process starts.
 */
const pieceSize = 64 * 1024
const piece = Buffer.allocUnsafeSlow(pieceSize)
const wasmPage = 64 * 1024
interface WasmMemory {
  readonly buffer: ArrayBuffer
  grow(pages: number): number
}
// The global WebAssembly object: the compiler's libraries here declare only its types.
const { Memory } = (globalThis as unknown as { WebAssembly: { Memory: new (descriptor: { initial: number }) => WasmMemory } })
  .WebAssembly
let sharedMemory: WasmMemory | undefined

/** Reads the file (as much as it held when opened) into the start of the shared memory. */
const readFile = (path: string): { readonly bytes: Uint8Array; readonly whole: boolean; readonly inode: bigint } => {
  const fd = openSync(path, "r")
  try {
    const { size, ino } = fstatSync(fd, { bigint: true })
    const length = Number(size)
    const memory = sharedMemory ?? new Memory({ initial: 0 })
    sharedMemory = memory
    const missing = Math.ceil(length / wasmPage) - memory.buffer.byteLength / wasmPage
    if (missing > 0) memory.grow(missing)
    const bytes = new Uint8Array(memory.buffer, 0, length)
    let offset = 0
    while (offset < length) {
      const read = readSync(fd, piece, 0, Math.min(pieceSize, length - offset), null)
      if (read === 0) break
      bytes.set(piece.subarray(0, read), offset)
      offset += read
    }
    return { bytes: bytes.subarray(0, offset), whole: offset === length, inode: ino }
  } finally {
    closeSync(fd)
  }
}

/** The chunk's code cache, if it has one and it was read whole. */
const readCache = (path: string): Uint8Array | undefined => {
  try {
    const cache = readFile(`${path}.cache`)
    return cache.whole ? cache.bytes : undefined
  } catch {
    return undefined
  }
}

/** Chunks name each other "./chunk-X.cjs"; everything else comes from node_modules or Node. */
const requireFromChunk = (specifier: string): unknown =>
  specifier.startsWith("./") ? loadChunk(specifier.slice(2)) : nodeRequire(specifier)

/** Chunks being loaded: a chunk's top level requires the chunks it imports. */
let loading = 0

const loadChunk = (name: string): unknown => {
  const path = join(bundleDir, name)
  const known = loaded.get(path)
  if (known !== undefined) return known.module.exports
  loading++
  try {
    return runChunk(path)
  } finally {
    loading--
    if (loading === 0) sharedMemory = undefined
  }
}

const runChunk = (path: string): unknown => {
  const file = readFile(path)
  // Decoded before the cache is read over the same memory.
  const source = Buffer.from(file.bytes.buffer, 0, file.bytes.length).toString("utf8")
  const script = new Script(source, { filename: path, cachedData: mode === "write" ? undefined : readCache(path) })
  const module = { exports: {} }
  loaded.set(path, { module, script, inode: file.inode })
  script.runInThisContext()(module.exports, requireFromChunk, module, pathToFileURL(path).href, importModule)
  return module.exports
}

/*
 * Every process starts without V8's optimizing compiler, TurboFan (--max-opt=1:
 * hot functions still get Sparkplug's baseline code). Starting makes module
 * bodies, YAML parsing and Schema decoding hot for a moment, and what
 * TurboFan optimized then was seldom run again, while TurboFan's own code
 * (some 3 MB of the node binary's pages) and the malloc arenas of the worker
 * threads it compiled on stayed resident for the life of the process: 6 MB
 * of an idle edge box's RSS. A mode whose hot paths want optimized code turns
 * it on once started (src/modes/memory.ts). The flag is set before the first
 * chunk loads and again before caches are written: V8 accepts a code cache
 * only under the flags it was written with, so a chunk first loaded after a
 * mode turned TurboFan on compiles without its cache.
 */
const startFlags = "--max-opt=1"
setFlagsFromString(startFlags)

if (mode === "write") {
  process.on("exit", () => {
    setFlagsFromString(startFlags)
    // Renamed into place: a process starting meanwhile reads a whole cache or none.
    // V8 checks a cache against its source's length only, so none is written
    // beside a chunk another build has replaced since (main.cjs keeps its name).
    for (const [path, { script, inode }] of loaded) {
      if (statSync(path, { bigint: true, throwIfNoEntry: false })?.ino !== inode) continue
      writeFileSync(`${path}.cache.${process.pid}`, script.createCachedData())
      renameSync(`${path}.cache.${process.pid}`, `${path}.cache`)
    }
  })
} else if (mode === "verify") {
  process.on("exit", () => {
    for (const [path, { script }] of loaded) {
      // Undefined when the chunk has no cache (the build's scratch start did not load it).
      if (script.cachedDataRejected === true) process.stderr.write(`code cache rejected: ${path}\n`)
    }
  })
}

loadChunk("main.cjs")
