/**
 * One scheduler process for the scale-out tests, compiled by harness.ts and
 * run as `node worker.js <url> <schema> <schedulerId> <runsFile> <leaseMs>`.
 * It runs the scheduler on the postgres store and broker until SIGTERM.
 *
 * Handler `probe`:
 * - `record` appends `{ event: "done", ... }` for the attempt and returns;
 * - `hangFirst` appends "start"; attempt 1 then never finishes (the test kills
 *   the process), later attempts append "done" and return.
 * One JSON line per event, appended synchronously so a SIGKILL loses nothing
 * that was reported.
 */
import { NodeRuntime } from "@effect/platform-node"
import { Layer, Logger, LogLevel } from "effect"
import { appendFileSync } from "node:fs"
import * as PostgresBroker from "../../src/components/broker/Postgres.js"
import * as PostgresStore from "../../src/components/datastore/Postgres.js"
import * as LocalRegistry from "../../src/components/registry/Local.js"
import type { Job } from "../../src/domain/Job.js"
import * as Scheduler from "../../src/services/scheduler/layer.js"

const [url, schema, schedulerId, runsFile, leaseMs] = process.argv.slice(2)
if (url === undefined || schema === undefined || schedulerId === undefined || runsFile === undefined) {
  console.error("usage: worker.js <url> <schema> <schedulerId> <runsFile> <leaseMs>")
  process.exit(2)
}

const report = (event: "start" | "done", job: Job) =>
  appendFileSync(
    runsFile,
    JSON.stringify({
      event,
      pid: process.pid,
      schedulerId,
      jobId: job.id,
      taskId: job.taskId,
      scheduleId: job.scheduleId,
      fireTime: job.scheduledFireTime?.getTime() ?? null,
      attempt: job.attempt
    }) + "\n"
  )

const probe = LocalRegistry.defineLocalHandler({
  id: "probe",
  methods: {
    record: ({ job }) => {
      report("done", job)
      return "ok"
    },
    hangFirst: ({ job, signal }) => {
      report("start", job)
      if (job.attempt > 1) {
        report("done", job)
        return "ok"
      }
      return new Promise((_, reject) => signal.addEventListener("abort", () => reject(new Error("aborted"))))
    }
  }
})

const options = { url, schema, maxConnections: 4 }
const App = Scheduler.layer({
  id: schedulerId,
  maxConcurrentJobs: 200,
  leaseDuration: Number(leaseMs ?? 30_000),
  stopGracePeriod: "3 seconds"
}).pipe(
  Layer.provide(PostgresStore.layer(options)),
  Layer.provide(LocalRegistry.layer([probe])),
  Layer.provide(PostgresBroker.layer(options))
)

// SZ_WORKER_DEBUG=1 shows debug logs (a fiber that died, for one) when diagnosing a run.
const logLevel = process.env.SZ_WORKER_DEBUG === "1" ? LogLevel.Debug : LogLevel.Info
NodeRuntime.runMain(Layer.launch(App).pipe(Logger.withMinimumLogLevel(logLevel)))
