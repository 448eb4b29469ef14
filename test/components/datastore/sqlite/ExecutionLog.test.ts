import { describe, expect, it } from "@effect/vitest"
import { Duration, Effect, Layer, TestClock } from "effect"
import { HandlerId, JobId, ScheduleId, SchedulerId, TaskId } from "../../../../src/domain/ids.js"
import { Job } from "../../../../src/domain/Job.js"
import { JobError, JobResult } from "../../../../src/domain/JobResult.js"
import { RetryPolicy, Task } from "../../../../src/domain/Task.js"
import { DataStore } from "../../../../src/services/DataStore.js"
import { ExecutionLog, type ExecutionOutcome, summaryMaxChars } from "../../../../src/services/ExecutionLog.js"
import { storeLayer } from "./databaseFiles.js"
import { tempDatabase } from "./tempDatabase.js"

const scheduler = SchedulerId.make("scheduler-1")
const lease = Duration.seconds(60)
const alpha = Task.make({
  id: TaskId.make("alpha"),
  handler: HandlerId.make("reports"),
  method: "render",
  maxRunningJobs: null,
  retry: RetryPolicy.make({ maxAttempts: 3 })
})
const beta = Task.make({ id: TaskId.make("beta"), handler: HandlerId.make("ops"), method: "backup", maxRunningJobs: null })

let counter = 0
const newJob = (task: Task, fields: Partial<ConstructorParameters<typeof Job>[0]> = {}) =>
  Job.make({
    id: JobId.make(`00000000-0000-4000-8000-${(++counter).toString(16).padStart(12, "0")}`),
    taskId: task.id,
    createdAt: new Date(0),
    ...fields
  })

interface Attempt {
  readonly outcome: JobResult["outcome"]
  readonly startedAt: number
  readonly finishedAt: number
  readonly error?: JobError
  readonly returnValue?: unknown
  readonly retryAt?: number
}

/** Adds `job`, then runs its attempts through acquire and release. */
const runAttempts = (job: Job, attempts: ReadonlyArray<Attempt>) =>
  Effect.gen(function* () {
    const store = yield* DataStore
    yield* store.addJob(job)
    for (const attempt of attempts) {
      const [acquired] = yield* store.acquireJobs(scheduler, lease, 1)
      expect(acquired?.id).toBe(job.id)
      const result = JobResult.make({
        jobId: job.id,
        taskId: job.taskId,
        outcome: attempt.outcome,
        attempt: acquired!.attempt,
        startedAt: new Date(attempt.startedAt),
        finishedAt: new Date(attempt.finishedAt),
        expiresAt: new Date(attempt.finishedAt),
        error: attempt.error ?? null,
        returnValue: attempt.returnValue ?? null
      })
      yield* store.releaseJobs(scheduler, [
        attempt.retryAt === undefined
          ? { _tag: "Finished", job: acquired!, result }
          : { _tag: "Retry", job: acquired!, result, availableAt: new Date(attempt.retryAt) }
      ])
    }
  })

const test = (
  title: string,
  body: Effect.Effect<void, unknown, DataStore | ExecutionLog>,
  options: Parameters<typeof storeLayer>[1] = {}
) =>
  it.scoped(title, () =>
    Effect.gen(function* () {
      const filename = yield* tempDatabase
      const context = yield* Layer.build(storeLayer(filename, options))
      const store = yield* Effect.provide(DataStore, context)
      yield* store.addTask(alpha)
      yield* store.addTask(beta)
      yield* Effect.provide(body, context)
    })
  )

describe("sqlite execution log", () => {
  test(
    "one record per attempt with timings, lateness, attempt of max, outcome and bounded summaries",
    Effect.gen(function* () {
      const log = yield* ExecutionLog
      const job = newJob(alpha, {
        scheduleId: ScheduleId.make("nightly"),
        scheduledFireTime: new Date(1_000),
        args: ["x".repeat(3_000)],
        kwargs: { mode: "full" }
      })
      yield* runAttempts(job, [
        {
          outcome: "error",
          startedAt: 1_250,
          finishedAt: 1_400,
          error: JobError.make({ tag: "JobTimeout", message: "job timed out after 150 ms" }),
          retryAt: 0
        },
        { outcome: "success", startedAt: 2_000, finishedAt: 2_500, returnValue: { pages: 3 } }
      ])
      const { entries, nextCursor } = yield* log.query()
      expect(nextCursor).toBeNull()
      expect(entries).toHaveLength(2)
      const [second, first] = entries
      expect(first).toMatchObject({
        jobId: job.id,
        scheduleId: "nightly",
        taskId: "alpha",
        handler: "reports",
        method: "render",
        schedulerId: scheduler,
        attempt: 1,
        maxAttempts: 3,
        willRetry: true,
        scheduledAt: new Date(1_000),
        startedAt: new Date(1_250),
        finishedAt: new Date(1_400),
        durationMs: 150,
        latenessMs: 250,
        outcome: "timeout",
        errorTag: "JobTimeout",
        errorMessage: "job timed out after 150 ms",
        resultSummary: null
      })
      expect(first!.paramsSummary).toHaveLength(summaryMaxChars)
      expect(first!.paramsSummary.startsWith('{"args":["xxx')).toBe(true)
      expect(second).toMatchObject({
        attempt: 2,
        willRetry: false,
        durationMs: 500,
        latenessMs: 1_000,
        outcome: "success",
        errorTag: null,
        resultSummary: '{"pages":3}'
      })
      expect(second!.seq).toBeGreaterThan(first!.seq)
    })
  )

  test(
    "missed start deadlines and abandoned attempts are recorded too",
    Effect.gen(function* () {
      const store = yield* DataStore
      const log = yield* ExecutionLog
      const missed = newJob(beta, { scheduledFireTime: new Date(0), startDeadline: new Date(500) })
      const stuck = newJob(beta)
      yield* store.addJob(missed)
      yield* store.addJob(stuck)
      yield* TestClock.adjust(1_000)
      expect((yield* store.acquireJobs(scheduler, lease, 10)).map((j) => j.id)).toEqual([stuck.id])
      yield* TestClock.adjust(5_000)
      yield* store.reapAbandonedJobs(scheduler)
      const { entries } = yield* log.query()
      expect(entries.map((e) => [e.jobId, e.outcome, e.startedAt?.getTime() ?? null, e.finishedAt.getTime()])).toEqual([
        [stuck.id, "abandoned", 1_000, 6_000],
        [missed.id, "missed", null, 1_000]
      ])
      expect(entries[0]).toMatchObject({ errorTag: "JobAbandoned", handler: "ops", method: "backup", durationMs: 5_000 })
    })
  )

  test(
    "a job cancelled before it ran is recorded as cancelled by the canceller, with the reason",
    Effect.gen(function* () {
      const store = yield* DataStore
      const log = yield* ExecutionLog
      const job = newJob(alpha, { scheduledFireTime: new Date(0) })
      yield* store.addJob(job)
      yield* TestClock.adjust(2_000)
      const canceller = SchedulerId.make("portal")
      expect((yield* store.cancelJob(canceller, job.id, "not needed"))._tag).toBe("Cancelled")
      const { entries } = yield* log.query()
      expect(entries).toHaveLength(1)
      expect(entries[0]).toMatchObject({
        jobId: job.id,
        schedulerId: canceller,
        attempt: 1,
        maxAttempts: 3,
        willRetry: false,
        startedAt: null,
        finishedAt: new Date(2_000),
        durationMs: null,
        outcome: "cancelled",
        errorTag: "JobCancelled",
        errorMessage: "not needed"
      })
    })
  )

  test(
    "queries filter by handler, task, schedule, outcome and time range",
    Effect.gen(function* () {
      const log = yield* ExecutionLog
      const a1 = newJob(alpha, { scheduleId: ScheduleId.make("s1") })
      const a2 = newJob(alpha, { scheduleId: ScheduleId.make("s2") })
      const b1 = newJob(beta)
      yield* runAttempts(a1, [{ outcome: "success", startedAt: 100, finishedAt: 200 }])
      yield* runAttempts(a2, [{ outcome: "error", startedAt: 300, finishedAt: 400 }])
      yield* runAttempts(b1, [{ outcome: "cancelled", startedAt: 500, finishedAt: 600 }])
      const jobsOf = (entries: ReadonlyArray<{ readonly jobId: string }>) => entries.map((e) => e.jobId)
      expect(jobsOf((yield* log.query({ handler: "reports" })).entries)).toEqual([a2.id, a1.id])
      expect(jobsOf((yield* log.query({ taskId: "beta" })).entries)).toEqual([b1.id])
      expect(jobsOf((yield* log.query({ scheduleId: "s1" })).entries)).toEqual([a1.id])
      expect(jobsOf((yield* log.query({ outcome: "error" })).entries)).toEqual([a2.id])
      const some: ReadonlyArray<ExecutionOutcome> = ["success", "cancelled"]
      expect(jobsOf((yield* log.query({ outcome: some })).entries)).toEqual([b1.id, a1.id])
      expect(jobsOf((yield* log.query({ from: new Date(400), to: new Date(600) })).entries)).toEqual([a2.id])
      expect(jobsOf((yield* log.query({ handler: "reports", outcome: "cancelled" })).entries)).toEqual([])
    })
  )

  test(
    "cursor pagination walks every record once, newest first",
    Effect.gen(function* () {
      const log = yield* ExecutionLog
      const jobs = Array.from({ length: 7 }, () => newJob(alpha))
      for (const [i, job] of jobs.entries()) {
        yield* runAttempts(job, [{ outcome: "success", startedAt: i * 10, finishedAt: i * 10 + 5 }])
      }
      const seen: Array<string> = []
      let cursor: string | undefined
      let pages = 0
      do {
        const page = yield* log.query(cursor === undefined ? { limit: 3 } : { limit: 3, cursor })
        seen.push(...page.entries.map((e) => e.jobId))
        cursor = page.nextCursor ?? undefined
        pages++
      } while (cursor !== undefined)
      expect(pages).toBe(3)
      expect(seen).toEqual(jobs.map((j) => j.id).reverse())
      expect((yield* Effect.flip(log.query({ cursor: "abc" })))._tag).toBe("InvalidCursor")
      expect((yield* Effect.flip(log.query({ limit: 0 })))._tag).toBe("InvalidPageSize")
      expect((yield* Effect.flip(log.query({ limit: 1001 })))._tag).toBe("InvalidPageSize")
    })
  )

  test(
    "stats count outcomes and give success rate and nearest-rank p50/p95 durations per handler and per task",
    Effect.gen(function* () {
      const log = yield* ExecutionLog
      // alpha (handler reports): durations 10..100 ms, the last two fail
      for (let i = 1; i <= 10; i++) {
        yield* runAttempts(newJob(alpha), [
          { outcome: i <= 8 ? "success" : "error", startedAt: 0, finishedAt: i * 10 }
        ])
      }
      // beta (handler ops): one success of 7 ms, one missed (no duration)
      yield* runAttempts(newJob(beta), [{ outcome: "success", startedAt: 0, finishedAt: 7 }])
      const store = yield* DataStore
      yield* store.addJob(newJob(beta, { startDeadline: new Date(0) }))
      yield* TestClock.adjust(1)
      yield* store.acquireJobs(scheduler, lease, 10)

      const stats = yield* log.stats()
      expect(stats.overall).toMatchObject({ total: 12, p50DurationMs: 50, p95DurationMs: 100 })
      expect(stats.overall.byOutcome).toEqual({ success: 9, error: 2, timeout: 0, cancelled: 0, missed: 1, abandoned: 0 })
      expect(stats.overall.successRate).toBeCloseTo(9 / 12)
      expect(stats.byHandler.map((h) => [h.handler, h.total, h.successRate, h.p50DurationMs, h.p95DurationMs])).toEqual([
        ["ops", 2, 0.5, 7, 7],
        ["reports", 10, 0.8, 50, 100]
      ])
      expect(stats.byTask.map((t) => [t.taskId, t.total, t.byOutcome.missed])).toEqual([
        ["alpha", 10, 0],
        ["beta", 2, 1]
      ])
      const onlyErrors = yield* log.stats({ outcome: "error" })
      expect(onlyErrors.overall).toMatchObject({ total: 2, successRate: 0, p50DurationMs: 90, p95DurationMs: 100 })
      const empty = yield* log.stats({ handler: "nobody" })
      expect(empty).toEqual({
        overall: {
          total: 0,
          byOutcome: { success: 0, error: 0, timeout: 0, cancelled: 0, missed: 0, abandoned: 0 },
          successRate: null,
          p50DurationMs: null,
          p95DurationMs: null
        },
        byHandler: [],
        byTask: []
      })
    })
  )

  test(
    "cleanup keeps at most maxRows records",
    Effect.gen(function* () {
      const log = yield* ExecutionLog
      const jobs = Array.from({ length: 5 }, () => newJob(alpha))
      for (const job of jobs) yield* runAttempts(job, [{ outcome: "success", startedAt: 0, finishedAt: 1 }])
      yield* (yield* DataStore).cleanup()
      expect((yield* log.query()).entries.map((e) => e.jobId)).toEqual(jobs.slice(2).map((j) => j.id).reverse())
    }),
    { executionLog: { maxRows: 3, maxAgeMs: null } }
  )

  test(
    "cleanup drops records older than maxAgeMs",
    Effect.gen(function* () {
      const log = yield* ExecutionLog
      const jobs = Array.from({ length: 5 }, () => newJob(alpha))
      for (const [i, job] of jobs.entries()) {
        yield* runAttempts(job, [{ outcome: "success", startedAt: 0, finishedAt: (i + 1) * 1_000 }])
      }
      yield* TestClock.adjust(10_000)
      yield* (yield* DataStore).cleanup()
      // now = 10 s, max age 7.5 s: records that finished before 2.5 s are gone
      expect((yield* log.query()).entries.map((e) => e.finishedAt.getTime())).toEqual([5_000, 4_000, 3_000])
    }),
    { executionLog: { maxRows: null, maxAgeMs: 7_500 } }
  )
  /** Six attempts finished at 1..6 s: alpha success, alpha error, beta success, alpha success, beta error, alpha success. */
  const sixAttempts = Effect.gen(function* () {
    const plan: ReadonlyArray<readonly [Task, JobResult["outcome"]]> = [
      [alpha, "success"],
      [alpha, "error"],
      [beta, "success"],
      [alpha, "success"],
      [beta, "error"],
      [alpha, "success"]
    ]
    const jobs: Array<Job> = []
    for (const [i, [task, outcome]] of plan.entries()) {
      const job = newJob(task)
      jobs.push(job)
      yield* runAttempts(job, [{ outcome, startedAt: 0, finishedAt: (i + 1) * 1_000 }])
    }
    return jobs
  })

  const remaining = Effect.map(
    Effect.flatMap(ExecutionLog, (log) => log.query()),
    (page) => page.entries.map((e) => e.jobId)
  )

  test(
    "prune before a date deletes exactly the older records",
    Effect.gen(function* () {
      const log = yield* ExecutionLog
      const jobs = yield* sixAttempts
      expect(yield* log.prune({ before: new Date(3_000) })).toEqual({ deleted: 2 })
      expect(yield* remaining).toEqual(jobs.slice(2).map((j) => j.id).reverse())
      expect(yield* log.prune({ before: new Date(3_000) })).toEqual({ deleted: 0 })
    })
  )

  test(
    "prune keepLast keeps the newest records and deletes the rest; fewer records than keepLast deletes nothing",
    Effect.gen(function* () {
      const log = yield* ExecutionLog
      const jobs = yield* sixAttempts
      expect(yield* log.prune({ keepLast: 10 })).toEqual({ deleted: 0 })
      expect(yield* log.prune({ keepLast: 4 })).toEqual({ deleted: 2 })
      expect(yield* remaining).toEqual(jobs.slice(2).map((j) => j.id).reverse())
      expect(yield* log.prune({ keepLast: 0 })).toEqual({ deleted: 4 })
      expect(yield* remaining).toEqual([])
    })
  )

  test(
    "prune with both conditions deletes only records older than before and outside the newest keepLast",
    Effect.gen(function* () {
      const log = yield* ExecutionLog
      const jobs = yield* sixAttempts
      // before 5 s covers the first four; keepLast 3 protects the fourth
      expect(yield* log.prune({ before: new Date(5_000), keepLast: 3 })).toEqual({ deleted: 3 })
      expect(yield* remaining).toEqual(jobs.slice(3).map((j) => j.id).reverse())
    })
  )

  test(
    "prune narrows to the filter: keepLast counts only matching records, others stay",
    Effect.gen(function* () {
      const log = yield* ExecutionLog
      const jobs = yield* sixAttempts
      // alpha records are jobs 0, 1, 3, 5: keep the newest two of them (3 and 5)
      expect(yield* log.prune({ keepLast: 2, filter: { taskId: "alpha" } })).toEqual({ deleted: 2 })
      expect(yield* remaining).toEqual([jobs[5]!.id, jobs[4]!.id, jobs[3]!.id, jobs[2]!.id])
      // the errors (only job 4 is left with one) older than 6 s
      expect(yield* log.prune({ before: new Date(6_000), filter: { outcome: ["error"] } })).toEqual({ deleted: 1 })
      expect(yield* remaining).toEqual([jobs[5]!.id, jobs[3]!.id, jobs[2]!.id])
      expect(yield* log.prune({ before: new Date(10_000), filter: { handler: "ops" } })).toEqual({ deleted: 1 })
      expect(yield* remaining).toEqual([jobs[5]!.id, jobs[3]!.id])
    })
  )

  test(
    "prune rejects missing conditions, an invalid date and a keepLast that is not a count, deleting nothing",
    Effect.gen(function* () {
      const log = yield* ExecutionLog
      yield* sixAttempts
      const invalid = (options: unknown) => Effect.flip(log.prune(options as Parameters<typeof log.prune>[0]))
      expect(yield* invalid({})).toMatchObject({ _tag: "InvalidRetention", field: "before" })
      expect(yield* invalid({ before: new Date(Number.NaN) })).toMatchObject({ _tag: "InvalidRetention", field: "before" })
      for (const keepLast of [-1, 1.5, Number.POSITIVE_INFINITY]) {
        expect(yield* invalid({ keepLast })).toMatchObject({ _tag: "InvalidRetention", field: "keepLast" })
      }
      expect(yield* remaining).toHaveLength(6)
    })
  )
})
