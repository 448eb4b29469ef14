/**
 * Schedule assignment, the edge side: applies the server's assignment ops to
 * the edge's own store as ordinary schedules (so they run offline and survive
 * restarts), in version order, in one transaction with the applied version
 * (table `edge_applied`), so a crash leaves both or neither.
 *
 * A schedule the server assigned carries its op's version in its metadata
 * (`schedulezero.edge_assignment`); ops only touch schedules so marked, never
 * the ones config.yaml declares or anything else made locally. An op that
 * cannot apply (its id is taken by such a schedule, its task id runs another
 * handler here) is logged and passed over: retrying it would fail the same way,
 * and the ops after it must still apply. A reset (the server's log is not the
 * one the edge followed) removes every assigned schedule before the ops apply.
 */
import { SqlClient } from "@effect/sql"
import { Clock, Effect, Either, Option } from "effect"
import type { ScheduleId, TaskId } from "../../domain/ids.js"
import { instanceOf } from "../../domain/instances.js"
import { Schedule } from "../../domain/Schedule.js"
import { Task } from "../../domain/Task.js"
import { next } from "../../domain/triggers/Trigger.js"
import { DataStore } from "../../services/DataStore.js"
import { skipFireTimesBefore } from "../../services/scheduler/FireTimes.js"
import { makeImmediateTransaction } from "../datastore/sqlite/transaction.js"
import type { AssignedSchedule, AssignmentOp, Rejection } from "./protocol.js"

/** Metadata key marking a schedule the server assigned; its value is the version of the op that last changed it. */
export const assignmentKey = "schedulezero.edge_assignment"

export interface AppliedShape {
  /** The version applied so far (0: none). */
  readonly applied: Effect.Effect<number>
  /**
   * Applies the ops that follow the applied version, in order; returns the new applied version
   * and the ops passed over. With `reset`, first removes every assigned schedule and starts from version 0.
   */
  readonly apply: (
    ops: ReadonlyArray<AssignmentOp>,
    reset?: boolean
  ) => Effect.Effect<{ readonly applied: number; readonly rejected: ReadonlyArray<Rejection> }>
}

const isAssigned = (schedule: Schedule) => schedule.metadata[assignmentKey] !== undefined

export const make: Effect.Effect<AppliedShape, never, SqlClient.SqlClient | DataStore> = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  const store = yield* DataStore
  const immediate = makeImmediateTransaction(sql)

  const applied = sql<{ version: number }>`SELECT version FROM edge_applied WHERE id = 1`.pipe(
    Effect.map((rows) => rows[0]?.version ?? 0),
    Effect.orDie
  )

  /** The assigned schedule with this id, None when absent; fails with a reason when the id is not the server's. */
  const assignedOrNone = (id: ScheduleId) =>
    Effect.flatMap(Effect.option(store.getSchedule(id)), (found) =>
      Option.isSome(found) && !isAssigned(found.value)
        ? Effect.fail("the schedule id is taken by a schedule not assigned by the server")
        : Effect.succeed(found)
    )

  const ensureTask = (spec: AssignedSchedule) =>
    Effect.flatMap(Effect.option(store.getTask(spec.taskId as TaskId)), (found) => {
      if (Option.isNone(found)) {
        return store.addTask(Task.make({ id: spec.taskId as TaskId, handler: spec.handler as Task["handler"], method: spec.method }))
      }
      const task = found.value
      return task.handler === spec.handler && task.method === spec.method
        ? Effect.void
        : Effect.fail(`task '${spec.taskId}' here runs ${task.handler}.${task.method}, not ${spec.handler}.${spec.method}`)
    })

  const put = (id: ScheduleId, version: number, spec: AssignedSchedule) =>
    Effect.gen(function* () {
      yield* assignedOrNone(id)
      yield* ensureTask(spec)
      const first = next(spec.trigger)
      if (Either.isLeft(first)) return yield* Effect.fail(first.left.message)
      if (first.right.fireTime === null) return yield* Effect.fail("the trigger has no fire times")
      const schedule = instanceOf(Schedule, {
        id,
        taskId: spec.taskId as TaskId,
        trigger: first.right.trigger,
        args: spec.args,
        kwargs: spec.kwargs,
        paused: spec.paused,
        coalesce: spec.coalesce,
        misfireGraceTime: spec.misfireGraceTime,
        maxJitter: spec.maxJitter,
        jobResultExpirationTime: spec.jobResultExpirationTime,
        metadata: { ...spec.metadata, [assignmentKey]: version },
        nextFireTime: first.right.fireTime,
        lastFireTime: null,
        acquiredBy: null,
        acquiredUntil: null
      })
      yield* store.addSchedule(schedule, "replace").pipe(Effect.orDie)
    })

  /** Pause or resume; a resumed schedule skips the fire times it missed while paused (as the API's resume does). */
  const setPaused = (id: ScheduleId, version: number, paused: boolean) =>
    Effect.gen(function* () {
      const found = yield* assignedOrNone(id)
      if (Option.isNone(found)) return yield* Effect.fail("no such assigned schedule here")
      const now = new Date(yield* Clock.currentTimeMillis)
      yield* store
        .updateSchedule(id, (schedule) => {
          const metadata = { ...schedule.metadata, [assignmentKey]: version }
          if (paused || !schedule.paused) return new Schedule({ ...schedule, paused, metadata }, true)
          const resumed = skipFireTimesBefore(schedule, now)
          return new Schedule(
            { ...schedule, paused, metadata, trigger: resumed.trigger, nextFireTime: resumed.nextFireTime },
            true
          )
        })
        .pipe(Effect.orDie)
    })

  const remove = (id: ScheduleId) =>
    Effect.flatMap(assignedOrNone(id), (found) =>
      Option.isNone(found) ? Effect.fail("no such assigned schedule here") : Effect.asVoid(store.removeSchedules([id]))
    )

  const applyOne = (op: AssignmentOp): Effect.Effect<void, string> => {
    const id = op.scheduleId as ScheduleId
    switch (op._tag) {
      case "put":
        return put(id, op.version, op.schedule)
      case "pause":
        return setPaused(id, op.version, true)
      case "resume":
        return setPaused(id, op.version, false)
      case "remove":
        return remove(id)
    }
  }

  const removeAllAssigned = Effect.flatMap(store.getSchedules(), (schedules) =>
    store.removeSchedules(schedules.filter(isAssigned).map((schedule) => schedule.id))
  )

  const apply = (ops: ReadonlyArray<AssignmentOp>, reset = false) =>
    immediate(
      Effect.gen(function* () {
        if (reset) {
          const removed = yield* removeAllAssigned
          yield* Effect.logWarning("edge assignments reset by the server: assigned schedules removed").pipe(
            Effect.annotateLogs({ removed: removed.length, was: yield* applied })
          )
        }
        const from = reset ? 0 : yield* applied
        const rejected: Array<Rejection> = []
        let version = from
        for (const op of ops) {
          if (op.version <= version) continue
          // a gap means ops are missing: stop, and the next request asks for them again
          if (op.version !== version + 1) break
          yield* applyOne(op).pipe(
            Effect.catchAll((reason) => {
              rejected.push({ version: op.version, scheduleId: op.scheduleId, reason })
              return Effect.logWarning("edge assignment not applied").pipe(
                Effect.annotateLogs({ version: op.version, op: op._tag, scheduleId: op.scheduleId, reason })
              )
            })
          )
          version = op.version
        }
        if (version === from && !reset) return { applied: version, rejected }
        const now = yield* Clock.currentTimeMillis
        yield* sql`INSERT INTO edge_applied (id, version, applied_at) VALUES (1, ${version}, ${now})
            ON CONFLICT (id) DO UPDATE SET version = excluded.version, applied_at = excluded.applied_at`
        yield* Effect.logInfo("edge assignments applied").pipe(Effect.annotateLogs({ from, to: version }))
        return { applied: version, rejected }
      })
    ).pipe(Effect.orDie)

  return { applied, apply }
})
