/**
 * local-throughput-*: 100,000 one-off no-op jobs through the scheduler API on
 * one store; jobs per second from the first addJob to the last job's result
 * being recorded (the store holds no job any more). `jobs_per_cpu_s` divides
 * by the CPU time this process used instead: on a shared, busy machine it
 * shows the scheduler's own cost apart from the wait for a core.
 */
import { Deferred, Effect } from "effect"
import { DataStore } from "../../services/DataStore.js"
import { Scheduler } from "../../services/Scheduler.js"
import { cpuWindow, monotonicMs } from "../measure.js"
import type { Metrics } from "../report.js"
import { type BenchStore, makeCountdown, withScheduler } from "./stack.js"

export const jobCount = 100_000

/** Runs the jobs once on `store` and returns jobs_per_s with its timings. */
export const measureThroughput = (store: BenchStore): Effect.Effect<Metrics, unknown> =>
  Effect.flatMap(makeCountdown(jobCount), (ran) =>
    withScheduler(
      store,
      () => ran.tick(),
      Effect.gen(function* () {
        const scheduler = yield* Scheduler
        const dataStore = yield* DataStore
        const cpuSeconds = cpuWindow()
        const start = monotonicMs()
        for (let i = 0; i < jobCount; i++) yield* scheduler.addJob({ taskId: "bench" })
        const enqueued = monotonicMs()
        yield* Deferred.await(ran.reached)
        const handlersDone = monotonicMs()
        // A result is recorded when the job is released: wait until none is left.
        while ((yield* dataStore.getJobs()).length > 0) yield* Effect.sleep("1 millis")
        const end = monotonicMs()
        const cpuS = cpuSeconds()
        return {
          jobs: jobCount,
          jobs_per_s: jobCount / ((end - start) / 1000),
          enqueue_s: (enqueued - start) / 1000,
          handlers_done_s: (handlersDone - start) / 1000,
          elapsed_s: (end - start) / 1000,
          cpu_s: cpuS,
          jobs_per_cpu_s: jobCount / cpuS
        }
      })
    ))
