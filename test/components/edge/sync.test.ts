import { describe, expect, it } from "@effect/vitest"
import { Duration, Effect, Layer } from "effect"
import * as path from "node:path"
import * as LocalBroker from "../../../src/components/broker/Local.js"
import * as SqliteStore from "../../../src/components/datastore/Sqlite.js"
import { Hub } from "../../../src/components/edge/Hub.js"
import { upstreamLayer } from "../../../src/components/edge/onSqlite.js"
import { Upstream, type UpstreamOptions } from "../../../src/components/edge/Upstream.js"
import { HandlerId, JobId, SchedulerId, TaskId } from "../../../src/domain/ids.js"
import { Job } from "../../../src/domain/Job.js"
import { JobResult } from "../../../src/domain/JobResult.js"
import { Task } from "../../../src/domain/Task.js"
import { DataStore } from "../../../src/services/DataStore.js"
import { ExecutionLog } from "../../../src/services/ExecutionLog.js"
import { tempDirectory } from "../datastore/sqlite/tempDatabase.js"
import { edgeToken, freeEndpoint, serverLayer, waitUntil } from "./harness.js"

const task = Task.make({ id: TaskId.make("read-meter"), handler: HandlerId.make("meter"), method: "read", maxRunningJobs: null })
const edgeScheduler = SchedulerId.make("edge-1-scheduler")

const upstreamOptions = (endpoint: string, overrides: Partial<UpstreamOptions> = {}): UpstreamOptions => ({
  endpoint,
  edgeId: "edge-1",
  token: edgeToken,
  heartbeatIntervalMs: 200,
  replyTimeoutMs: 1_000,
  backoffInitialMs: 20,
  backoffMaxMs: 200,
  batchSize: 30,
  pollIntervalMs: 20,
  trimIntervalMs: 50,
  outbox: { maxRows: null, maxAgeMs: null },
  ...overrides
})

/** The edge: its SQLite store and the upstream on the same connection. */
const edgeLayer = (filename: string, options: UpstreamOptions) =>
  upstreamLayer({ filename }, options).pipe(
    Layer.provideMerge(SqliteStore.layer({ filename })),
    Layer.provideMerge(LocalBroker.layer)
  )

/** Runs `count` jobs to success on the edge store, one release each (one execution-log row each). */
const runJobs = (count: number, from: number) =>
  Effect.gen(function* () {
    const store = yield* DataStore
    const ids: Array<string> = []
    for (let i = from; i < from + count; i++) {
      const id = JobId.make(`00000000-0000-4000-8000-${i.toString(16).padStart(12, "0")}`)
      ids.push(id)
      yield* store.addJob(Job.make({ id, taskId: task.id, createdAt: new Date(i) }))
      const [job] = yield* store.acquireJobs(edgeScheduler, Duration.seconds(60), 1)
      const now = new Date()
      yield* store.releaseJobs(edgeScheduler, [
        {
          _tag: "Finished",
          job: job!,
          result: JobResult.make({
            jobId: id, taskId: task.id, outcome: "success", attempt: job!.attempt,
            startedAt: now, finishedAt: now, expiresAt: now, error: null, returnValue: i
          })
        }
      ])
    }
    return ids
  })

/** Job ids in the server's execution log, oldest first. */
const serverJobIds = Effect.gen(function* () {
  const log = yield* ExecutionLog
  const ids: Array<string> = []
  let cursor: string | undefined
  do {
    const page = yield* log.query({ limit: 500, ...(cursor !== undefined && { cursor }) })
    ids.push(...page.entries.map((entry) => entry.jobId))
    cursor = page.nextCursor ?? undefined
  } while (cursor !== undefined)
  return ids.reverse()
})

describe("edge sync", () => {
  it.live("server down → edge runs 100 jobs → server up (twice): all 100 on the server once, in order", () =>
    Effect.gen(function* () {
      const dir = yield* tempDirectory
      const endpoint = yield* freeEndpoint(dir)
      const serverDb = path.join(dir, "server.db")
      const edge = yield* Layer.build(edgeLayer(path.join(dir, "edge.db"), upstreamOptions(endpoint)))
      const edgeStore = yield* Effect.provide(DataStore, edge)
      yield* edgeStore.addTask(task)

      const first = yield* Effect.provide(runJobs(60, 1), edge)
      expect((yield* Effect.provide(Upstream, edge)).status.pipe(Effect.runSync).connected).toBe(false)

      // the server comes up, takes part of the backlog, goes down while the edge runs more
      yield* Effect.scoped(
        Effect.gen(function* () {
          const server = yield* Layer.build(serverLayer(serverDb, endpoint))
          yield* waitUntil(Effect.provide(serverJobIds, server), (ids) => ids.length >= 30)
        })
      )
      const second = yield* Effect.provide(runJobs(40, 61), edge)

      const server = yield* Layer.build(serverLayer(serverDb, endpoint))
      const ids = yield* waitUntil(Effect.provide(serverJobIds, server), (ids) => ids.length >= 100)
      expect(ids).toEqual([...first, ...second])
      const upstream = yield* Effect.provide(Upstream, edge)
      yield* waitUntil(upstream.backlog, (n) => n === 0)

      const hub = yield* Effect.provide(Hub, server)
      const [node] = yield* waitUntil(hub.edges, (edges) => edges[0]?.backlog === 0)
      expect(node).toMatchObject({ edgeId: "edge-1", status: "online", lastReceivedId: 100, dropped: 0 })
      expect(Math.abs(node!.clockSkewMs!)).toBeLessThan(1_000)
      // nothing delivered twice: the server still holds exactly 100 after the edge idles a few heartbeats
      yield* waitUntil(upstream.status, (s) => s.connected)
      expect(yield* Effect.provide(serverJobIds, server)).toHaveLength(100)
    }).pipe(Effect.scoped)
  )

  it.live("a full outbox drops its oldest rows, counted; the server gets the newest and the count", () =>
    Effect.gen(function* () {
      const dir = yield* tempDirectory
      const endpoint = yield* freeEndpoint(dir)
      const options = upstreamOptions(endpoint, { outbox: { maxRows: 10, maxAgeMs: null } })
      const edge = yield* Layer.build(edgeLayer(path.join(dir, "edge.db"), options))
      yield* Effect.provide(Effect.flatMap(DataStore, (store) => store.addTask(task)), edge)
      const ids = yield* Effect.provide(runJobs(25, 1), edge)
      const upstream = yield* Effect.provide(Upstream, edge)
      yield* waitUntil(upstream.dropped, (n) => n === 15)
      expect(yield* upstream.backlog).toBe(10)

      const server = yield* Layer.build(serverLayer(path.join(dir, "server.db"), endpoint))
      expect(yield* waitUntil(Effect.provide(serverJobIds, server), (got) => got.length >= 10)).toEqual(ids.slice(15))
      const hub = yield* Effect.provide(Hub, server)
      const [node] = yield* waitUntil(hub.edges, (edges) => edges[0]?.backlog === 0)
      expect(node).toMatchObject({ dropped: 15, lastReceivedId: 25 })
    }).pipe(Effect.scoped)
  )

  it.live("a wrong token is refused and logged on the server; nothing is stored", () =>
    Effect.gen(function* () {
      const dir = yield* tempDirectory
      const logs: Array<string> = []
      const server = yield* Layer.build(serverLayer(path.join(dir, "server.db"), "tcp://127.0.0.1:0", logs))
      const hub = yield* Effect.provide(Hub, server)
      const options = upstreamOptions(hub.endpoint, { token: "not-the-token" })
      const edge = yield* Layer.build(edgeLayer(path.join(dir, "edge.db"), options))
      yield* Effect.provide(Effect.flatMap(DataStore, (store) => store.addTask(task)), edge)
      yield* Effect.provide(runJobs(3, 1), edge)
      const upstream = yield* Effect.provide(Upstream, edge)
      const status = yield* waitUntil(upstream.status, (s) => s.lastError !== null)
      expect(status).toMatchObject({ connected: false, lastError: "refused by the server: unknown edge id or wrong token" })
      expect(logs.some((line) => line.startsWith("edge refused: unknown edge id or wrong token") && line.includes('"edgeId":"edge-1"'))).toBe(true)
      expect(yield* hub.edges).toEqual([])
      expect(yield* Effect.provide(serverJobIds, server)).toEqual([])
      expect(yield* upstream.backlog).toBe(3)
    }).pipe(Effect.scoped)
  )

  it.live("link flapping: the server stopped and started 10 times while the edge runs jobs — exactly once, in order", () =>
    Effect.gen(function* () {
      const dir = yield* tempDirectory
      const endpoint = yield* freeEndpoint(dir)
      const serverDb = path.join(dir, "server.db")
      const edge = yield* Layer.build(edgeLayer(path.join(dir, "edge.db"), upstreamOptions(endpoint, { replyTimeoutMs: 300 })))
      yield* Effect.provide(Effect.flatMap(DataStore, (store) => store.addTask(task)), edge)
      const running = yield* Effect.fork(
        Effect.provide(
          Effect.forEach(Array.from({ length: 20 }, (_, i) => i), (i) =>
            Effect.zipLeft(runJobs(10, i * 10 + 1), Effect.sleep("15 millis"))
          ),
          edge
        )
      )
      for (let round = 1; round <= 10; round++) {
        yield* Effect.scoped(
          Effect.gen(function* () {
            const server = yield* Layer.build(serverLayer(serverDb, endpoint))
            const before = (yield* Effect.provide(serverJobIds, server)).length
            // up until it has taken something new (or the edge has nothing left), then down
            yield* waitUntil(Effect.provide(serverJobIds, server), (ids) => ids.length > before || ids.length === 200)
          })
        )
      }
      const ids = (yield* running).flat()
      const server = yield* Layer.build(serverLayer(serverDb, endpoint))
      expect(yield* waitUntil(Effect.provide(serverJobIds, server), (got) => got.length >= 200)).toEqual(ids)
    }).pipe(Effect.scoped)
  )
})
