/**
 * One scheduler process for the crash-safety tests, compiled by
 * processHarness.ts and run as `node worker.js <db> <schedulerId> <runsFile>`.
 * It runs the scheduler on the sqlite store until SIGTERM.
 * Its handler is `probe` (test/support/probeHandler.ts).
 */
import { NodeRuntime } from "@effect/platform-node"
import { Layer } from "effect"
import * as LocalBroker from "../../../../src/components/broker/Local.js"
import * as SqliteStore from "../../../../src/components/datastore/Sqlite.js"
import * as LocalRegistry from "../../../../src/components/registry/Local.js"
import * as Scheduler from "../../../../src/services/scheduler/layer.js"
import { probeHandler } from "../../../support/probeHandler.js"

const [db, schedulerId, runsFile] = process.argv.slice(2)
if (db === undefined || schedulerId === undefined || runsFile === undefined) {
  console.error("usage: worker.js <db> <schedulerId> <runsFile>")
  process.exit(2)
}

const probe = probeHandler(runsFile, schedulerId)

const App = Scheduler.layer({ id: schedulerId, maxConcurrentJobs: 50, stopGracePeriod: "2 seconds" }).pipe(
  Layer.provide(SqliteStore.layer({ filename: db, busyTimeoutMs: 10_000 })),
  Layer.provide(LocalRegistry.layer([probe])),
  Layer.provide(LocalBroker.layer)
)

NodeRuntime.runMain(Layer.launch(App))
