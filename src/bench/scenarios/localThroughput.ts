/**
 * local-throughput-*: 100,000 one-off no-op jobs through the scheduler API on
 * one store, enqueued with addJobs in batches of `enqueueBatch` (one store call,
 * one transaction each, as a producer of many jobs would); jobs per second from
 * the first addJobs to the last job's result being recorded (the store holds no
 * job any more). `jobs_per_cpu_s` divides
 * by the CPU time this process used instead: on a shared, busy machine it
 * shows the scheduler's own cost apart from the wait for a core.
 */
import { Deferred, Effect, Option } from "effect"
import { DataStore } from "../../services/DataStore.js"
import { Scheduler } from "../../services/Scheduler.js"
import { cpuWindow, monotonicMs } from "../measure.js"
import type { Metrics } from "../report.js"
import { type BenchStore, makeCountdown, withScheduler } from "./stack.js"

export const jobCount = 100_000
/** Jobs per addJobs call: the job runner's batch size, so each call feeds one acquisition. */
const enqueueBatch = 1_000
/** Past this, the run stops and reports how far it got, so a slow store cannot hit the scenario's time limit. */
const budgetMs = 100_000

const outOfTime = (what: string, done: number, start: number) => {
  const elapsed = monotonicMs() - start
  return Effect.dieMessage(
    `stopped after ${Math.round(elapsed / 1000)} s: ${done} of ${jobCount} jobs ${what} ` +
      `(${Math.round(done / (elapsed / 1000))} jobs/s)`
  )
}

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
        const batch = Array.from({ length: enqueueBatch }, () => ({ taskId: "bench" }))
        const start = monotonicMs()
        for (let added = 0; added < jobCount; added += enqueueBatch) {
          yield* scheduler.addJobs(batch)
          if (monotonicMs() - start > budgetMs) return yield* outOfTime("added", added + enqueueBatch, start)
        }
        const enqueued = monotonicMs()
        const left = budgetMs - (enqueued - start)
        if (Option.isNone(yield* Effect.timeoutOption(Deferred.await(ran.reached), Math.max(0, left)))) {
          return yield* outOfTime("run", ran.count(), start)
        }
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
