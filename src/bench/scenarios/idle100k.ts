/**
 * idle-100k: 100,000 cron schedules whose next fire time is an hour away.
 * After loading them, the scheduler should sleep: CPU seconds used over 30 s
 * of idling, the largest RSS seen meanwhile and, on SQLite, the database
 * size (file plus write-ahead log). Afterwards (outside the
 * measured window) a full GC gives `heap_live_mb`, the memory the schedules
 * really hold, to tell retained data from garbage the idle process never collected.
 */
import type { FileSystem } from "@effect/platform"
import { DateTime, Effect } from "effect"
import { CronTrigger } from "../../domain/triggers/schema.js"
import { cpuWindow, heapTotalMb, heapUsedMb, rssMb } from "../measure.js"
import type { Metrics } from "../report.js"
import { addSchedules, type BenchStore, databaseMb, withScheduler } from "./stack.js"

const schedules = 100_000

/** Heap in use after a full collection; needs node --expose-gc (the bench children have it). */
const liveHeapMb = Effect.sync(() => {
  const gc = (globalThis as { gc?: () => void }).gc
  if (gc === undefined) return {}
  gc()
  return { heap_live_mb: heapUsedMb() }
})
const idleSeconds = 30
/** Loading may take this long; with the idle window it stays inside the scenario's time limit. */
const loadBudgetMs = 150_000

export const idle100k = (store: BenchStore): Effect.Effect<Metrics, unknown, FileSystem.FileSystem> =>
  withScheduler(
    store,
    () => null,
    Effect.gen(function* () {
      const now = yield* DateTime.now
      const due = DateTime.add(now, { hours: 1 })
      const parts = DateTime.toPartsUtc(due)
      const trigger = CronTrigger.make({
        hour: String(parts.hours),
        minute: String(parts.minutes),
        second: String(parts.seconds),
        startTime: DateTime.toDate(now),
        timezone: "UTC"
      })
      const loadS = (yield* addSchedules(schedules, (i) => ({ id: `idle-${i}`, trigger }), loadBudgetMs)) / 1000
      const cpuSeconds = cpuWindow()
      let peakRss = rssMb()
      for (let s = 0; s < idleSeconds; s++) {
        yield* Effect.sleep("1 second")
        peakRss = Math.max(peakRss, rssMb())
      }
      const cpuIdle = cpuSeconds()
      const dbMb = yield* databaseMb(store)
      return {
        schedules,
        load_s: loadS,
        cpu_s_idle: cpuIdle,
        rss_mb: peakRss,
        heap_used_mb: heapUsedMb(),
        heap_total_mb: heapTotalMb(),
        ...(yield* liveHeapMb),
        ...(dbMb === null ? {} : { db_mb: dbMb })
      }
    })
  )
