/**
 * edge-idle: the product as a process in autonomous mode (SQLite, one local
 * handler, 100 interval schedules whose first fire time is 10 minutes away),
 * idling for 30 s once it has started. Reports the CPU seconds the process
 * used in that window (`cpu_s_idle`, from /proc/<pid>/stat) and its resident
 * set size at the end (`rss_mb`) and at its highest (`rss_peak_mb`).
 */
import { readFile } from "node:fs/promises"
import { FileSystem } from "@effect/platform"
import { Effect } from "effect"
import type { Metrics } from "../report.js"
import { processCpuSeconds, processRssMb, startProduct } from "./startup.js"

const schedules = 100
const idleSeconds = 30
const peakRssMb = (pid: number) =>
  Effect.promise(async () => {
    const status = await readFile(`/proc/${pid}/status`, "utf8")
    return Number(/^VmHWM:\s+(\d+) kB$/m.exec(status)?.[1] ?? Number.NaN) / 1024
  })

const configYaml = (firstFire: Date, extraConfig: ReadonlyArray<string>) =>
  [
    "mode: autonomous",
    "store: { type: sqlite, path: data/schedulezero.db }",
    "handlers: { local: [sample.mjs] }",
    "tasks: [{ id: sample, handler: sample, method: sample }]",
    "schedules:",
    ...Array.from({ length: schedules }, (_, index) => {
      const start = new Date(firstFire.getTime() + index * 1000).toISOString()
      return `  - { id: s${index}, task: sample, trigger: { type: interval, hours: 1, start_time: "${start}" } }`
    }),
    "logging: { level: info }",
    ...extraConfig,
    ""
  ].join("\n")

/** `extraConfig`: more config.yaml lines (edge-idle-upstream adds an `upstream` section). */
export const edgeIdle = (extraConfig: ReadonlyArray<string> = []): Effect.Effect<Metrics, unknown, FileSystem.FileSystem> =>
  Effect.scoped(
    Effect.gen(function* () {
      const fs = yield* FileSystem.FileSystem
      const dir = yield* fs.makeTempDirectoryScoped({ prefix: "sz-bench-edge-" })
      yield* fs.writeFileString(`${dir}/sample.mjs`, `export default { id: "sample", methods: { sample: () => Date.now() } }\n`)
      yield* fs.writeFileString(`${dir}/config.yaml`, configYaml(new Date(Date.now() + 10 * 60_000), extraConfig))
      const product = yield* startProduct(dir)
      yield* product.waitForOutput(/"message":"ScheduleZero started"/)
      const before = yield* processCpuSeconds(product.pid)
      yield* Effect.sleep(`${idleSeconds} seconds`)
      const after = yield* processCpuSeconds(product.pid)
      return {
        cpu_s_idle: after - before,
        rss_mb: yield* processRssMb(product.pid),
        rss_peak_mb: yield* peakRssMb(product.pid),
        schedules
      }
    })
  )
