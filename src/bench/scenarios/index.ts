/** Scenario name → the code that runs it (in a child process) and returns its metrics. */
import type { Effect } from "effect"
import type { StoreKind } from "../catalog.js"
import type { Metrics } from "../report.js"
import { cronNext } from "./cronNext.js"

export type Runner = (store: StoreKind | null) => Effect.Effect<Metrics, unknown>

export const runners: Readonly<Record<string, Runner>> = {
  "cron-next": () => cronNext()
}
