/**
 * Several scheduler processes on one PostgreSQL database (store and broker),
 * each run in a database of its own that is dropped afterwards:
 * - 3 processes share 10,000 one-off jobs and 50 interval schedules: every job
 *   runs once, every fire time becomes exactly one job;
 * - one of three is killed with SIGKILL mid-run: the other two take its jobs
 *   over once their leases lapse, retried per policy (both attempts logged);
 * - the server is restarted mid-run: the schedulers reconnect and go on.
 *
 * The shared run lasts SZ_SCALEOUT_SECONDS of fire times (default 20, to keep
 * the suite short); `SZ_SCALEOUT_SECONDS=60 npx vitest run test/scaleout`
 * is the 60-second soak.
 */
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { Effect, Either, Layer } from "effect"
import { execFileSync } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import * as LocalBroker from "../../src/components/broker/Local.js"
import * as PostgresStore from "../../src/components/datastore/Postgres.js"
import { HandlerId, JobId, ScheduleId, TaskId } from "../../src/domain/ids.js"
import { Job } from "../../src/domain/Job.js"
import { Schedule } from "../../src/domain/Schedule.js"
import { RetryPolicy, Task } from "../../src/domain/Task.js"
import { IntervalTrigger } from "../../src/domain/triggers/schema.js"
import { next } from "../../src/domain/triggers/Trigger.js"
import { DataStore } from "../../src/services/DataStore.js"
import { type ExecutionEntry, ExecutionLog, type ExecutionPage } from "../../src/services/ExecutionLog.js"
import { createDatabase, databaseUrl, dropDatabase, withConnection } from "../components/datastore/postgres/testDatabase.js"
import { buildWorker, readRuns, type RunLine, startWorker, stopAll, type Worker, waitFor } from "./harness.js"

const runSeconds = Number(process.env.SZ_SCALEOUT_SECONDS ?? 20)
const schema = "scaleout"

beforeAll(buildWorker, 300_000)

const databases: Array<string> = []
const dirs: Array<string> = []
afterAll(async () => {
  for (const dir of dirs) fs.rmSync(dir, { recursive: true, force: true })
  for (const name of databases) await dropDatabase(name)
}, 60_000)

/** A fresh database and run directory for one test. */
const setUp = async () => {
  const name = await createDatabase("sz_scaleout")
  databases.push(name)
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "sz-pg-scaleout-"))
  dirs.push(dir)
  return { url: databaseUrl(name), dir }
}

/** Runs `body` against the store in this process (local broker: the workers are not running yet or have stopped). */
const withStore = <A>(url: string, body: Effect.Effect<A, unknown, DataStore | ExecutionLog>) =>
  Effect.runPromise(
    Effect.scoped(
      Effect.flatMap(
        Layer.build(PostgresStore.layer({ url, schema }).pipe(Layer.provide(LocalBroker.layer))),
        (context) => Effect.provide(body, context)
      )
    )
  )

const task = (id: string, method: string, retry: Partial<ConstructorParameters<typeof RetryPolicy>[0]> = {}) =>
  Task.make({
    id: TaskId.make(id),
    handler: HandlerId.make("probe"),
    method,
    maxRunningJobs: null,
    retry: RetryPolicy.make({ backoffBaseMs: 0, jitter: false, ...retry })
  })

const oneOff = (taskId: string, createdAt: number) =>
  Job.make({
    id: JobId.make(crypto.randomUUID()),
    taskId: TaskId.make(taskId),
    createdAt: new Date(createdAt),
    resultExpirationTime: 3600
  })

/** An every-second schedule as Scheduler.addSchedule stores it: the trigger advanced past its first fire time. */
const everySecond = (id: string, taskId: string, start: number) => {
  const first = Either.getOrThrow(next(IntervalTrigger.make({ seconds: 1, startTime: new Date(start) })))
  return Schedule.make({
    id: ScheduleId.make(id),
    taskId: TaskId.make(taskId),
    trigger: first.trigger,
    nextFireTime: first.fireTime,
    coalesce: "all"
  })
}

const addJobsInChunks = (jobs: ReadonlyArray<Job>) =>
  Effect.flatMap(DataStore, (store) =>
    Effect.forEach(
      Array.from({ length: Math.ceil(jobs.length / 1000) }, (_, i) => jobs.slice(i * 1000, (i + 1) * 1000)),
      (chunk) => store.addJobs(chunk),
      { discard: true }
    )
  )

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

const finalState = (url: string) =>
  withStore(
    url,
    Effect.gen(function* () {
      const store = yield* DataStore
      return { jobs: yield* store.getJobs(), schedules: yield* store.getSchedules(), records: yield* allRecords }
    })
  )

const countBy = <A>(items: ReadonlyArray<A>, key: (a: A) => string) => {
  const counts = new Map<string, number>()
  for (const item of items) counts.set(key(item), (counts.get(key(item)) ?? 0) + 1)
  return counts
}

/** Polls `condition` every second until it holds or `timeoutMs` passes (then throws with `describe()`). */
const waitForAsync = async (condition: () => Promise<boolean>, timeoutMs: number, describe: () => string) => {
  const deadline = Date.now() + timeoutMs
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out: ${describe()}`)
    await new Promise((r) => setTimeout(r, 1_000))
  }
}

const done = (dir: string): Array<RunLine> => readRuns(dir).filter((line) => line.event === "done")

/** Every fire time of every schedule, from `start` to its last, became exactly one job (finished or still queued). */
const expectEveryFireTimeOnce = (
  state: Awaited<ReturnType<typeof finalState>>,
  start: number,
  atLeastUntil: number
) => {
  for (const schedule of state.schedules) {
    const fired = [
      ...state.records.filter((r) => r.scheduleId === schedule.id && !r.willRetry).map((r) => r.scheduledAt!.getTime()),
      ...state.jobs.filter((job) => job.scheduleId === schedule.id).map((job) => job.scheduledFireTime!.getTime())
    ].sort((a, b) => a - b)
    const last = schedule.lastFireTime!.getTime()
    expect(last).toBeGreaterThanOrEqual(atLeastUntil)
    const expected = Array.from({ length: (last - start) / 1000 + 1 }, (_, k) => start + k * 1000)
    expect({ schedule: schedule.id, fired }).toEqual({ schedule: schedule.id, fired: expected })
  }
}

/**
 * Pauses every schedule and waits until no job is left (all ran and were
 * released), so the workers stop idle and the final state is settled.
 */
const quiesce = async (url: string, describe: () => string) => {
  await withStore(
    url,
    Effect.flatMap(DataStore, (store) =>
      Effect.flatMap(store.getSchedules(), (schedules) =>
        Effect.forEach(schedules, (s) => store.updateSchedule(s.id, (stored) => Schedule.make({ ...stored, paused: true })))
      )
    )
  )
  await waitForAsync(
    async () => (await withStore(url, Effect.flatMap(DataStore, (store) => store.getJobs()))).length === 0,
    120_000,
    describe
  )
}

const describeRun = (dir: string, workers: ReadonlyArray<Worker>) => () =>
  `${done(dir).length} attempts done; worker output:\n${workers.map((w) => w.output().slice(-2000)).join("\n---\n")}`

describe("postgres with several scheduler processes", () => {
  it(
    `3 processes: 10,000 one-off jobs each run once, 50 interval schedules over ${runSeconds} s turn every fire time into one job`,
    async () => {
      const { dir, url } = await setUp()
      const oneOffCount = 10_000
      const scheduleCount = 50
      const start = Math.ceil(Date.now() / 1000) * 1000 + 3_000
      await withStore(
        url,
        Effect.gen(function* () {
          const store = yield* DataStore
          yield* store.addTask(task("oneoff", "record"))
          yield* store.addTask(task("tick", "record"))
          yield* addJobsInChunks(Array.from({ length: oneOffCount }, (_, i) => oneOff("oneoff", i)))
          for (let i = 0; i < scheduleCount; i++) yield* store.addSchedule(everySecond(`tick-${i}`, "tick", start), "exception")
        })
      )

      const workers = ["a", "b", "c"].map((name) => startWorker(url, schema, `shared-${name}`, path.join(dir, `runs-${name}.log`), 30_000))
      const lastFire = start + (runSeconds - 1) * 1000
      try {
        await waitFor(
          () => {
            const lines = done(dir)
            const oneOffs = lines.filter((line) => line.taskId === "oneoff").length
            const ticked = new Set(lines.filter((l) => (l.fireTime ?? 0) >= lastFire).map((l) => l.scheduleId))
            return oneOffs >= oneOffCount && ticked.size === scheduleCount
          },
          (runSeconds + 90) * 1000,
          describeRun(dir, workers)
        )
        await quiesce(url, describeRun(dir, workers))
      } finally {
        expect(await stopAll(workers)).toEqual([0, 0, 0])
      }

      const lines = done(dir)
      const oneOffRuns = lines.filter((line) => line.taskId === "oneoff")
      const perJob = countBy(oneOffRuns, (line) => line.jobId)
      expect(perJob.size).toBe(oneOffCount)
      expect([...perJob.values()].every((n) => n === 1)).toBe(true)
      // The work was shared.
      expect(new Set(oneOffRuns.map((line) => line.pid)).size).toBeGreaterThanOrEqual(2)

      const state = await finalState(url)
      expect(state.jobs).toEqual([])
      const oneOffRecords = state.records.filter((r) => r.taskId === "oneoff")
      expect(oneOffRecords.length).toBe(oneOffCount)
      expect(new Set(oneOffRecords.map((r) => r.jobId)).size).toBe(oneOffCount)
      expect(oneOffRecords.every((r) => r.outcome === "success")).toBe(true)
      expectEveryFireTimeOnce(state, start, lastFire)
      // Every tick attempt the workers reported is one record: none ran twice.
      const tickRuns = countBy(lines.filter((l) => l.taskId === "tick"), (l) => l.jobId)
      expect([...tickRuns.values()].every((n) => n === 1)).toBe(true)
    },
    (runSeconds + 240) * 1000
  )

  it(
    "one of three killed with SIGKILL: the others take over its jobs after the lease, retried per policy, nothing lost",
    async () => {
      const { dir, url } = await setUp()
      const leaseMs = 3_000
      const retried = Array.from({ length: 40 }, (_, i) => oneOff("retried", i))
      const single = Array.from({ length: 20 }, (_, i) => oneOff("single", 100 + i))
      const oneOffs = Array.from({ length: 3_000 }, (_, i) => oneOff("oneoff", 1_000 + i))
      const start = Math.ceil(Date.now() / 1000) * 1000 + 2_000
      await withStore(
        url,
        Effect.gen(function* () {
          const store = yield* DataStore
          yield* store.addTask(task("retried", "hangFirst", { maxAttempts: 2 }))
          yield* store.addTask(task("single", "hangFirst", { maxAttempts: 1 }))
          yield* store.addTask(task("oneoff", "record"))
          yield* store.addTask(task("tick", "record"))
          yield* addJobsInChunks([...retried, ...single])
          for (let i = 0; i < 10; i++) yield* store.addSchedule(everySecond(`tick-${i}`, "tick", start), "exception")
        })
      )
      const started = () => readRuns(dir).filter((line) => line.event === "start" && line.attempt === 1)
      // The victim starts alone and takes every hanging job (oldest first).
      const victim = startWorker(url, schema, "victim", path.join(dir, "runs-victim.log"), leaseMs)
      const workers = [victim]
      try {
        await waitFor(() => started().length === 60, 60_000, describeRun(dir, workers))
        workers.push(
          ...["a", "b"].map((name) => startWorker(url, schema, `survivor-${name}`, path.join(dir, `runs-${name}.log`), leaseMs))
        )
        await waitFor(
          () => new Set(done(dir).filter((l) => l.schedulerId !== "victim").map((l) => l.schedulerId)).size === 2,
          60_000,
          describeRun(dir, workers)
        )
        // All three are running: one-off jobs arrive now and are shared out; the victim dies among them.
        await withStore(url, addJobsInChunks(oneOffs))
        await waitFor(
          () => done(dir).some((l) => l.taskId === "oneoff" && l.schedulerId === "victim"),
          60_000,
          describeRun(dir, workers)
        )
        victim.child.kill("SIGKILL")
        expect(await victim.exited).toBe("SIGKILL")
        const killedAt = Date.now()
        const retriedDone = () => done(dir).filter((l) => l.taskId === "retried" && l.attempt === 2)
        const ticksAfterTakeover = () =>
          new Set(done(dir).filter((l) => (l.fireTime ?? 0) > killedAt + leaseMs).map((l) => l.scheduleId)).size
        await waitFor(
          () => retriedDone().length === retried.length && ticksAfterTakeover() === 10,
          120_000,
          describeRun(dir, workers)
        )
        await quiesce(url, describeRun(dir, workers))
      } finally {
        await stopAll(workers.slice(1))
        if (victim.child.exitCode === null && victim.child.signalCode === null) victim.child.kill("SIGKILL")
      }

      const state = await finalState(url)
      const lines = done(dir)
      // Nothing ran twice: each job has at most one "done" (a retry's attempt 2 is the only run of a hung job).
      expect([...countBy(lines, (l) => `${l.jobId}`).values()].every((n) => n === 1)).toBe(true)
      // Nothing is lost: every job has its final record; none is left.
      expect(state.jobs).toEqual([])
      const finals = new Map(state.records.filter((r) => !r.willRetry).map((r) => [r.jobId, r] as const))
      for (const job of [...retried, ...single, ...oneOffs]) expect(finals.has(job.id)).toBe(true)
      // The hung attempts: abandoned by the dead scheduler, retried by a survivor (both attempts in the log).
      const history = countBy(
        state.records.filter((r) => r.taskId !== "tick" && r.taskId !== "oneoff"),
        (r) => `${r.taskId} ${r.attempt} ${r.outcome} ${r.willRetry} ${r.schedulerId === "victim" ? "victim" : "survivor"}`
      )
      expect(Object.fromEntries(history)).toEqual({
        "retried 1 abandoned true victim": 40,
        "retried 2 success false survivor": 40,
        "single 1 abandoned false victim": 20
      })
      // One-off jobs: run by a survivor, or by the victim (success, or abandoned when it died before
      // releasing; those have maxAttempts 1, so they are not run again).
      const oneOffRecords = state.records.filter((r) => r.taskId === "oneoff")
      expect(oneOffRecords.length).toBe(oneOffs.length)
      for (const record of oneOffRecords) {
        if (record.outcome !== "success") expect([record.outcome, record.schedulerId]).toEqual(["abandoned", "victim"])
      }
      expectEveryFireTimeOnce(state, start, start)
    },
    300_000
  )

  it(
    "PostgreSQL restarted mid-run: the schedulers reconnect and continue, no job lost or run twice",
    async () => {
      const { dir, url } = await setUp()
      const oneOffs = Array.from({ length: 3_000 }, (_, i) => oneOff("oneoff", i))
      const start = Math.ceil(Date.now() / 1000) * 1000 + 2_000
      await withStore(
        url,
        Effect.gen(function* () {
          const store = yield* DataStore
          yield* store.addTask(task("oneoff", "record"))
          yield* store.addTask(task("tick", "record"))
          for (let i = 0; i < 10; i++) yield* store.addSchedule(everySecond(`tick-${i}`, "tick", start), "exception")
        })
      )
      const workers = ["a", "b", "c"].map((name) => startWorker(url, schema, `restart-${name}`, path.join(dir, `runs-${name}.log`), 30_000))
      let restartedAt = 0
      try {
        // All three are up (each has run something) before the server goes away.
        await waitFor(() => new Set(done(dir).map((l) => l.schedulerId)).size === 3, 60_000, describeRun(dir, workers))
        await withStore(url, addJobsInChunks(oneOffs.slice(0, 1_500)))
        // The machine's shared server: restarted quickly, and waited for until it answers again.
        const cluster = fs.readdirSync("/etc/postgresql")[0]!
        execFileSync("pg_ctlcluster", ["--skip-systemctl-redirect", cluster, "main", "restart"], { stdio: "ignore" })
        restartedAt = Date.now()
        await withConnection(url, (client) => client.query("SELECT 1"))
        await withStore(url, addJobsInChunks(oneOffs.slice(1_500)))
        await waitFor(
          () =>
            new Set(done(dir).filter((l) => l.taskId === "oneoff").map((l) => l.jobId)).size === oneOffs.length &&
            new Set(done(dir).filter((l) => (l.fireTime ?? 0) > restartedAt + 3_000).map((l) => l.scheduleId)).size === 10,
          120_000,
          describeRun(dir, workers)
        )
        await quiesce(url, describeRun(dir, workers))
        // All three outlived the restart (and then stop cleanly, below).
        expect(workers.map((w) => w.child.exitCode)).toEqual([null, null, null])
      } finally {
        expect(await stopAll(workers)).toEqual([0, 0, 0])
      }
      const lines = done(dir)
      expect([...countBy(lines, (l) => l.jobId).values()].every((n) => n === 1)).toBe(true)
      const state = await finalState(url)
      const oneOffRecords = state.records.filter((r) => r.taskId === "oneoff")
      expect(oneOffRecords.length).toBe(oneOffs.length)
      expect(oneOffRecords.every((r) => r.outcome === "success")).toBe(true)
      expectEveryFireTimeOnce(state, start, restartedAt + 3_000)
    },
    300_000
  )
})
