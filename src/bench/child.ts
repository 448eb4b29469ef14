/**
 * Runs ONE scenario in this (fresh) process and writes its metrics to a file,
 * so CPU and RSS figures belong to that scenario alone. Started by main.ts:
 *   node dist/bench/child.js <scenario> <store|none> <result-file>
 */
// Deep imports: the packages' index modules load everything in them, which would count in the scenario's RSS.
import * as FileSystem from "@effect/platform/FileSystem"
import * as NodeContext from "@effect/platform-node/NodeContext"
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import { Cause, Effect, Exit, Logger, LogLevel } from "effect"
import { StoreKinds, type StoreKind } from "./catalog.js"
import { machine, withLoadEnd } from "./measure.js"
import type { RunResult } from "./report.js"
import { runners } from "./scenarios/index.js"

const [name = "", storeArg = "", resultFile = ""] = process.argv.slice(2)

/** Why the scenario failed, for the parent's report (the full cause goes to stderr). */
const failureReason = (cause: Cause.Cause<unknown>): string => {
  const error = Cause.squash(cause)
  return error instanceof Error ? error.message : String(error)
}

const writeResult = (result: RunResult | { readonly error: string }) =>
  Effect.flatMap(FileSystem.FileSystem, (fs) => fs.writeFileString(resultFile, JSON.stringify(result)))

const main = Effect.gen(function* () {
  const run = runners[name]
  if (run === undefined) return yield* Effect.dieMessage(`bench child: no runner for scenario '${name}'`)
  const store = (StoreKinds as ReadonlyArray<string>).includes(storeArg) ? (storeArg as StoreKind) : null
  const start = machine()
  const measured = yield* run(store)
  // A figure that could not be measured (NaN, Infinity) is left out, so its bar reports it missing.
  const metrics = Object.fromEntries(Object.entries(measured).filter(([, value]) => Number.isFinite(value)))
  yield* writeResult({ metrics, machine: withLoadEnd(start) })
}).pipe(
  Effect.tapErrorCause((cause) =>
    Cause.isInterruptedOnly(cause) ? Effect.void : Effect.ignore(writeResult({ error: failureReason(cause) }))
  )
)

// Warnings and errors only: per-job info logs would be measured as scheduler work.
// The result is written once the scenario's scope (scheduler included) has closed;
// exiting then keeps a stray timer from turning a finished run into a timeout.
main.pipe(
  Logger.withMinimumLogLevel(LogLevel.Warning),
  Effect.provide(NodeContext.layer),
  NodeRuntime.runMain({ teardown: (exit) => process.exit(Exit.isSuccess(exit) ? 0 : 1) })
)
