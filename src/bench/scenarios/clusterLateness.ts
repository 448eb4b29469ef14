/**
 * cluster-lateness: 3 scheduler processes share 1,000 interval schedules on
 * the postgres store, each firing every second (start times spread over one
 * second) for 30 s. Lateness is the handler's call (wall clock) minus the
 * scheduled fire time, in whichever process ran the job; every (schedule,
 * fire time) must run exactly once across the three.
 */
import { Context, DateTime, Effect, Either, Fiber, Layer } from "effect"
import { HandlerId, ScheduleId, TaskId } from "../../domain/ids.js"
import { Schedule } from "../../domain/Schedule.js"
import { Task } from "../../domain/Task.js"
import { IntervalTrigger } from "../../domain/triggers/schema.js"
import { next } from "../../domain/triggers/Trigger.js"
import { DataStore } from "../../services/DataStore.js"
import { monotonicMs } from "../measure.js"
import type { Metrics } from "../report.js"
import { benchDatabase, clusterCpu, cpuSecondsBetween, kindsBetween, producerLayer, startSchedulers } from "./clusterPostgres.js"
import { latenessReport } from "./fireLateness.js"
import { requireLoadedBefore, wholeSecondAfter } from "./stack.js"

const schedulerCount = 3
const scheduleCount = 1_000
const firesPerSchedule = 30
const periodMs = 1_000
/** Time for loading the schedules (while the processes start) before the first fire time. */
const leadMs = 40_000
/** Time allowed after the last fire time for its job to run and be written. */
const tailMs = 2_000

export const clusterLateness = (): Effect.Effect<Metrics, unknown> =>
  Effect.scoped(
    Effect.gen(function* () {
      const url = yield* benchDatabase
      const store = Context.get(yield* Layer.build(producerLayer(url)), DataStore)
      yield* store.addTask(Task.make({ id: TaskId.make("bench"), handler: HandlerId.make("bench"), method: "run", maxRunningJobs: null }))
      const firstFire = yield* wholeSecondAfter(leadMs)
      const startOf = (i: number) => firstFire + Math.floor((i * periodMs) / scheduleCount)
      const expected = new Set<string>()
      // The processes start while the schedules load; they sleep until the first fire time.
      const starting = yield* Effect.fork(startSchedulers(url, schedulerCount))
      const loadStart = monotonicMs()
      for (let i = 0; i < scheduleCount; i++) {
        for (let k = 0; k < firesPerSchedule; k++) expected.add(`lateness-${i}@${startOf(i) + k * periodMs}`)
        // Stored as Scheduler.addSchedule stores it: the trigger advanced past its first fire time.
        const first = Either.getOrThrow(
          next(
            IntervalTrigger.make({
              seconds: periodMs / 1000,
              startTime: new Date(startOf(i)),
              endTime: new Date(startOf(i) + (firesPerSchedule - 1) * periodMs)
            })
          )
        )
        yield* store.addSchedule(
          Schedule.make({ id: ScheduleId.make(`lateness-${i}`), taskId: TaskId.make("bench"), trigger: first.trigger, nextFireTime: first.fireTime, coalesce: "all" }),
          "exception"
        )
      }
      const loadMs = monotonicMs() - loadStart
      const processes = yield* Fiber.join(starting)
      yield* requireLoadedBefore(firstFire)
      const sleepTo = (at: number) =>
        Effect.flatMap(DateTime.now, (now) => Effect.sleep(Math.max(0, at - DateTime.toEpochMillis(now))))
      yield* sleepTo(firstFire)
      const cpuBefore = yield* clusterCpu(url, processes)
      const statementsBefore = processes.reduce((sum, p) => sum + p.statements(), 0)
      const kindsBefore = processes.map((p) => p.kinds())
      yield* sleepTo(firstFire + firesPerSchedule * periodMs + tailMs)
      const cpuAfter = yield* clusterCpu(url, processes)
      const cpuS = cpuSecondsBetween(cpuBefore, cpuAfter)
      const schedulerPids = new Set(processes.map(({ child }) => child.pid))
      const postgresS = cpuSecondsBetween(cpuBefore, cpuAfter, (pid) => !schedulerPids.has(pid))
      const statements = processes.reduce((sum, p) => sum + p.statements(), 0) - statementsBefore
      if (process.env.SZ_BENCH_STATEMENT_KINDS !== undefined) {
        for (const line of kindsBetween(kindsBefore, processes.map((p) => p.kinds()), expected.size)) console.error(line)
      }
      const perProcess = processes.map((p) => p.calls().filter((line) => line !== "-"))
      const starts = perProcess.flat().map((line) => {
        const [key = "", lateness = "NaN"] = line.split(" ")
        return { key, latenessMs: Number(lateness) }
      })
      return {
        ...latenessReport(expected, starts),
        load_ms: loadMs,
        cpu_ms_per_fire: (cpuS * 1000) / expected.size,
        cpu_ms_per_fire_postgres: (postgresS * 1000) / expected.size,
        statements_per_fire: statements / expected.size,
        ...Object.fromEntries(perProcess.map((calls, i) => [`jobs_scheduler_${i + 1}`, calls.length]))
      }
    })
  )
