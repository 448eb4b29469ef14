/**
 * remote-throughput: 100,000 one-off no-op jobs through the scheduler to
 * handler processes over ZeroMQ: first one process (jobs_per_s_1), then four
 * (jobs_per_s_4), on the memory store; from the first addJob to the last
 * result recorded (its JobReleased event).
 */
import { Deferred, Effect, Exit } from "effect"
import { EventBroker } from "../../services/EventBroker.js"
import { Scheduler } from "../../services/Scheduler.js"
import { cpuWindow, monotonicMs } from "../measure.js"
import type { Metrics } from "../report.js"
import { type RemoteStack, withRemoteStack } from "./remoteStack.js"
import type { BenchStore } from "./stack.js"

export const jobCount = 100_000

interface Measured {
  readonly perSecond: number
  /** Jobs per CPU second of this (server) process, and of the handler processes together. */
  readonly perServerCpuS: number
  readonly perHandlerCpuS: number
}

/** Rates for `jobCount` no-op jobs on the stack's current handlers. */
const measureOnce = (stack: RemoteStack) =>
  Effect.scoped(Effect.gen(function*() {
    const scheduler = yield* Scheduler
    const broker = yield* EventBroker
    if (broker.listen === undefined) return yield* Effect.dieMessage("remote-throughput needs a broker with listen")
    // Counting releases as they are published: polling the store for what is left would
    // cost the server more than the jobs do, and count as its CPU.
    let released = 0
    const allReleased = yield* Deferred.make<void>()
    yield* broker.listen((event) => {
      if (event._tag === "JobReleased" && !event.willRetry && ++released === jobCount) {
        Deferred.unsafeDone(allReleased, Exit.void)
      }
    })
    const serverCpuS = cpuWindow()
    const handlerCpuAtStart = stack.handlerCpuS()
    const start = monotonicMs()
    for (let i = 0; i < jobCount; i++) yield* scheduler.addJob({ taskId: "bench" })
    yield* Deferred.await(allReleased)
    return {
      perSecond: jobCount / ((monotonicMs() - start) / 1000),
      perServerCpuS: jobCount / serverCpuS(),
      perHandlerCpuS: jobCount / (stack.handlerCpuS() - handlerCpuAtStart)
    } satisfies Measured
  }))

// Each process could take every job the scheduler runs at once, so no run ever waits for a slot.
const stackOptions = { maxConcurrentJobs: 4000, handlerConcurrency: 4000 }

export const remoteThroughput = (store: BenchStore): Effect.Effect<Metrics, unknown> =>
  withRemoteStack(store, stackOptions, (stack) =>
    Effect.gen(function*() {
      yield* stack.addHandlers(1)
      const one = yield* measureOnce(stack)
      yield* stack.addHandlers(3)
      const four = yield* measureOnce(stack)
      return {
        jobs: jobCount,
        jobs_per_s_1: one.perSecond,
        jobs_per_server_cpu_s_1: one.perServerCpuS,
        jobs_per_handler_cpu_s_1: one.perHandlerCpuS,
        jobs_per_s_4: four.perSecond,
        jobs_per_server_cpu_s_4: four.perServerCpuS
      }
    }))

/** jobs_per_s_1 on the given store (the catalog runs it on SQLite, as jobs_per_s_1_sqlite). */
export const remoteThroughputOne = (store: BenchStore): Effect.Effect<Metrics, unknown> =>
  withRemoteStack(store, stackOptions, (stack) =>
    Effect.map(Effect.zipRight(stack.addHandlers(1), measureOnce(stack)), (measured) => ({
      jobs_per_s_1: measured.perSecond,
      jobs_per_server_cpu_s_1: measured.perServerCpuS
    })))
