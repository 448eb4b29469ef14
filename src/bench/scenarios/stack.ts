/**
 * The product stack a scenario runs on: the real Scheduler layer over a data
 * store, the local event broker and the local handler registry, with one
 * handler method ("bench.run") and one task ("bench") that calls it without a
 * concurrency limit. The scheduler stops gracefully when the scenario ends.
 * Also the steps scenarios share: loading schedules, counting handler calls.
 */
import { DateTime, Deferred, Effect, Layer } from "effect"
import * as LocalBroker from "../../components/broker/Local.js"
import * as MemoryStore from "../../components/datastore/Memory.js"
import { defineLocalHandler, type LocalMethod } from "../../components/registry/Local.js"
import * as LocalRegistry from "../../components/registry/Local.js"
import type { DataStore } from "../../services/DataStore.js"
import type { EventBroker } from "../../services/EventBroker.js"
import { type AddScheduleInput, Scheduler } from "../../services/Scheduler.js"
import * as SchedulerLayer from "../../services/scheduler/layer.js"
import { monotonicMs } from "../measure.js"

export type BenchStore = { readonly kind: "memory" }

const storeLayer = (store: BenchStore): Layer.Layer<DataStore, never, EventBroker> => {
  switch (store.kind) {
    case "memory":
      return MemoryStore.layer
  }
}

/** Runs `scenario` against a fresh scheduler whose task "bench" calls `method`. */
export const withScheduler = <A, E>(
  store: BenchStore,
  method: LocalMethod,
  scenario: Effect.Effect<A, E, Scheduler | DataStore>
): Effect.Effect<A, E> => {
  const handler = defineLocalHandler({ id: "bench", methods: { run: method } })
  const services = Layer.provideMerge(storeLayer(store), LocalBroker.layer)
  const stack = SchedulerLayer.layer().pipe(
    Layer.provideMerge(Layer.merge(services, LocalRegistry.layer([handler])))
  )
  return Effect.gen(function* () {
    const scheduler = yield* Scheduler
    yield* Effect.orDie(scheduler.configureTask({ id: "bench", handler: "bench", method: "run", maxRunningJobs: null }))
    return yield* scenario
  }).pipe(Effect.provide(stack))
}

/** Adds `count` schedules of task "bench", one after another; returns the milliseconds it took. */
export const addSchedules = (count: number, input: (i: number) => Omit<AddScheduleInput, "taskId">) =>
  Effect.gen(function* () {
    const scheduler = yield* Scheduler
    const start = monotonicMs()
    for (let i = 0; i < count; i++) yield* scheduler.addSchedule({ ...input(i), taskId: "bench" })
    return monotonicMs() - start
  })

/** The first whole second at least `leadMs` from now, in epoch ms: time to load schedules before it. */
export const wholeSecondAfter = (leadMs: number) =>
  Effect.map(DateTime.now, (now) => Math.ceil((DateTime.toEpochMillis(now) + leadMs) / 1000) * 1000)

/**
 * Fails the run when loading the schedules took longer than the lead time
 * before their first fire time: lateness measured from there would be the
 * loading time, not the scheduler's.
 */
export const requireLoadedBefore = (firstFireMs: number) =>
  Effect.flatMap(DateTime.now, (now) => {
    const overrun = DateTime.toEpochMillis(now) - firstFireMs
    return overrun > 0
      ? Effect.dieMessage(`loading the schedules ended ${Math.round(overrun)} ms after their first fire time`)
      : Effect.void
  })

/** Counts calls from a handler; `reached` completes at the `target`-th call. */
export const makeCountdown = (target: number) =>
  Effect.map(Deferred.make<void>(), (reached) => {
    let count = 0
    return {
      reached,
      /** Records one call (cheap: called from the handler on the hot path). */
      tick: (): void => {
        if (++count === target) Deferred.unsafeDone(reached, Effect.void)
      },
      count: () => count
    }
  })
