/** Scenario name → the code that runs it (in a child process) and returns its metrics. */
import type { Effect } from "effect"
import type { StoreKind } from "../catalog.js"
import type { Metrics } from "../report.js"
import { burst } from "./burst.js"
import { cronNext } from "./cronNext.js"
import { fireLateness } from "./fireLateness.js"
import { idle100k } from "./idle100k.js"
import { measureThroughput } from "./localThroughput.js"
import type { BenchStore } from "./stack.js"

export type Runner = (store: StoreKind | null) => Effect.Effect<Metrics, unknown>

const onStore = (store: StoreKind | null): BenchStore => ({ kind: store ?? "memory" })

export const runners: Readonly<Record<string, Runner>> = {
  "local-throughput-memory": () => measureThroughput({ kind: "memory" }),
  "fire-lateness": (store) => fireLateness(onStore(store)),
  burst: (store) => burst(onStore(store)),
  "idle-100k": (store) => idle100k(onStore(store)),
  "cron-next": () => cronNext()
}
