/**
 * remote-latency: one job at a time through the scheduler to one handler
 * process over ZeroMQ, from calling runJob to the result in hand; after a
 * warm-up, the 50th and 99th percentile in microseconds.
 */
import { Effect } from "effect"
import { Scheduler } from "../../services/Scheduler.js"
import { cpuWindow, monotonicMs, percentile } from "../measure.js"
import type { Metrics } from "../report.js"
import { withRemoteStack } from "./remoteStack.js"
import type { BenchStore } from "./stack.js"

const warmUp = 500
const samples = 5000

export const remoteLatency = (store: BenchStore): Effect.Effect<Metrics, unknown> =>
  withRemoteStack(store, { maxConcurrentJobs: 10, handlerConcurrency: 10 }, (stack) =>
    Effect.gen(function*() {
      yield* stack.addHandlers(1)
      const scheduler = yield* Scheduler
      const rtts: Array<number> = []
      let serverCpuS = () => 0
      let handlerCpuAtStart = 0
      for (let i = 0; i < warmUp + samples; i++) {
        if (i === warmUp) {
          serverCpuS = cpuWindow()
          handlerCpuAtStart = stack.handlerCpuS()
        }
        const start = monotonicMs()
        const result = yield* scheduler.runJob({ taskId: "bench", resultExpirationTime: 1 })
        const elapsedUs = (monotonicMs() - start) * 1000
        if (result.outcome !== "success") return yield* Effect.dieMessage(`job ended ${result.outcome}`)
        if (i >= warmUp) rtts.push(elapsedUs)
      }
      return {
        samples,
        rtt_p50_us: percentile(rtts, 50),
        rtt_p99_us: percentile(rtts, 99),
        // CPU per job: what the round trip costs apart from waiting for a core on a busy machine.
        server_cpu_us_per_job: (serverCpuS() / samples) * 1e6,
        handler_cpu_us_per_job: ((stack.handlerCpuS() - handlerCpuAtStart) / samples) * 1e6
      }
    }))
