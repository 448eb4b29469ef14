/**
 * Events through the outbox, with real sockets and SQLite files: an edge's
 * scheduler starts, a schedule is added, paused, resumed and removed and a
 * job runs while the server is down; when the server comes up it republishes
 * each event once, in the edge's order, as EdgeEvent on its broker (the job
 * in its execution log). A graceful stop is recorded and delivered after the
 * edge restarts.
 */
import { describe, expect, it } from "@effect/vitest"
import { Context, Effect, Layer, Stream } from "effect"
import * as path from "node:path"
import * as LocalBroker from "../../../src/components/broker/Local.js"
import * as SqliteStore from "../../../src/components/datastore/Sqlite.js"
import { upstreamLayer } from "../../../src/components/edge/onSqlite.js"
import { Upstream } from "../../../src/components/edge/Upstream.js"
import * as LocalRegistry from "../../../src/components/registry/Local.js"
import type { EdgeEvent } from "../../../src/domain/events.js"
import { ScheduleId } from "../../../src/domain/ids.js"
import { CronTrigger } from "../../../src/domain/triggers/schema.js"
import { EventBroker } from "../../../src/services/EventBroker.js"
import { ExecutionLog } from "../../../src/services/ExecutionLog.js"
import { Scheduler } from "../../../src/services/Scheduler.js"
import * as SchedulerLive from "../../../src/services/scheduler/layer.js"
import { tempDirectory } from "../datastore/sqlite/tempDatabase.js"
import { edgeToken, freeEndpoint, serverLayer, waitUntil } from "./harness.js"

const meter = LocalRegistry.defineLocalHandler({ id: "meter", methods: { read: () => 1 } })

/** An edge: its SQLite store, the upstream, and a scheduler started after the upstream (so its start is recorded). */
const edgeLayer = (filename: string, endpoint: string) => {
  const upstream = upstreamLayer(
    { filename },
    {
      endpoint, edgeId: "edge-1", token: edgeToken,
      heartbeatIntervalMs: 200, replyTimeoutMs: 1_000, backoffInitialMs: 20, backoffMaxMs: 200,
      batchSize: 30, pollIntervalMs: 20, trimIntervalMs: 1_000, outbox: { maxRows: null, maxAgeMs: null }
    }
  ).pipe(Layer.provideMerge(SqliteStore.layer({ filename })), Layer.provideMerge(LocalBroker.layer))
  const scheduler = SchedulerLive.layer({ id: "edge-1-scheduler", cleanupInterval: null }).pipe(
    Layer.provideMerge(LocalRegistry.layer([meter]))
  )
  return Layer.provideMerge(scheduler, upstream)
}

/** The server with every EdgeEvent its broker publishes collected into `events`. */
const collectingServer = (filename: string, endpoint: string, events: Array<EdgeEvent>) =>
  Layer.effectDiscard(
    Effect.gen(function* () {
      const broker = yield* EventBroker
      const stream = yield* broker.subscribe((event) => event._tag === "EdgeEvent")
      yield* Effect.forkScoped(
        Stream.runForEach(stream, (event) => Effect.sync(() => event._tag === "EdgeEvent" && events.push(event)))
      )
    })
  ).pipe(Layer.provideMerge(serverLayer(filename, endpoint)))

const summary = (events: ReadonlyArray<EdgeEvent>) =>
  events.map((event) => `${event.edgeId} ${event.kind} ${event.scheduleId ?? event.schedulerId}`)

describe("edge events through the outbox", () => {
  it.live("recorded offline in the edge's order, republished once by the server as EdgeEvent; a graceful stop arrives after a restart", () =>
    Effect.gen(function* () {
      const dir = yield* tempDirectory
      const endpoint = yield* freeEndpoint(dir)
      const edgeDb = path.join(dir, "edge.db")
      const serverDb = path.join(dir, "server.db")
      const events: Array<EdgeEvent> = []

      // server down: the edge works on its own
      yield* Effect.scoped(
        Effect.gen(function* () {
          const edge = yield* Layer.build(edgeLayer(edgeDb, endpoint))
          const scheduler = Context.get(edge, Scheduler)
          // the scheduler's start is recorded just after the broker announces it (not in a store transaction)
          yield* waitUntil(Context.get(edge, Upstream).backlog, (n) => n === 1)
          yield* scheduler.configureTask({ id: "read", handler: "meter", method: "read" })
          const id = ScheduleId.make("nightly")
          yield* scheduler.addSchedule({ id, taskId: "read", trigger: CronTrigger.make({ minute: "0", hour: "3", timezone: "UTC", startTime: new Date() }) })
          yield* scheduler.pauseSchedule(id)
          const result = yield* scheduler.runJob({ taskId: "read" })
          expect(result.outcome).toBe("success")
          yield* scheduler.unpauseSchedule(id)
          yield* scheduler.removeSchedule(id)

          // the server comes up while the edge runs: everything so far arrives, in order
          const server = yield* Layer.build(collectingServer(serverDb, endpoint, events))
          yield* waitUntil(
            Effect.sync(() => events.length),
            (n) => n >= 5
          )
          expect(summary(events)).toEqual([
            "edge-1 scheduler.started edge-1-scheduler",
            "edge-1 schedule.added nightly",
            "edge-1 schedule.paused nightly",
            "edge-1 schedule.resumed nightly",
            "edge-1 schedule.removed nightly"
          ])
          const log = yield* Effect.provide(ExecutionLog, server)
          expect((yield* log.query({ limit: 10 })).entries.map((entry) => entry.jobId)).toEqual([result.jobId])
          // the edge's clock, in order
          const times = events.map((event) => event.timestamp.getTime())
          expect(times).toEqual([...times].sort((a, b) => a - b))
        })
      )
      // the edge stopped gracefully (its scheduler first) and the server went down with it
      const before = events.length

      const server = yield* Layer.build(collectingServer(serverDb, endpoint, events))
      yield* Layer.build(edgeLayer(edgeDb, endpoint))
      yield* waitUntil(
        Effect.sync(() => events.length),
        (n) => n >= before + 2
      )
      expect(summary(events.slice(before))).toEqual([
        "edge-1 scheduler.stopped edge-1-scheduler",
        "edge-1 scheduler.started edge-1-scheduler"
      ])
      // nothing delivered twice, the job's row included
      const log = yield* Effect.provide(ExecutionLog, server)
      expect((yield* log.query({ limit: 10 })).entries).toHaveLength(1)
      expect(events).toHaveLength(before + 2)
    }).pipe(Effect.scoped)
  )
})
