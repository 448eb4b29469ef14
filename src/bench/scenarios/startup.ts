/**
 * startup: the product as a process — `node dist/main.js` on a fresh minimal
 * deployment (new SQLite file, one local handler and schedule, portal on port
 * 0) — timed from spawn to the portal answering /api/health with 200. Runs
 * five times, each on a new deployment; `startup_ms` is the median,
 * `_min`/`_max` beside it; `startup_cpu_ms` the CPU time the process used
 * until ready (what wall time would be on an idle machine, less I/O waits);
 * `rss_ready_mb` its RSS when ready.
 *
 * Also exports `startProduct`, which the other process scenarios use.
 */
import { type ChildProcess, spawn } from "node:child_process"
import { readFile } from "node:fs/promises"
import { fileURLToPath } from "node:url"
import { FileSystem } from "@effect/platform"
import { Effect, type Scope } from "effect"
import { median, monotonicMs } from "../measure.js"
import type { Metrics } from "../report.js"

/** dist/main.js, beside this build's bench. */
const mainJs = fileURLToPath(new URL("../../main.js", import.meta.url))

export interface ProductProcess {
  readonly pid: number
  /** Resolves with the first match of `pattern` in the product's stdout (JSON log lines). */
  readonly waitForOutput: (pattern: RegExp) => Effect.Effect<RegExpExecArray, Error>
}

/** Starts `node dist/main.js --deployment=<dir> --log-format=json`; stopped with SIGTERM (and awaited) when the scope closes. */
export const startProduct = (dir: string): Effect.Effect<ProductProcess, never, Scope.Scope> =>
  Effect.map(
    Effect.acquireRelease(
      Effect.sync(() => spawn(process.execPath, [mainJs, `--deployment=${dir}`, "--log-format=json"], { stdio: ["ignore", "pipe", "inherit"] })),
      (child) => stopChild(child)
    ),
    (child) => {
      let output = ""
      child.stdout?.on("data", (chunk: Buffer) => {
        output += chunk.toString("utf8")
      })
      const waitForOutput = (pattern: RegExp) =>
        Effect.async<RegExpExecArray, Error>((resume) => {
          const check = () => {
            const match = pattern.exec(output)
            if (match === null) return false
            resume(Effect.succeed(match))
            return true
          }
          if (check()) return
          const onData = () => {
            if (check()) cleanup()
          }
          const onExit = (code: number | null) => {
            cleanup()
            resume(Effect.fail(new Error(`the product exited (code ${code}) before printing ${pattern}`)))
          }
          const cleanup = () => {
            child.stdout?.off("data", onData)
            child.off("exit", onExit)
          }
          child.stdout?.on("data", onData)
          child.on("exit", onExit)
          return Effect.sync(cleanup)
        })
      return { pid: child.pid ?? 0, waitForOutput }
    }
  )

const stopChild = (child: ChildProcess) =>
  Effect.async<void>((resume) => {
    if (child.exitCode !== null || child.signalCode !== null) return resume(Effect.void)
    child.once("exit", () => resume(Effect.void))
    child.kill("SIGTERM")
  })

/** Resident set size of process `pid` in MB, from /proc (Linux). */
export const processRssMb = (pid: number) =>
  Effect.promise(async () => {
    const status = await readFile(`/proc/${pid}/status`, "utf8")
    const kb = Number(/^VmRSS:\s+(\d+) kB$/m.exec(status)?.[1] ?? Number.NaN)
    return kb / 1024
  })

/** Linux reports /proc CPU times in USER_HZ ticks, 100 per second on every architecture Node supports. */
const ticksPerSecond = 100

/** User + system CPU seconds process `pid` has used, from /proc (Linux). */
export const processCpuSeconds = (pid: number) =>
  Effect.promise(async () => {
    const stat = await readFile(`/proc/${pid}/stat`, "utf8")
    // Fields after the command name (which may contain spaces) start at field 3.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ")
    return (Number(fields[11]) + Number(fields[12])) / ticksPerSecond
  })

const handlerModule = `export default { id: "echo", methods: { echo: ({ kwargs }) => kwargs } }\n`

const minimalOnSqlite = [
  "mode: minimal",
  "store: { type: sqlite, path: data/schedulezero.db }",
  "handlers: { local: [echo.mjs] }",
  "tasks: [{ id: echo, handler: echo, method: echo }]",
  "schedules: [{ id: hourly, task: echo, trigger: { type: cron, expr: '0 * * * *', timezone: UTC } }]",
  "portal: { host: 127.0.0.1, port: 0 }",
  "logging: { level: info }",
  ""
].join("\n")

const runs = 5

/** One start: spawn to the first 200 from /api/health. */
const startOnce = Effect.scoped(
  Effect.gen(function* () {
    const fs = yield* FileSystem.FileSystem
    const dir = yield* fs.makeTempDirectoryScoped({ prefix: "sz-bench-startup-" })
    yield* fs.writeFileString(`${dir}/config.yaml`, minimalOnSqlite)
    yield* fs.writeFileString(`${dir}/echo.mjs`, handlerModule)
    const started = monotonicMs()
    const product = yield* startProduct(dir)
    const [, url] = yield* product.waitForOutput(/portal listening on (http:\/\/[\d.]+:\d+)/)
    const health = `${url}/api/health`
    yield* Effect.promise(() => fetch(health).then((response) => response.status)).pipe(
      Effect.repeat({ until: (status) => status === 200 })
    )
    const ms = monotonicMs() - started
    return { ms, cpuMs: (yield* processCpuSeconds(product.pid)) * 1000, rss: yield* processRssMb(product.pid) }
  })
)

export const startup = (): Effect.Effect<Metrics, unknown, FileSystem.FileSystem> =>
  Effect.gen(function* () {
    const measured = yield* Effect.replicateEffect(startOnce, runs)
    const times = measured.map((run) => run.ms)
    return {
      startup_ms: median(times),
      startup_ms_min: Math.min(...times),
      startup_ms_max: Math.max(...times),
      startup_cpu_ms: median(measured.map((run) => run.cpuMs)),
      rss_ready_mb: median(measured.map((run) => run.rss)),
      runs
    }
  })
