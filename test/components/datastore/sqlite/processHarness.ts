/**
 * Scheduler processes on one SQLite file (worker.ts, compiled and started by
 * testWorker) and what they report: the runs files they append to.
 */
import * as fs from "node:fs"
import { join } from "node:path"
import { testWorker } from "../../../support/testWorker.js"

export type { Worker } from "../../../support/testWorker.js"

const sqliteWorker = testWorker("sqlite-worker", "test/components/datastore/sqlite/worker.ts")

export const buildWorker = sqliteWorker.build

export const startWorker = (db: string, schedulerId: string, runsFile: string) =>
  sqliteWorker.start([db, schedulerId, runsFile])

export interface RunLine {
  readonly event: "start" | "done"
  readonly pid: number
  readonly schedulerId: string
  readonly jobId: string
  readonly taskId: string
  readonly scheduleId: string | null
  readonly fireTime: number | null
  readonly attempt: number
}

/** Every line the workers appended to the runs files in `dir`. */
export const readRuns = (dir: string): Array<RunLine> =>
  fs
    .readdirSync(dir)
    .filter((name) => name.startsWith("runs-"))
    .flatMap((name) =>
      fs
        .readFileSync(join(dir, name), "utf8")
        .split("\n")
        .filter((line) => line.length > 0)
        .map((line) => JSON.parse(line) as RunLine)
    )

/** Polls `condition` every 200 ms until it holds or `timeoutMs` passes (then throws with `describe()`). */
export const waitFor = async (condition: () => boolean, timeoutMs: number, describe: () => string) => {
  const deadline = Date.now() + timeoutMs
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out: ${describe()}`)
    await new Promise((r) => setTimeout(r, 200))
  }
}
