/**
 * One scheduler process for the scale-out tests, compiled by harness.ts and
 * run as `node worker.js <url> <schema> <schedulerId> <runsFile> <leaseMs>`.
 * It runs the scheduler on the postgres store and broker until SIGTERM.
 * Its handler is `probe` (test/support/probeHandler.ts).
 */
import { NodeRuntime } from "@effect/platform-node"
import { Layer, Logger, LogLevel } from "effect"
import * as PostgresBroker from "../../src/components/broker/Postgres.js"
import * as PostgresStore from "../../src/components/datastore/Postgres.js"
import * as LocalRegistry from "../../src/components/registry/Local.js"
import * as Scheduler from "../../src/services/scheduler/layer.js"
import { probeHandler } from "../support/probeHandler.js"

const [url, schema, schedulerId, runsFile, leaseMs] = process.argv.slice(2)
if (url === undefined || schema === undefined || schedulerId === undefined || runsFile === undefined) {
  console.error("usage: worker.js <url> <schema> <schedulerId> <runsFile> <leaseMs>")
  process.exit(2)
}

const probe = probeHandler(runsFile, schedulerId)

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
