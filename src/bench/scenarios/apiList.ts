/**
 * api-list: the portal answering `GET /api/schedules?limit=100` with 10,000
 * schedules in the store, under concurrent load from a second process (a
 * Node child running a fetch loop, so the load generator does not share the
 * server's event loop). Reports latency percentiles measured by the client,
 * requests per second, and the CPU milliseconds each request cost the server
 * and the client (over the whole load run, warm-up included): on a shared
 * machine the latency depends on the neighbours, the CPU cost much less.
 */
import { spawn } from "node:child_process"
import type { FileSystem } from "@effect/platform"
import { DateTime, Effect } from "effect"
import * as Portal from "../../components/portal/Portal.js"
import { CronTrigger } from "../../domain/triggers/schema.js"
import { cpuMsBetween } from "../measure.js"
import type { Metrics } from "../report.js"
import { addSchedules, type BenchStore, withScheduler } from "./stack.js"

const schedules = 10_000
const concurrency = 8
const warmupMs = 1_000
const measureMs = 5_000
const loadBudgetMs = 150_000

/**
 * The load generator, run with `node --input-type=module -e`: `concurrency`
 * loops each fetching the URL back to back over its own kept-alive
 * connection (node:http, which costs the client less CPU per request than
 * fetch: the client shares the machine's cores with the server); after a
 * warm-up it records each latency, and prints one JSON line with the
 * percentiles, the rate and its own CPU time.
 */
const loadScript = `
import { Agent, get } from "node:http"
const [url, concurrency, warmupMs, measureMs] = process.argv.slice(1)
const agent = new Agent({ keepAlive: true, maxSockets: Number(concurrency) })
const latencies = []
let failures = 0
let total = 0
const start = performance.now()
const warmEnd = start + Number(warmupMs)
const end = warmEnd + Number(measureMs)
const fetchOnce = () =>
  new Promise((resolve, reject) => {
    get(url, { agent }, (response) => {
      response.on("data", () => {})
      response.on("end", () => resolve(response.statusCode))
      response.on("error", reject)
    }).on("error", reject)
  })
const loop = async () => {
  while (performance.now() < end) {
    const t0 = performance.now()
    const status = await fetchOnce()
    const t1 = performance.now()
    total++
    if (status !== 200) failures++
    if (t0 >= warmEnd && t1 <= end) latencies.push(t1 - t0)
  }
}
await Promise.all(Array.from({ length: Number(concurrency) }, loop))
agent.destroy()
latencies.sort((a, b) => a - b)
const at = (p) => latencies[Math.min(latencies.length, Math.max(1, Math.ceil(p / 100 * latencies.length))) - 1]
const cpu = process.cpuUsage()
console.log(JSON.stringify({ requests: latencies.length, total, failures, p50: at(50), p99: at(99), max: latencies.at(-1), seconds: Number(measureMs) / 1000, cpuMs: (cpu.user + cpu.system) / 1000 }))
`

interface LoadReport {
  /** Requests answered within the measured window. */
  readonly requests: number
  /** Requests answered in the whole run, warm-up included. */
  readonly total: number
  /** CPU time of the load generator process over its whole run. */
  readonly cpuMs: number
  readonly failures: number
  readonly p50: number
  readonly p99: number
  readonly max: number
  readonly seconds: number
}

const runLoad = (url: string) =>
  Effect.async<LoadReport, Error>((resume) => {
    const child = spawn(
      process.execPath,
      ["--input-type=module", "-e", loadScript, url, String(concurrency), String(warmupMs), String(measureMs)],
      { stdio: ["ignore", "pipe", "inherit"] }
    )
    let output = ""
    child.stdout.on("data", (chunk: Buffer) => {
      output += chunk.toString("utf8")
    })
    child.on("error", (error) => resume(Effect.fail(error)))
    child.on("exit", (code) => {
      if (code !== 0) return resume(Effect.fail(new Error(`load generator exited with code ${code}`)))
      try {
        resume(Effect.succeed(JSON.parse(output) as LoadReport))
      } catch {
        resume(Effect.fail(new Error(`load generator printed no report: ${output}`)))
      }
    })
    return Effect.sync(() => void child.kill())
  })

export const apiList = (store: BenchStore): Effect.Effect<Metrics, unknown, FileSystem.FileSystem> =>
  withScheduler(
    store,
    () => null,
    Effect.gen(function* () {
      const now = yield* DateTime.now
      const parts = DateTime.toPartsUtc(DateTime.add(now, { hours: 1 }))
      const trigger = CronTrigger.make({
        hour: String(parts.hours),
        minute: String(parts.minutes),
        startTime: DateTime.toDate(now),
        timezone: "UTC"
      })
      yield* addSchedules(schedules, (i) => ({ id: `list-${String(i).padStart(5, "0")}`, trigger }), loadBudgetMs)
      // The portal starts on the loaded store, as it does when a deployment restarts.
      const { report, serverCpuMs } = yield* Effect.flatMap(Portal.PortalServer, (server) =>
        Effect.gen(function* () {
          const before = process.cpuUsage()
          const report = yield* runLoad(`${server.url}/api/schedules?limit=100`)
          return { report, serverCpuMs: cpuMsBetween(before, process.cpuUsage()) }
        })
      ).pipe(Effect.provide(Portal.layer({ host: "127.0.0.1", port: 0 })))
      if (report.failures > 0) return yield* Effect.dieMessage(`${report.failures} requests did not answer 200`)
      return {
        schedules,
        concurrency,
        p50_ms: report.p50,
        p99_ms: report.p99,
        max_ms: report.max,
        req_per_s: report.requests / report.seconds,
        server_cpu_ms_per_req: serverCpuMs / report.total,
        client_cpu_ms_per_req: report.cpuMs / report.total
      }
    })
  )
