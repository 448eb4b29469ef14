/**
 * An edge process for the SIGKILL test: its SQLite store with the upstream,
 * running `count` jobs one release at a time, then printing `done` and
 * staying up (delivering) until it is killed.
 *
 * Usage: node edgeWorker.js <edge.db> <hub endpoint> <count>
 */
import { Duration, Effect, Layer } from "effect"
import { randomUUID } from "node:crypto"
import * as LocalBroker from "../../../src/components/broker/Local.js"
import * as SqliteStore from "../../../src/components/datastore/Sqlite.js"
import { upstreamLayer } from "../../../src/components/edge/onSqlite.js"
import { HandlerId, JobId, SchedulerId, TaskId } from "../../../src/domain/ids.js"
import { Job } from "../../../src/domain/Job.js"
import { JobResult } from "../../../src/domain/JobResult.js"
import { Task } from "../../../src/domain/Task.js"
import { DataStore } from "../../../src/services/DataStore.js"

const [filename, endpoint, count] = process.argv.slice(2) as [string, string, string]
const task = Task.make({ id: TaskId.make("read-meter"), handler: HandlerId.make("meter"), method: "read", maxRunningJobs: null })
const scheduler = SchedulerId.make(`edge-worker-${process.pid}`)

const edge = upstreamLayer(
  { filename },
  {
    endpoint, edgeId: "edge-1", token: "edge-token-1",
    heartbeatIntervalMs: 200, replyTimeoutMs: 1_000, backoffInitialMs: 20, backoffMaxMs: 200,
    batchSize: 30, pollIntervalMs: 20, trimIntervalMs: 1_000, outbox: { maxRows: null, maxAgeMs: null }
  }
).pipe(Layer.provideMerge(SqliteStore.layer({ filename })), Layer.provide(LocalBroker.layer))

const program = Effect.gen(function* () {
  const store = yield* DataStore
  yield* store.addTask(task)
  for (let i = 0; i < Number(count); i++) {
    const id = JobId.make(randomUUID())
    yield* store.addJob(Job.make({ id, taskId: task.id, createdAt: new Date() }))
    const [job] = yield* store.acquireJobs(scheduler, Duration.seconds(60), 1)
    const now = new Date()
    yield* store.releaseJobs(scheduler, [
      {
        _tag: "Finished",
        job: job!,
        result: JobResult.make({
          jobId: id, taskId: task.id, outcome: "success", attempt: job!.attempt,
          startedAt: now, finishedAt: now, expiresAt: now, error: null, returnValue: i
        })
      }
    ])
    yield* Effect.sleep("2 millis")
  }
  process.stdout.write("done\n")
  return yield* Effect.never
})

Effect.runPromise(Effect.scoped(Effect.provide(program, edge))).catch((error) => {
  process.stderr.write(`edge worker failed: ${String(error)}\n`)
  process.exit(1)
})
