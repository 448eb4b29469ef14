/**
 * The product stack a scenario runs on: the real Scheduler layer over a data
 * store, the local event broker and the local handler registry, with one
 * handler method ("bench.run") and one task ("bench") that calls it without a
 * concurrency limit. The scheduler stops gracefully when the scenario ends.
 * Also the steps scenarios share: loading schedules, counting handler calls.
 */
import * as FileSystem from "@effect/platform/FileSystem"
import * as Path from "@effect/platform/Path"
import { DateTime, Deferred, Effect, Layer } from "effect"
import * as LocalBroker from "../../components/broker/Local.js"
import * as MemoryStore from "../../components/datastore/Memory.js"
import type * as SqliteStore from "../../components/datastore/Sqlite.js"
import { defineLocalHandler, type LocalMethod } from "../../components/registry/Local.js"
import * as LocalRegistry from "../../components/registry/Local.js"
import type { DataStore } from "../../services/DataStore.js"
import type { EventBroker } from "../../services/EventBroker.js"
import { type AddScheduleInput, Scheduler } from "../../services/Scheduler.js"
import * as SchedulerLayer from "../../services/scheduler/layer.js"
import { lazyLayer } from "../../modes/lazy.js"
import type { StoreKind } from "../catalog.js"
import { bytesToMb, monotonicMs } from "../measure.js"

export type BenchStore =
  | { readonly kind: "memory" }
  | { readonly kind: "sqlite"; readonly filename: string; readonly synchronous: "NORMAL" | "FULL" }

/** A fresh store of `kind`: SQLite gets a new file in a temporary directory removed with the scope. */
export const makeBenchStore = (kind: StoreKind, synchronous: "NORMAL" | "FULL" = "NORMAL") =>
  Effect.gen(function* () {
    if (kind === "memory") return { kind } satisfies BenchStore
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    const dir = yield* fs.makeTempDirectoryScoped({ prefix: "sz-bench-db-" })
    return { kind, filename: path.join(dir, "bench.db"), synchronous } satisfies BenchStore
  })

const storeLayer = (store: BenchStore): Layer.Layer<DataStore, SqliteStore.DatabaseRefused, EventBroker> => {
  switch (store.kind) {
    case "memory":
      return MemoryStore.layer
    case "sqlite":
      // Loaded only when used: a memory-store run's RSS holds no SQLite driver.
      return lazyLayer(
        () => import("../../components/datastore/Sqlite.js"),
        (sqlite) => sqlite.layer({ filename: store.filename, synchronous: store.synchronous })
      )
  }
}

/** Size of the SQLite database (main file plus write-ahead log) in MB; null for the memory store. */
export const databaseMb = (store: BenchStore) =>
  Effect.gen(function* () {
    if (store.kind === "memory") return null
    const fs = yield* FileSystem.FileSystem
    let bytes = 0
    for (const file of [store.filename, `${store.filename}-wal`]) {
      if (yield* fs.exists(file)) bytes += Number((yield* fs.stat(file)).size)
    }
    return bytesToMb(bytes)
  })

/** Runs `scenario` against a fresh scheduler whose task "bench" calls `method`. */
export const withScheduler = <A, E, R>(
  store: BenchStore,
  method: LocalMethod,
  scenario: Effect.Effect<A, E, R>
) => {
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

/**
 * Adds `count` schedules of task "bench", one after another; returns the
 * milliseconds it took. Gives up (failing the run with the rate reached) once
 * `budgetMs` has passed, so a slow store cannot push a scenario into its timeout.
 */
export const addSchedules = (
  count: number,
  input: (i: number) => Omit<AddScheduleInput, "taskId">,
  budgetMs = Number.POSITIVE_INFINITY
) =>
  Effect.gen(function* () {
    const scheduler = yield* Scheduler
    const start = monotonicMs()
    for (let i = 0; i < count; i++) {
      yield* scheduler.addSchedule({ ...input(i), taskId: "bench" })
      const elapsed = monotonicMs() - start
      if (elapsed > budgetMs && i + 1 < count) {
        return yield* Effect.dieMessage(
          `loading stopped after ${Math.round(elapsed / 1000)} s: ${i + 1} of ${count} schedules added ` +
            `(${(elapsed / (i + 1)).toFixed(2)} ms each)`
        )
      }
    }
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
