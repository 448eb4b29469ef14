/**
 * The edge's side of schedule assignment on a real SQLite file: ops apply in
 * version order with the version, a repeated reply is skipped, a gap stops
 * the batch, an op that cannot apply is passed over, and the version and the
 * schedules survive reopening the file.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import * as path from "node:path"
import * as LocalBroker from "../../../src/components/broker/Local.js"
import * as SqliteStore from "../../../src/components/datastore/Sqlite.js"
import { ClientLive, SqliteStoreOptions } from "../../../src/components/datastore/sqlite/Client.js"
import * as Assignments from "../../../src/components/edge/assignments.js"
import { assignedScheduleOf } from "../../../src/components/edge/assignments.js"
import * as Applied from "../../../src/components/edge/assignmentsEdge.js"
import type { AssignmentOp } from "../../../src/components/edge/protocol.js"
import { HandlerId, ScheduleId, TaskId } from "../../../src/domain/ids.js"
import { Schedule } from "../../../src/domain/Schedule.js"
import { Task } from "../../../src/domain/Task.js"
import { DataStore } from "../../../src/services/DataStore.js"
import { tempDirectory } from "../datastore/sqlite/tempDatabase.js"

const now = new Date("2026-11-28T09:00:00Z")

const put = (version: number, scheduleId: string, request: { handler: string; method: string; task_id?: string }): AssignmentOp => {
  const schedule = assignedScheduleOf(scheduleId, { ...request, trigger: { type: "interval", minutes: 5 } }, now)
  if (schedule._tag === "Left") throw new Error(schedule.left.message)
  return { _tag: "put", version, scheduleId, schedule: schedule.right }
}

const client = (filename: string) =>
  ClientLive.pipe(Layer.provide(Layer.succeed(SqliteStoreOptions, SqliteStore.resolveOptions({ filename }))))

/** The edge's store and its SQL client on one connection, as the upstream has them. */
const edge = (filename: string) =>
  Layer.merge(SqliteStore.layer({ filename }), client(filename)).pipe(Layer.provideMerge(LocalBroker.layer))

const withEdge = <A, E>(filename: string, use: (applied: Applied.AppliedShape) => Effect.Effect<A, E, DataStore>) =>
  Effect.scoped(Effect.provide(Effect.flatMap(Applied.make, use), edge(filename)))

describe("edge assignments applied to the edge's store", () => {
  it.scopedLive("in order, once, stopping at a gap, passing over what cannot apply; kept across reopening", () =>
    Effect.gen(function* () {
      const filename = path.join(yield* tempDirectory, "edge.db")
      const ops = [
        put(1, "a", { handler: "meter", method: "read" }),
        put(2, "b", { handler: "meter", method: "read" }),
        { _tag: "pause", version: 3, scheduleId: "a" } as const,
        // the edge has task "pump" running another handler: passed over
        put(4, "c", { handler: "meter", method: "read", task_id: "pump" }),
        { _tag: "remove", version: 5, scheduleId: "b" } as const
      ]
      yield* withEdge(filename, (applied) =>
        Effect.gen(function* () {
          const store = yield* DataStore
          yield* store.addTask(Task.make({ id: TaskId.make("pump"), handler: HandlerId.make("pump"), method: "flush" }))
          expect(yield* applied.apply(ops.slice(0, 2))).toEqual({ applied: 2, rejected: [] })
          // the same reply again: skipped by version
          expect(yield* applied.apply(ops.slice(0, 2))).toEqual({ applied: 2, rejected: [] })
          // a gap: nothing after it applies
          expect(yield* applied.apply([ops[3]!, ops[4]!])).toEqual({ applied: 2, rejected: [] })
          expect((yield* store.getSchedules()).map((s) => s.id)).toEqual(["a", "b"])
          expect(yield* applied.apply(ops.slice(2))).toEqual({
            applied: 5,
            rejected: [{ version: 4, scheduleId: "c", reason: "task 'pump' here runs pump.flush, not meter.read" }]
          })
        })
      )
      yield* withEdge(filename, (applied) =>
        Effect.gen(function* () {
          const store = yield* DataStore
          expect(yield* applied.applied).toBe(5)
          const schedules = yield* store.getSchedules()
          expect(schedules.map((s) => [s.id, s.paused, s.metadata[Applied.assignmentKey]])).toEqual([["a", true, 3]])
          expect((yield* store.getTask(TaskId.make("pump"))).handler).toBe("pump")
          expect((yield* store.getTask(TaskId.make("meter.read"))).method).toBe("read")
        })
      )
    })
  )
})

describe("an edge ahead of the server's assignment log (the server's database was replaced)", () => {
  it.scopedLive("is told to reset: it drops what the server assigned before (not its own schedules) and replays from 1", () =>
    Effect.gen(function* () {
      const dir = yield* tempDirectory
      const server = yield* Effect.provide(
        Assignments.make({ endpoint: "tcp://127.0.0.1:4250", configured: ["pump-7"] }),
        yield* Layer.build(client(path.join(dir, "server.db")))
      )
      yield* server.assign("pump-7", "fresh", { handler: "meter", method: "read", trigger: { type: "interval", minutes: 1 } })
      const pending = yield* server.pending("pump-7", 5)
      expect(pending).toMatchObject({ latest: 1, reset: true, ops: [{ _tag: "put", version: 1, scheduleId: "fresh" }] })
      expect(yield* server.pending("pump-7", 1)).toEqual({ latest: 1, reset: false, ops: [] })

      yield* withEdge(path.join(dir, "edge.db"), (applied) =>
        Effect.gen(function* () {
          const store = yield* DataStore
          expect(yield* applied.apply([put(1, "old-1", { handler: "meter", method: "read" }), put(2, "old-2", { handler: "meter", method: "read" })])).toMatchObject({ applied: 2 })
          const own = (yield* store.getSchedule(ScheduleId.make("old-1"))).trigger
          yield* store.addSchedule(
            new Schedule({ id: ScheduleId.make("own"), taskId: TaskId.make("meter.read"), trigger: own, nextFireTime: now }),
            "exception"
          )
          expect(yield* applied.apply(pending.ops, pending.reset)).toEqual({ applied: 1, rejected: [] })
          expect((yield* store.getSchedules()).map((s) => s.id)).toEqual(["fresh", "own"])
        })
      )
    })
  )
})
