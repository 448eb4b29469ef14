/**
 * edge-sync: an edge's SQLite store buffers 10,000 executions while its server
 * is down (the upstream running, the link absent); then the server's edge hub
 * comes up and the clock runs until the server's execution log holds them
 * all. Edge and server are separate SQLite files and separate ZeroMQ sockets
 * over loopback TCP, in this one process (its CPU figure covers both sides).
 */
import { Duration, Effect, Layer } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import * as LocalBroker from "../../components/broker/Local.js"
import * as SqliteStore from "../../components/datastore/Sqlite.js"
import { Hub } from "../../components/edge/Hub.js"
import { defaults } from "../../components/edge/fromConfig.js"
import { hubLayer, upstreamLayer } from "../../components/edge/onSqlite.js"
import { Upstream } from "../../components/edge/Upstream.js"
import { hashToken } from "../../components/registry/zmq/credentials.js"
import { HandlerId, JobId, SchedulerId, TaskId } from "../../domain/ids.js"
import { Job } from "../../domain/Job.js"
import { JobResult } from "../../domain/JobResult.js"
import { Task } from "../../domain/Task.js"
import { DataStore } from "../../services/DataStore.js"
import { cpuWindow, monotonicMs } from "../measure.js"
import type { Metrics } from "../report.js"

const rows = 10_000
const chunk = 1_000
const token = "bench-edge-token"
const task = Task.make({ id: TaskId.make("sample"), handler: HandlerId.make("bench"), method: "run", maxRunningJobs: null })
const scheduler = SchedulerId.make("bench-edge")

const tempDir = Effect.acquireRelease(
  Effect.sync(() => fs.mkdtempSync(path.join(os.tmpdir(), "sz-edge-sync-"))),
  (dir) => Effect.sync(() => fs.rmSync(dir, { recursive: true, force: true }))
)

const hubOn = (filename: string, endpoint: string) =>
  Layer.merge(
    SqliteStore.layer({ filename }),
    hubLayer({ filename }, { endpoint, credentials: { edge: hashToken(token) }, heartbeatIntervalMs: 1_000, missedHeartbeats: 3 })
  ).pipe(Layer.provide(LocalBroker.layer))

/** Runs `rows` executions on the edge store, a chunk of jobs per transaction. */
const bufferExecutions = Effect.gen(function* () {
  const store = yield* DataStore
  yield* store.addTask(task)
  for (let from = 0; from < rows; from += chunk) {
    const now = new Date()
    yield* store.addJobs(
      Array.from({ length: chunk }, (_, i) =>
        Job.make({ id: JobId.make(`00000000-0000-4000-8000-${(from + i + 1).toString(16).padStart(12, "0")}`), taskId: task.id, createdAt: now })
      )
    )
    const acquired = yield* store.acquireJobs(scheduler, Duration.seconds(60), chunk)
    yield* store.releaseJobs(
      scheduler,
      acquired.map((job) => ({
        _tag: "Finished" as const,
        job,
        result: JobResult.make({
          jobId: job.id, taskId: task.id, outcome: "success", attempt: job.attempt,
          startedAt: now, finishedAt: now, expiresAt: now, error: null, returnValue: null
        })
      }))
    )
  }
})

export const edgeSync = (): Effect.Effect<Metrics, unknown> =>
  Effect.scoped(
    Effect.gen(function* () {
      const dir = yield* tempDir
      // a free port: bind a hub on port 0, note it, stop it (the server is down)
      const endpoint = yield* Effect.scoped(
        Effect.flatMap(Layer.build(hubOn(path.join(dir, "probe.db"), "tcp://127.0.0.1:0")), (context) =>
          Effect.map(Effect.provide(Hub, context), (hub) => hub.endpoint)
        )
      )
      const edgeFile = path.join(dir, "edge.db")
      // the upstream applies schedule assignments through the store, so it is given the store
      const edge = yield* Layer.build(
        upstreamLayer(
          { filename: edgeFile },
          {
            endpoint, edgeId: "edge", token,
            heartbeatIntervalMs: defaults.heartbeatIntervalMs, replyTimeoutMs: defaults.replyTimeoutMs,
            backoffInitialMs: 20, backoffMaxMs: 100, batchSize: defaults.batchSize,
            pollIntervalMs: defaults.pollIntervalMs, trimIntervalMs: defaults.trimIntervalMs,
            outbox: { maxRows: null, maxAgeMs: null }
          }
        ).pipe(Layer.provideMerge(SqliteStore.layer({ filename: edgeFile })), Layer.provide(LocalBroker.layer))
      )
      yield* Effect.provide(bufferExecutions, edge)
      const upstream = yield* Effect.provide(Upstream, edge)
      const backlog = yield* upstream.backlog
      if (backlog !== rows) return yield* Effect.fail(new Error(`outbox holds ${backlog} rows, expected ${rows}`))

      const cpu = cpuWindow()
      const started = monotonicMs()
      const server = yield* Layer.build(hubOn(path.join(dir, "server.db"), endpoint))
      const hub = yield* Effect.provide(Hub, server)
      while (((yield* hub.edges)[0]?.lastReceivedId ?? 0) < rows) yield* Effect.sleep("5 millis")
      const drainMs = monotonicMs() - started
      const cpuS = cpu()
      return {
        rows,
        drain_s: drainMs / 1000,
        rows_per_s: Math.round(rows / (drainMs / 1000)),
        rows_per_cpu_s: Math.round(rows / cpuS)
      }
    })
  )
