/**
 * remote-latency: one job at a time through the scheduler to one handler
 * process over ZeroMQ, from calling runJob to the result in hand; after a
 * warm-up, the 50th and 99th percentile in microseconds.
 *
 * The warm-up lasts at least 3,000 round trips and 2 s: it measures the steady
 * round trip, not V8 compiling the path. After 500 round trips (the first
 * version) TurboFan was still compiling it — some 200 optimisations between
 * round trips 500 and 2,000 on both processes — and those pauses made up most
 * of the samples over 1 ms.
 */
import { Effect } from "effect"
import { Scheduler } from "../../services/Scheduler.js"
import { cpuWindow, monotonicMs, percentile } from "../measure.js"
import type { Metrics } from "../report.js"
import { withRemoteStack } from "./remoteStack.js"
import type { BenchStore } from "./stack.js"

const warmUpJobs = 3000
const warmUpMs = 2000
const samples = 5000

export const remoteLatency = (store: BenchStore): Effect.Effect<Metrics, unknown> =>
  withRemoteStack(store, { maxConcurrentJobs: 10, handlerConcurrency: 10 }, (stack) =>
    Effect.gen(function*() {
      yield* stack.addHandlers(1)
      const scheduler = yield* Scheduler
      const rtts: Array<number> = []
      const roundTrip = Effect.gen(function*() {
        const start = monotonicMs()
        const result = yield* scheduler.runJob({ taskId: "bench", resultExpirationTime: 1 })
        if (result.outcome !== "success") return yield* Effect.dieMessage(`job ended ${result.outcome}`)
        return (monotonicMs() - start) * 1000
      })
      const warmUpStart = monotonicMs()
      for (let i = 0; i < warmUpJobs || monotonicMs() - warmUpStart < warmUpMs; i++) yield* roundTrip
      const serverCpuS = cpuWindow()
      const handlerCpuAtStart = stack.handlerCpuS()
      for (let i = 0; i < samples; i++) rtts.push(yield* roundTrip)
      return {
        samples,
        rtt_p50_us: percentile(rtts, 50),
        rtt_p99_us: percentile(rtts, 99),
        // CPU per job: what the round trip costs apart from waiting for a core on a busy machine.
        server_cpu_us_per_job: (serverCpuS() / samples) * 1e6,
        handler_cpu_us_per_job: ((stack.handlerCpuS() - handlerCpuAtStart) / samples) * 1e6
      }
    }))
