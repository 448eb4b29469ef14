/**
 * One scheduler process for the crash-safety tests, compiled by
 * processHarness.ts and run as `node worker.js <db> <schedulerId> <runsFile>`.
 * It runs the scheduler on the sqlite store until SIGTERM.
 *
 * Handler `probe`:
 * - `record` appends `{ event: "done", ... }` for the attempt and returns;
 * - `hangFirst` appends `{ event: "start" }`; attempt 1 then never finishes
 *   (the test kills the process), later attempts append "done" and return.
 * One JSON line per event, appended synchronously so a SIGKILL loses nothing
 * that was reported.
 */
import { NodeRuntime } from "@effect/platform-node"
import { Layer } from "effect"
import { appendFileSync } from "node:fs"
import * as LocalBroker from "../../../../src/components/broker/Local.js"
import * as SqliteStore from "../../../../src/components/datastore/Sqlite.js"
import * as LocalRegistry from "../../../../src/components/registry/Local.js"
import type { Job } from "../../../../src/domain/Job.js"
import * as Scheduler from "../../../../src/services/scheduler/layer.js"

const [db, schedulerId, runsFile] = process.argv.slice(2)
if (db === undefined || schedulerId === undefined || runsFile === undefined) {
  console.error("usage: worker.js <db> <schedulerId> <runsFile>")
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

const App = Scheduler.layer({ id: schedulerId, maxConcurrentJobs: 50, stopGracePeriod: "2 seconds" }).pipe(
  Layer.provide(SqliteStore.layer({ filename: db, busyTimeoutMs: 10_000 })),
  Layer.provide(LocalRegistry.layer([probe])),
  Layer.provide(LocalBroker.layer)
)

NodeRuntime.runMain(Layer.launch(App))
