/** Scenario name → the code that runs it (in a child process) and returns its metrics. */
import type { FileSystem, Path } from "@effect/platform"
import { Effect } from "effect"
import type { StoreKind } from "../catalog.js"
import type { Metrics } from "../report.js"
import { apiList } from "./apiList.js"
import { burst } from "./burst.js"
import { clusterLateness } from "./clusterLateness.js"
import { cronNext } from "./cronNext.js"
import { edgeIdle } from "./edgeIdle.js"
import { eventStream } from "./eventStream.js"
import { fireLateness } from "./fireLateness.js"
import { idle100k } from "./idle100k.js"
import { measureThroughput } from "./localThroughput.js"
import { localThroughputPostgres } from "./localThroughputPostgres.js"
import { remoteLatency } from "./remoteLatency.js"
import { remoteThroughput, remoteThroughputOne } from "./remoteThroughput.js"
import { startup } from "./startup.js"
import { type BenchStore, makeBenchStore } from "./stack.js"

export type Runner = (store: StoreKind | null) => Effect.Effect<Metrics, unknown, FileSystem.FileSystem | Path.Path>

/** Runs `scenario` on a fresh store of the kind asked for (memory when none is). */
const onStore =
  <R>(scenario: (store: BenchStore) => Effect.Effect<Metrics, unknown, R>) => (kind: StoreKind | null) =>
    Effect.scoped(Effect.flatMap(makeBenchStore(kind ?? "memory"), scenario))

/** Throughput at synchronous NORMAL, then on a fresh file at FULL (metrics suffixed _full). */
const sqliteThroughput = Effect.gen(function* () {
  const normal = yield* onStore(measureThroughput)("sqlite")
  const full = yield* Effect.scoped(Effect.flatMap(makeBenchStore("sqlite", "FULL"), measureThroughput))
  return {
    ...normal,
    ...Object.fromEntries(Object.entries(full).filter(([name]) => name !== "jobs").map(([name, value]) => [`${name}_full`, value]))
  }
})

export const runners: Readonly<Record<string, Runner>> = {
  "local-throughput-memory": onStore(measureThroughput),
  "local-throughput-sqlite": () => sqliteThroughput,
  "local-throughput-postgres": () => localThroughputPostgres(),
  "cluster-lateness": () => clusterLateness(),
  "fire-lateness": onStore(fireLateness),
  burst: onStore(burst),
  "idle-100k": onStore(idle100k),
  "cron-next": () => cronNext(),
  "remote-throughput": () =>
    Effect.gen(function* () {
      const memory = yield* onStore(remoteThroughput)("memory")
      const sqlite = yield* onStore(remoteThroughputOne)("sqlite")
      return { ...memory, jobs_per_s_1_sqlite: sqlite.jobs_per_s_1 ?? Number.NaN }
    }),
  "remote-latency": onStore(remoteLatency),
  "api-list": onStore(apiList),
  "event-stream": () => eventStream(),
  startup: () => startup(),
  "edge-idle": () => edgeIdle()
}
