/**
 * fire-lateness: 1,000 interval schedules firing every second, their start
 * times spread evenly over one second, for 20 s. Lateness is the handler's
 * invocation (real wall clock) minus the job's scheduled fire time; every
 * (schedule, fire time) must run exactly once.
 */
import { DateTime, Effect } from "effect"
import type { LocalHandlerContext } from "../../components/registry/Local.js"
import { IntervalTrigger } from "../../domain/triggers/schema.js"
import { cpuWindow, monotonicMs, percentile, wallClockMs } from "../measure.js"
import type { Metrics } from "../report.js"
import { addSchedules, type BenchStore, requireLoadedBefore, wholeSecondAfter, withScheduler } from "./stack.js"

const schedules = 1_000
const firesPerSchedule = 20
const periodMs = 1_000
/** Time allowed for loading the schedules before the first fire time. */
const leadMs = 5_000
/** Time allowed after the last fire time for its job to start. */
const tailMs = 1_000

interface Start {
  readonly key: string
  readonly latenessMs: number
}

/** Counts each (schedule, fire time) seen against the ones expected. */
export const tally = (expected: ReadonlySet<string>, starts: ReadonlyArray<Start>) => {
  const seen = new Map<string, number>()
  for (const start of starts) seen.set(start.key, (seen.get(start.key) ?? 0) + 1)
  let missed = 0
  for (const key of expected) if (!seen.has(key)) missed++
  let duplicates = 0
  let unexpected = 0
  for (const [key, count] of seen) {
    duplicates += count - 1
    if (!expected.has(key)) unexpected++
  }
  return { missed, duplicates, unexpected }
}

/** The lateness figures and the tally of one run's job starts (shared with cluster-lateness). */
export const latenessReport = (expected: ReadonlySet<string>, starts: ReadonlyArray<Start>) => {
  const lateness = starts.map((s) => s.latenessMs)
  return {
    expected: expected.size,
    started: starts.length,
    lateness_p50_ms: percentile(lateness, 50),
    lateness_p99_ms: percentile(lateness, 99),
    lateness_max_ms: percentile(lateness, 100),
    ...tally(expected, starts)
  }
}

export const fireLateness = (store: BenchStore): Effect.Effect<Metrics, unknown> =>
  Effect.gen(function* () {
    const starts: Array<Start> = []
    const record = ({ job }: LocalHandlerContext) => {
      const now = wallClockMs()
      const fire = job.scheduledFireTime!.getTime()
      starts.push({ key: `${job.scheduleId}@${fire}`, latenessMs: now - fire })
      return null
    }
    return yield* withScheduler(
      store,
      record,
      Effect.gen(function* () {
        const firstFire = yield* wholeSecondAfter(leadMs)
        const startOf = (i: number) => firstFire + (i * periodMs) / schedules
        // Built before loading, so none of this work lands in the fire window.
        const expected = new Set<string>()
        for (let i = 0; i < schedules; i++) {
          for (let k = 0; k < firesPerSchedule; k++) expected.add(`lateness-${i}@${startOf(i) + k * periodMs}`)
        }
        const loadMs = yield* addSchedules(schedules, (i) => ({
          id: `lateness-${i}`,
          trigger: IntervalTrigger.make({
            seconds: periodMs / 1000,
            startTime: new Date(startOf(i)),
            endTime: new Date(startOf(i) + (firesPerSchedule - 1) * periodMs)
          })
        }))
        yield* requireLoadedBefore(firstFire)
        const cpuSeconds = cpuWindow()
        const cpuFrom = monotonicMs()
        const windowEnd = firstFire + firesPerSchedule * periodMs
        yield* Effect.sleep(Math.max(0, windowEnd + tailMs - DateTime.toEpochMillis(yield* DateTime.now)))
        const cpuShare = cpuSeconds() / ((monotonicMs() - cpuFrom) / 1000)
        return {
          ...latenessReport(expected, starts),
          load_ms: loadMs,
          // Share of one core the process used while the schedules fired: what 1,000 fires/s cost.
          cpu_share: cpuShare
        }
      })
    )
  })
