/**
 * burst: 1,000 date schedules due at the same instant; how long from that
 * instant until the last of their jobs has started (real wall clock).
 */
import { DateTime, Deferred, Effect } from "effect"
import { DateTrigger } from "../../domain/triggers/schema.js"
import { wallClockMs } from "../measure.js"
import type { Metrics } from "../report.js"
import {
  addSchedules,
  type BenchStore,
  makeCountdown,
  requireLoadedBefore,
  wholeSecondAfter,
  withScheduler
} from "./stack.js"

const schedules = 1_000
/** Time allowed for loading the schedules before the due instant. */
const leadMs = 5_000
/** How long after the due instant to wait for stragglers before counting them missed. */
const waitMs = 5_000

export const burst = (store: BenchStore): Effect.Effect<Metrics, unknown> =>
  Effect.gen(function* () {
    const started = yield* makeCountdown(schedules)
    const startTimes: Array<number> = []
    const record = () => {
      startTimes.push(wallClockMs())
      started.tick()
      return null
    }
    return yield* withScheduler(
      store,
      record,
      Effect.gen(function* () {
        const due = yield* wholeSecondAfter(leadMs)
        const trigger = DateTrigger.make({ runTime: new Date(due) })
        const loadMs = yield* addSchedules(schedules, (i) => ({ id: `burst-${i}`, trigger }))
        yield* requireLoadedBefore(due)
        const untilDue = due - DateTime.toEpochMillis(yield* DateTime.now)
        yield* Deferred.await(started.reached).pipe(Effect.timeoutOption(untilDue + waitMs))
        return {
          started: startTimes.length,
          missed: schedules - startTimes.length,
          // Left out (and so failing) when no job started at all.
          ...(startTimes.length === 0
            ? {}
            : {
              burst_first_start_ms: Math.min(...startTimes) - due,
              burst_last_start_ms: Math.max(...startTimes) - due
            }),
          load_ms: loadMs
        }
      })
    )
  })
