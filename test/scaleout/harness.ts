/**
 * Scheduler processes on one PostgreSQL database (worker.ts, compiled and
 * started by testWorker).
 */
import * as fs from "node:fs"
import { join } from "node:path"
import { testWorker, type Worker, workDir } from "../support/testWorker.js"

export type { Worker } from "../support/testWorker.js"

const scaleoutWorker = testWorker("scaleout-worker", "test/scaleout/worker.ts")

export const buildWorker = scaleoutWorker.build

export const startWorker = (url: string, schema: string, schedulerId: string, runsFile: string, leaseMs: number) =>
  scaleoutWorker.start([url, schema, schedulerId, runsFile, String(leaseMs)])

/** Stops the workers with SIGTERM; their output is kept in test-results/ for a failing run's diagnosis. */
export const stopAll = async (workers: ReadonlyArray<Worker>): Promise<Array<number | string>> => {
  for (const worker of workers) worker.child.kill("SIGTERM")
  const codes = await Promise.all(workers.map((worker) => worker.exited))
  for (const worker of workers) fs.writeFileSync(join(workDir, `scaleout-worker-${worker.child.pid}.log`), worker.output())
  return codes
}

export { readRuns, type RunLine, waitFor } from "../components/datastore/sqlite/processHarness.js"
