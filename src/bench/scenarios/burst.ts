/**
 * burst: 1,000 date schedules due at the same instant; how long from that
 * instant until the last of their jobs has started (real wall clock). The
 * JobAdded events' timestamps split that time: due instant → jobs created by
 * the schedule loop (`jobs_added_*`), then → handlers started by the job runner.
 * `burst_cpu_ms` is the CPU time the process used from the end of loading to
 * the last start (read when the waiting fiber resumes): far below `burst_last_start_ms`, it means the time went to
 * waiting for a core on a busy machine rather than to scheduler work.
 */
import { DateTime, Deferred, Effect } from "effect"
import type { JobAdded } from "../../domain/events.js"
import { DateTrigger } from "../../domain/triggers/schema.js"
import { EventBroker, type EventBrokerShape } from "../../services/EventBroker.js"
import { cpuMsBetween, wallClockMs } from "../measure.js"
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

/**
 * Calls `onJobAdded` for each JobAdded event, through the broker's synchronous
 * listener (the scheduler follows events the same way). A stream subscriber
 * would make the broker queue all the burst's events for it: about a quarter of
 * the burst's CPU time, spent on this instrument rather than on scheduling.
 */
const followJobsAdded = (broker: EventBrokerShape, onJobAdded: (event: JobAdded) => void) =>
  broker.listen === undefined
    ? Effect.dieMessage("burst: the event broker has no synchronous listener")
    : broker.listen((event) => {
      if (event._tag === "JobAdded") onJobAdded(event)
    })

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
        const addedTimes: Array<number> = []
        yield* followJobsAdded(yield* EventBroker, (event) => addedTimes.push(event.timestamp.getTime()))
        const due = yield* wholeSecondAfter(leadMs)
        const trigger = DateTrigger.make({ runTime: new Date(due) })
        const loadMs = yield* addSchedules(schedules, (i) => ({ id: `burst-${i}`, trigger }))
        yield* requireLoadedBefore(due)
        const cpuAtLoaded = process.cpuUsage()
        const untilDue = due - DateTime.toEpochMillis(yield* DateTime.now)
        yield* Deferred.await(started.reached).pipe(Effect.timeoutOption(untilDue + waitMs))
        // Read here, once, not in the handler: a syscall per job would add to what is measured.
        const cpuAtLastStart = process.cpuUsage()
        return {
          started: startTimes.length,
          missed: schedules - startTimes.length,
          // Left out (and so failing) when no job started at all.
          ...(startTimes.length === 0
            ? {}
            : {
              burst_first_start_ms: Math.min(...startTimes) - due,
              burst_last_start_ms: Math.max(...startTimes) - due,
              burst_cpu_ms: cpuMsBetween(cpuAtLoaded, cpuAtLastStart)
            }),
          ...(addedTimes.length === 0
            ? {}
            : {
              jobs_added_first_ms: Math.min(...addedTimes) - due,
              jobs_added_last_ms: Math.max(...addedTimes) - due
            }),
          load_ms: loadMs
        }
      }).pipe(Effect.scoped)
    )
  })
