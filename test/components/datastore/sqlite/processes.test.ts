/**
 * Crash safety with real processes: several scheduler processes share one
 * SQLite file, and a scheduler killed with SIGKILL is restarted with the same
 * identity. Workers report every attempt to their own append-only file; the
 * database is read after they have exited.
 */
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { Effect, Either, Layer } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { HandlerId, JobId, ScheduleId, TaskId } from "../../../../src/domain/ids.js"
import { Job } from "../../../../src/domain/Job.js"
import { Schedule } from "../../../../src/domain/Schedule.js"
import { RetryPolicy, Task } from "../../../../src/domain/Task.js"
import { IntervalTrigger } from "../../../../src/domain/triggers/schema.js"
import { next } from "../../../../src/domain/triggers/Trigger.js"
import { DataStore } from "../../../../src/services/DataStore.js"
import { type ExecutionEntry, ExecutionLog, type ExecutionPage } from "../../../../src/services/ExecutionLog.js"
import { storeLayer } from "./databaseFiles.js"
import { buildWorker, readRuns, startWorker, type Worker, waitFor } from "./processHarness.js"

beforeAll(buildWorker, 300_000)

const dirs: Array<string> = []
afterAll(() => {
  for (const dir of dirs) fs.rmSync(dir, { recursive: true, force: true })
})
const tempDir = () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "sz-sqlite-procs-"))
  dirs.push(dir)
  return dir
}

/** Runs `body` against the store on `db` in this process, then closes the file. */
const withStore = <A>(db: string, body: Effect.Effect<A, unknown, DataStore | ExecutionLog>) =>
  Effect.runPromise(Effect.scoped(Effect.flatMap(Layer.build(storeLayer(db)), (context) => Effect.provide(body, context))))

const task = (id: string, method: string, retry: Partial<ConstructorParameters<typeof RetryPolicy>[0]> = {}) =>
  Task.make({
    id: TaskId.make(id),
    handler: HandlerId.make("probe"),
    method,
    maxRunningJobs: null,
    retry: RetryPolicy.make({ backoffBaseMs: 0, jitter: false, ...retry })
  })

const oneOff = (taskId: string, createdAt: number) =>
  Job.make({ id: JobId.make(crypto.randomUUID()), taskId: TaskId.make(taskId), createdAt: new Date(createdAt), resultExpirationTime: 3600 })

/** An every-second schedule stored as Scheduler.addSchedule stores it: the trigger advanced past its first fire time. */
const everySecond = (id: string, taskId: string, start: number, fields: Partial<ConstructorParameters<typeof Schedule>[0]> = {}) => {
  const first = Either.getOrThrow(next(IntervalTrigger.make({ seconds: 1, startTime: new Date(start) })))
  expect(first.fireTime).toEqual(new Date(start))
  return Schedule.make({
    id: ScheduleId.make(id),
    taskId: TaskId.make(taskId),
    trigger: first.trigger,
    nextFireTime: first.fireTime,
    ...fields
  })
}

/** Every execution record, through the log's pages. */
const allRecords = Effect.gen(function* () {
  const log = yield* ExecutionLog
  const records: Array<ExecutionEntry> = []
  let cursor: string | null = null
  do {
    const page: ExecutionPage = yield* log.query(cursor === null ? { limit: 1000 } : { limit: 1000, cursor })
    records.push(...page.entries)
    cursor = page.nextCursor
  } while (cursor !== null)
  return records
})

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

const stopAll = async (workers: ReadonlyArray<Worker>) => {
  for (const worker of workers) worker.child.kill("SIGTERM")
  return Promise.all(workers.map((worker) => worker.exited))
}

const countBy = <A>(items: ReadonlyArray<A>, key: (a: A) => string) => {
  const counts = new Map<string, number>()
  for (const item of items) counts.set(key(item), (counts.get(key(item)) ?? 0) + 1)
  return counts
}

describe("sqlite with several scheduler processes", () => {
  it(
    "3 processes on one file: 3,000 one-off jobs each run once, 20 interval schedules turn every fire time into one job",
    async () => {
      const dir = tempDir()
      const db = path.join(dir, "shared.db")
      const oneOffCount = 3_000
      const scheduleCount = 20
      const runSeconds = 30
      const start = Math.ceil(Date.now() / 1000) * 1000 + 5_000
      await withStore(
        db,
        Effect.gen(function* () {
          const store = yield* DataStore
          yield* store.addTask(task("oneoff", "record"))
          yield* store.addTask(task("tick", "record"))
          for (let i = 0; i < oneOffCount; i++) yield* store.addJob(oneOff("oneoff", i))
          for (let i = 0; i < scheduleCount; i++) {
            yield* store.addSchedule(everySecond(`tick-${i}`, "tick", start, { coalesce: "all" }), "exception")
          }
        })
      )

      const workers = ["a", "b", "c"].map((name) => startWorker(db, `shared-${name}`, path.join(dir, `runs-${name}.log`)))
      const lastFire = start + (runSeconds - 1) * 1000
      const done = () => readRuns(dir).filter((line) => line.event === "done")
      try {
        await waitFor(
          () => {
            const lines = done()
            const oneOffs = lines.filter((line) => line.taskId === "oneoff").length
            const ticked = new Set(lines.filter((l) => (l.fireTime ?? 0) >= lastFire).map((l) => l.scheduleId))
            return oneOffs >= oneOffCount && ticked.size === scheduleCount
          },
          (runSeconds + 60) * 1000,
          () => `${done().length} attempts so far; worker output: ${workers.map((w) => w.output()).join("\n")}`
        )
      } finally {
        await stopAll(workers)
      }

      const lines = done()
      // Every one-off job ran exactly once, and the work was shared.
      const oneOffRuns = lines.filter((line) => line.taskId === "oneoff")
      const perJob = countBy(oneOffRuns, (line) => line.jobId)
      expect(perJob.size).toBe(oneOffCount)
      expect([...perJob.values()].every((n) => n === 1)).toBe(true)
      expect(new Set(oneOffRuns.map((line) => line.pid)).size).toBeGreaterThanOrEqual(2)

      const { jobs, records, schedules } = await withStore(
        db,
        Effect.gen(function* () {
          const store = yield* DataStore
          return { jobs: yield* store.getJobs(), schedules: yield* store.getSchedules(), records: yield* allRecords }
        })
      )
      // A graceful stop leaves nothing leased, and the log agrees with the workers' own reports.
      expect(jobs.filter((job) => job.acquiredBy !== null)).toEqual([])
      expect(jobs.filter((job) => job.taskId === "oneoff")).toEqual([])
      const oneOffRecords = records.filter((r) => r.taskId === "oneoff")
      expect(oneOffRecords.length).toBe(oneOffCount)
      expect(new Set(oneOffRecords.map((r) => r.jobId)).size).toBe(oneOffCount)
      expect(oneOffRecords.every((r) => r.outcome === "success")).toBe(true)
      for (const schedule of schedules) {
        // Fire times that became jobs: the final record of each finished one plus those still queued at the stop.
        const fired = [
          ...records.filter((r) => r.scheduleId === schedule.id && !r.willRetry).map((r) => r.scheduledAt!.getTime()),
          ...jobs.filter((job) => job.scheduleId === schedule.id).map((job) => job.scheduledFireTime!.getTime())
        ].sort((a, b) => a - b)
        const last = schedule.lastFireTime!.getTime()
        expect(last).toBeGreaterThanOrEqual(lastFire)
        const expected = Array.from({ length: (last - start) / 1000 + 1 }, (_, k) => start + k * 1000)
        expect({ schedule: schedule.id, fired }).toEqual({ schedule: schedule.id, fired: expected })
      }
    },
    240_000
  )

  it(
    "a scheduler killed with SIGKILL mid-job: restarted with the same id, its jobs are reaped as abandoned and retried per policy",
    async () => {
      const dir = tempDir()
      const db = path.join(dir, "killed.db")
      const retried = Array.from({ length: 5 }, (_, i) => oneOff("retried", i))
      const single = Array.from({ length: 2 }, (_, i) => oneOff("single", 10 + i))
      const start = Math.ceil(Date.now() / 1000) * 1000 + 2_000
      await withStore(
        db,
        Effect.gen(function* () {
          const store = yield* DataStore
          yield* store.addTask(task("retried", "hangFirst", { maxAttempts: 2 }))
          yield* store.addTask(task("single", "hangFirst", { maxAttempts: 1 }))
          yield* store.addTask(task("tick", "record"))
          for (const job of [...retried, ...single]) yield* store.addJob(job)
          // Fire times missed while the process is down: one job for all of them, or one missed record each.
          yield* store.addSchedule(everySecond("latest", "tick", start, { coalesce: "latest" }), "exception")
          yield* store.addSchedule(everySecond("graced", "tick", start, { coalesce: "all", misfireGraceTime: 0.5 }), "exception")
        })
      )
      const runs = path.join(dir, "runs-victim.log")
      const started = () => readRuns(dir).filter((line) => line.event === "start")

      const ticks = () => readRuns(dir).filter((line) => line.taskId === "tick" && line.event === "done")
      const victim = startWorker(db, "victim", runs)
      await waitFor(
        () => started().length === 7 && new Set(ticks().map((line) => line.scheduleId)).size === 2,
        60_000,
        () => `${started().length} of 7 started, ${ticks().length} ticks; output: ${victim.output()}`
      )
      victim.child.kill("SIGKILL")
      expect(await victim.exited).toBe("SIGKILL")
      const killedAt = Date.now()

      const held = (await withStore(db, Effect.flatMap(DataStore, (s) => s.getJobs()))).filter(
        (job) => job.taskId !== "tick"
      )
      expect(held.map((job) => job.acquiredBy)).toEqual(Array(7).fill("victim"))
      // Stay down long enough for several fire times to pass.
      await sleep(Math.max(0, killedAt + 3_500 - Date.now()))

      const restarted = startWorker(db, "victim", runs)
      const doneOnRetry = () => readRuns(dir).filter((line) => line.event === "done" && line.attempt === 2)
      try {
        const ticksAfterRestart = () => ticks().filter((line) => (line.fireTime ?? 0) > killedAt + 3_000)
        await waitFor(
          () =>
            doneOnRetry().length === retried.length &&
            new Set(ticksAfterRestart().map((line) => line.scheduleId)).size === 2,
          60_000,
          () => `${doneOnRetry().length} retried jobs done; output: ${restarted.output()}`
        )
      } finally {
        await stopAll([restarted])
      }
      expect(doneOnRetry().map((line) => line.jobId).sort()).toEqual(retried.map((job) => job.id).sort())

      const { entries, jobs, results, schedules } = await withStore(
        db,
        Effect.gen(function* () {
          const store = yield* DataStore
          return {
            jobs: yield* store.getJobs(),
            schedules: yield* store.getSchedules(),
            results: yield* Effect.forEach([...retried, ...single], (job) => store.getJobResult(job.id)),
            entries: yield* allRecords
          }
        })
      )
      // Nothing is left and nothing is lost: every one-off job has its final result.
      expect(jobs.filter((job) => job.taskId !== "tick")).toEqual([])
      expect(results.map((r) => (r._tag === "Some" ? [r.value.outcome, r.value.attempt] : null))).toEqual([
        ...retried.map(() => ["success", 2]),
        ...single.map(() => ["abandoned", 1])
      ])
      const history = countBy(
        entries.filter((e) => e.taskId !== "tick"),
        (e) => `${e.taskId} ${e.attempt} ${e.outcome} ${e.willRetry}`
      )
      expect(Object.fromEntries(history)).toEqual({
        "retried 1 abandoned true": 5,
        "retried 2 success false": 5,
        "single 1 abandoned false": 2
      })

      // Each fire time became at most one job; final records per fire time, plus jobs still queued at the stop.
      const finalFires = (scheduleId: string) =>
        [
          ...entries.filter((e) => e.scheduleId === scheduleId && !e.willRetry).map((e) => e.scheduledAt!.getTime()),
          ...jobs.filter((job) => job.scheduleId === scheduleId).map((job) => job.scheduledFireTime!.getTime())
        ].sort((a, b) => a - b)
      const lastOf = (scheduleId: string) => schedules.find((s) => s.id === scheduleId)!.lastFireTime!.getTime()
      const everyFire = (last: number) => Array.from({ length: (last - start) / 1000 + 1 }, (_, k) => start + k * 1000)

      // coalesce latest: the fire times missed while down collapse into one job (the latest), so there is a gap.
      const latest = finalFires("latest")
      expect(new Set(latest).size).toBe(latest.length)
      const gaps = latest.slice(1).map((t, i) => t - latest[i]!)
      expect(Math.max(...gaps)).toBeGreaterThanOrEqual(3_000)
      expect(latest.at(-1)).toBe(lastOf("latest"))

      // coalesce all with a 0.5 s misfire grace: every fire time has exactly one job; those due while down are missed.
      const graced = finalFires("graced")
      expect(graced).toEqual(everyFire(lastOf("graced")))
      // Fire times while the process was dead were past their 0.5 s grace when it came back 3.5 s later.
      const whileDown = graced.filter((t) => t > killedAt && t <= killedAt + 3_000)
      expect(whileDown.length).toBeGreaterThanOrEqual(2)
      const outcomeAt = new Map(
        entries.filter((e) => e.scheduleId === "graced" && !e.willRetry).map((e) => [e.scheduledAt!.getTime(), e.outcome])
      )
      expect(whileDown.map((t) => outcomeAt.get(t))).toEqual(whileDown.map(() => "missed"))
    },
    240_000
  )
})
