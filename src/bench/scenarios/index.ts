/**
 * Scenario name → the code that runs it (in a child process) and returns its metrics.
 * Each scenario's module is imported only when it runs, so a child's CPU and RSS
 * figures hold no other scenario's code (portal, ZeroMQ, drivers).
 */
import type { FileSystem, Path } from "@effect/platform"
import { Effect } from "effect"
import type { StoreKind } from "../catalog.js"
import type { Metrics } from "../report.js"
import { type BenchStore, makeBenchStore } from "./stack.js"

export type Runner = (store: StoreKind | null) => Effect.Effect<Metrics, unknown, FileSystem.FileSystem | Path.Path>

/** A runner built from its module once that module is loaded. */
const lazy =
  <M>(load: () => Promise<M>, runner: (module: M) => Runner): Runner => (store) =>
    Effect.flatMap(Effect.promise(load), (module) => runner(module)(store))

/** Runs `scenario` on a fresh store of the kind asked for (memory when none is). */
const onStore =
  <R>(scenario: (store: BenchStore) => Effect.Effect<Metrics, unknown, R>) => (kind: StoreKind | null) =>
    Effect.scoped(Effect.flatMap(makeBenchStore(kind ?? "memory"), scenario))

/** Throughput at synchronous NORMAL, then on a fresh file at FULL (metrics suffixed _full). */
const sqliteThroughput = (measureThroughput: (store: BenchStore) => Effect.Effect<Metrics, unknown>) =>
  Effect.gen(function* () {
    const normal = yield* onStore(measureThroughput)("sqlite")
    const full = yield* Effect.scoped(Effect.flatMap(makeBenchStore("sqlite", "FULL"), measureThroughput))
    return {
      ...normal,
      ...Object.fromEntries(Object.entries(full).filter(([name]) => name !== "jobs").map(([name, value]) => [`${name}_full`, value]))
    }
  })

export const runners: Readonly<Record<string, Runner>> = {
  "local-throughput-memory": lazy(() => import("./localThroughput.js"), (m) => onStore(m.measureThroughput)),
  "local-throughput-sqlite": lazy(() => import("./localThroughput.js"), (m) => () => sqliteThroughput(m.measureThroughput)),
  "local-throughput-postgres": lazy(() => import("./localThroughputPostgres.js"), (m) => () => m.localThroughputPostgres()),
  "cluster-lateness": lazy(() => import("./clusterLateness.js"), (m) => () => m.clusterLateness()),
  "fire-lateness": lazy(() => import("./fireLateness.js"), (m) => onStore(m.fireLateness)),
  burst: lazy(() => import("./burst.js"), (m) => onStore(m.burst)),
  "idle-100k": lazy(() => import("./idle100k.js"), (m) => onStore(m.idle100k)),
  "cron-next": lazy(() => import("./cronNext.js"), (m) => () => m.cronNext()),
  "remote-throughput": lazy(() => import("./remoteThroughput.js"), (m) => () =>
    Effect.gen(function* () {
      const memory = yield* onStore(m.remoteThroughput)("memory")
      const sqlite = yield* onStore(m.remoteThroughputOne)("sqlite")
      return { ...memory, jobs_per_s_1_sqlite: sqlite.jobs_per_s_1 ?? Number.NaN }
    })),
  "remote-latency": lazy(() => import("./remoteLatency.js"), (m) => onStore(m.remoteLatency)),
  "api-list": lazy(() => import("./apiList.js"), (m) => onStore(m.apiList)),
  "event-stream": lazy(() => import("./eventStream.js"), (m) => () => m.eventStream()),
  startup: lazy(() => import("./startup.js"), (m) => () => m.startup()),
  "edge-idle": lazy(() => import("./edgeIdle.js"), (m) => () => m.edgeIdle()),
  "edge-idle-upstream": lazy(() => import("./edgeIdleUpstream.js"), (m) => m.edgeIdleUpstream),
  "edge-sync": lazy(() => import("./edgeSync.js"), (m) => () => m.edgeSync())
}
