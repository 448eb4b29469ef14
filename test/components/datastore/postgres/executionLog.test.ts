/**
 * The postgres ExecutionLog: one record per attempt written by the store,
 * read back newest first in cursor pages, filtered, counted (nearest-rank
 * percentiles) and pruned.
 */
import { describe, expect, it } from "@effect/vitest"
import { Duration, Effect, Layer } from "effect"
import * as LocalBroker from "../../../../src/components/broker/Local.js"
import * as PostgresStore from "../../../../src/components/datastore/Postgres.js"
import { HandlerId, JobId, SchedulerId, TaskId } from "../../../../src/domain/ids.js"
import { Job } from "../../../../src/domain/Job.js"
import { JobError, JobResult } from "../../../../src/domain/JobResult.js"
import { RetryPolicy, Task } from "../../../../src/domain/Task.js"
import { DataStore } from "../../../../src/services/DataStore.js"
import { ExecutionLog, type PruneOptions } from "../../../../src/services/ExecutionLog.js"
import { emptySchema, useTestDatabase } from "./testDatabase.js"

const database = useTestDatabase("sz_exec_log")
const schema = "log"
const scheduler = SchedulerId.make("scheduler-1")
const alpha = Task.make({
  id: TaskId.make("alpha"),
  handler: HandlerId.make("reports"),
  method: "render",
  maxRunningJobs: null,
  retry: RetryPolicy.make({ maxAttempts: 3 })
})
const beta = Task.make({ id: TaskId.make("beta"), handler: HandlerId.make("ops"), method: "backup", maxRunningJobs: null })

let counter = 0
const newJob = (task: Task) =>
  Job.make({ id: JobId.make(`00000000-0000-4000-8000-${(++counter).toString(16).padStart(12, "0")}`), taskId: task.id, createdAt: new Date(0) })

/** Runs one finished attempt of a new job of `task` that took `durationMs`. */
const runOnce = (task: Task, outcome: JobResult["outcome"], durationMs: number, finishedAt: number) =>
  Effect.gen(function* () {
    const store = yield* DataStore
    const job = newJob(task)
    yield* store.addJob(job)
    const [acquired] = yield* store.acquireJobs(scheduler, Duration.seconds(60), 1)
    const result = JobResult.make({
      jobId: job.id,
      taskId: job.taskId,
      outcome,
      attempt: 1,
      startedAt: new Date(finishedAt - durationMs),
      finishedAt: new Date(finishedAt),
      expiresAt: new Date(finishedAt),
      error: outcome === "success" ? null : new JobError({ tag: "Boom", message: "failed" })
    })
    yield* store.releaseJobs(scheduler, [{ _tag: "Finished", job: acquired!, result }])
  })

const test = (title: string, body: Effect.Effect<void, unknown, DataStore | ExecutionLog>) =>
  it.live(title, () =>
    Effect.gen(function* () {
      yield* Effect.promise(() => emptySchema(database.url(), schema))
      const context = yield* Layer.build(
        PostgresStore.layer({ url: database.url(), schema, synchronousCommit: "off" }).pipe(Layer.provide(LocalBroker.layer))
      )
      const store = yield* Effect.provide(DataStore, context)
      yield* store.addTask(alpha)
      yield* store.addTask(beta)
      yield* Effect.provide(body, context)
    }).pipe(Effect.scoped), 60_000)

describe("postgres execution log", () => {
  test(
    "pages are newest first and follow their cursor to the end; filters narrow them",
    Effect.gen(function* () {
      for (let i = 0; i < 5; i++) yield* runOnce(alpha, "success", 10, 1_000 + i)
      for (let i = 0; i < 3; i++) yield* runOnce(beta, "error", 20, 2_000 + i)
      const log = yield* ExecutionLog
      const first = yield* log.query({ limit: 3 })
      expect(first.entries.map((e) => e.finishedAt.getTime())).toEqual([2_002, 2_001, 2_000])
      const second = yield* log.query({ limit: 3, cursor: first.nextCursor! })
      const third = yield* log.query({ limit: 3, cursor: second.nextCursor! })
      expect(third.nextCursor).toBeNull()
      expect([...first.entries, ...second.entries, ...third.entries].length).toBe(8)
      const errors = yield* log.query({ outcome: "error" })
      expect(errors.entries.map((e) => [e.handler, e.method, e.errorTag])).toEqual(Array(3).fill(["ops", "backup", "Boom"]))
      const window = yield* log.query({ taskId: "alpha", from: new Date(1_001), to: new Date(1_003) })
      expect(window.entries.map((e) => e.finishedAt.getTime())).toEqual([1_002, 1_001])
      expect((yield* Effect.flip(log.query({ cursor: "x" })))._tag).toBe("InvalidCursor")
    })
  )

  test(
    "stats count outcomes and give nearest-rank p50/p95 durations, overall, by handler and by task",
    Effect.gen(function* () {
      for (let i = 1; i <= 20; i++) yield* runOnce(alpha, i <= 18 ? "success" : "error", i * 10, 1_000 + i)
      yield* runOnce(beta, "success", 5, 3_000)
      const stats = yield* (yield* ExecutionLog).stats()
      expect(stats.overall.total).toBe(21)
      expect(stats.overall.byOutcome.success).toBe(19)
      expect(stats.overall.byOutcome.error).toBe(2)
      const reports = stats.byHandler.find((h) => h.handler === "reports")!
      expect([reports.total, reports.p50DurationMs, reports.p95DurationMs]).toEqual([20, 100, 190])
      expect(reports.successRate).toBe(0.9)
      expect(stats.byTask.map((t) => t.taskId)).toEqual(["alpha", "beta"])
    })
  )

  test(
    "prune deletes by age and keeps the newest keepLast; the count is what went",
    Effect.gen(function* () {
      for (let i = 0; i < 10; i++) yield* runOnce(alpha, "success", 1, 1_000 + i)
      const log = yield* ExecutionLog
      expect(yield* log.prune({ before: new Date(1_003) })).toEqual({ deleted: 3 })
      expect(yield* log.prune({ keepLast: 4 })).toEqual({ deleted: 3 })
      expect((yield* log.query()).entries.map((e) => e.finishedAt.getTime())).toEqual([1_009, 1_008, 1_007, 1_006])
      // Neither condition: what an untyped caller (an HTTP body) can send.
      expect((yield* Effect.flip(log.prune({} as unknown as PruneOptions)))._tag).toBe("InvalidRetention")
    })
  )
})
