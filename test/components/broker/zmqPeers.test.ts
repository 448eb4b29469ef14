/**
 * Two schedulers on one SQLite file, each with a zmq broker listening to the
 * other: a job added on A, which is busy, is run by B at once. B would
 * otherwise sleep: it has no job of its own and A's lease lasts an hour, so
 * nothing but A's event stream can wake it (the test waits for the run, it
 * does not time it). Then a job B runs is cancelled through A. And a
 * schedule added by a process without a scheduler wakes B's schedule loop.
 */
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { describe, expect, it } from "@effect/vitest"
import { Chunk, Context, Deferred, Effect, Layer, Stream } from "effect"
import * as ZmqBroker from "../../../src/components/broker/Zmq.js"
import * as SqliteStore from "../../../src/components/datastore/Sqlite.js"
import * as LocalRegistry from "../../../src/components/registry/Local.js"
import { ScheduleId, TaskId } from "../../../src/domain/ids.js"
import { Schedule } from "../../../src/domain/Schedule.js"
import { fromSpec, next } from "../../../src/domain/triggers/Trigger.js"
import { DataStore } from "../../../src/services/DataStore.js"
import { EventBroker } from "../../../src/services/EventBroker.js"
import { Scheduler } from "../../../src/services/Scheduler.js"
import * as SchedulerLayer from "../../../src/services/scheduler/layer.js"
import { until } from "./zmqFixtures.js"

interface Runs {
  /** Completed by the first `record` job with the name of the scheduler that ran it. */
  readonly recordedBy: Deferred.Deferred<string>
  /** Open while a `block` job runs; completing it lets that job finish. */
  readonly blockStarted: Deferred.Deferred<void>
  readonly unblock: Deferred.Deferred<void>
}

const stack = (name: string, filename: string, endpoints: { own: string; peer: string }, runs: Runs) => {
  const handler = LocalRegistry.defineLocalHandler({
    id: "work",
    methods: {
      record: () => Deferred.succeed(runs.recordedBy, name),
      block: () => Effect.zipRight(Deferred.succeed(runs.blockStarted, undefined), Deferred.await(runs.unblock))
    }
  })
  const broker = ZmqBroker.layer({ instanceId: name, publish: endpoints.own, peers: [endpoints.peer] })
  const services = Layer.mergeAll(SqliteStore.layer({ filename }), LocalRegistry.layer([handler])).pipe(
    Layer.provideMerge(broker)
  )
  const scheduler = SchedulerLayer.layer({ id: name, maxConcurrentJobs: 1, leaseDuration: "1 hour", cleanupInterval: null })
  return Layer.provideMerge(scheduler, services)
}

describe("zmq peers: schedulers on one store wake each other", () => {
  it.live("a job added on a busy scheduler A is run by B, woken by A's event", () =>
    Effect.scoped(Effect.gen(function* () {
      const dir = yield* Effect.acquireRelease(
        Effect.sync(() => mkdtempSync(join(tmpdir(), "sz-peers-"))),
        (path) => Effect.sync(() => rmSync(path, { recursive: true, force: true }))
      )
      const filename = join(dir, "shared.db")
      const a = { own: `ipc://${join(dir, "a.pub")}`, peer: `ipc://${join(dir, "b.pub")}` }
      const runs: Runs = {
        recordedBy: yield* Deferred.make<string>(),
        blockStarted: yield* Deferred.make<void>(),
        unblock: yield* Deferred.make<void>()
      }

      // A alone first: it takes the blocking job and is then full (one job at a time).
      const contextA = yield* Layer.build(stack("A", filename, a, runs))
      const schedulerA = Context.get(contextA, Scheduler)
      // Runs before A's scope closes, so A's stop does not wait out its grace period.
      yield* Effect.addFinalizer(() => Deferred.succeed(runs.unblock, undefined))
      yield* schedulerA.configureTask({ id: "block", handler: "work", method: "block", maxRunningJobs: null })
      yield* schedulerA.configureTask({ id: "record", handler: "work", method: "record" })
      yield* schedulerA.addJob({ taskId: "block" })
      yield* Deferred.await(runs.blockStarted)

      // B starts with nothing to do: A's job is leased for an hour, so B's job loop sleeps until woken.
      const contextB = yield* Layer.build(stack("B", filename, { own: a.peer, peer: a.own }, runs))
      const brokers = [Context.get(contextA, ZmqBroker.ZmqBroker), Context.get(contextB, ZmqBroker.ZmqBroker)]
      yield* until("each subscribed to the other", Effect.map(Effect.all(brokers.map((b) => b.stats)), (all) =>
        all.every((stats) => stats.publisher?.subscriptions.includes("job.added") ?? false)))

      yield* schedulerA.addJob({ taskId: "record" })
      expect(yield* Deferred.await(runs.recordedBy)).toBe("B")

      // A job B runs, cancelled through A: A's JobCancelRequested reaches B over the stream.
      const released = yield* Context.get(contextA, EventBroker).subscribe(
        (event) => event._tag === "JobReleased" && event.outcome === "cancelled"
      )
      const blocked = yield* schedulerA.addJob({ taskId: "block" })
      const storeA = Context.get(contextA, DataStore)
      yield* until("B runs the second blocking job", Effect.map(storeA.getJobs([blocked]), (jobs) => jobs[0]?.acquiredBy === "B"))
      const cancellation = yield* schedulerA.cancelJob(blocked)
      expect(cancellation).toMatchObject({ _tag: "CancelRequested", schedulerId: "B" })
      const [cancelled] = Chunk.toReadonlyArray(yield* Stream.runCollect(Stream.take(released, 1)))
      expect(cancelled).toMatchObject({ jobId: blocked, schedulerId: "B" })

      const statsB = yield* brokers[1]!.stats
      expect(statsB.peers?.received).toBeGreaterThanOrEqual(2)
      expect(statsB.peers?.missed).toBe(0)
    })))
  it.live("a schedule added through another process's store wakes B's schedule loop", () =>
    Effect.scoped(Effect.gen(function* () {
      const dir = yield* Effect.acquireRelease(
        Effect.sync(() => mkdtempSync(join(tmpdir(), "sz-peers-"))),
        (path) => Effect.sync(() => rmSync(path, { recursive: true, force: true }))
      )
      const filename = join(dir, "shared.db")
      const endpoints = { own: `ipc://${join(dir, "b.pub")}`, peer: `ipc://${join(dir, "editor.pub")}` }
      const runs: Runs = {
        recordedBy: yield* Deferred.make<string>(),
        blockStarted: yield* Deferred.make<void>(),
        unblock: yield* Deferred.make<void>()
      }
      // B has no schedule at all: its schedule loop sleeps until something wakes it.
      const contextB = yield* Layer.build(stack("B", filename, endpoints, runs))
      yield* Context.get(contextB, Scheduler).configureTask({ id: "record", handler: "work", method: "record" })
      // An editor (an API process, say): the store and a publishing broker, no scheduler.
      const editor = yield* Layer.build(
        SqliteStore.layer({ filename }).pipe(
          Layer.provideMerge(ZmqBroker.layer({ instanceId: "editor", publish: endpoints.peer }))
        )
      )
      const editorBroker = Context.get(editor, ZmqBroker.ZmqBroker)
      yield* until("B subscribed to the editor", Effect.map(editorBroker.stats, (stats) =>
        stats.publisher?.subscriptions.includes("schedule.added") ?? false))

      const now = new Date()
      const trigger = yield* fromSpec({ type: "date", run_time: now.toISOString() }, now)
      const first = yield* next(trigger)
      yield* Context.get(editor, DataStore).addSchedule(
        Schedule.make({
          id: ScheduleId.make("once"),
          taskId: TaskId.make("record"),
          trigger: first.trigger,
          nextFireTime: first.fireTime
        }),
        "exception"
      )
      expect(yield* Deferred.await(runs.recordedBy)).toBe("B")
    })))
})
