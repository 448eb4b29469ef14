/**
 * `npm run bench -- --scenario <name|all> [--json <file>] [--store memory|sqlite] [--runs <n>]`
 *
 * Runs each scenario in a fresh child process (child.ts), prints a table of
 * metrics against their bars and optionally writes the JSON report. Exits 1
 * when a bar is missed or a scenario fails, 2 on bad arguments.
 */
import { Command, FileSystem, Path } from "@effect/platform"
import { NodeContext, NodeRuntime } from "@effect/platform-node"
import { Console, Effect, Either, Option } from "effect"
import { fileURLToPath } from "node:url"
import { parseArgs, usage } from "./args.js"
import { type ScenarioInfo, type StoreKind, storeFor } from "./catalog.js"
import { machine, withLoadEnd } from "./measure.js"
import { allPass, checkBars, medianMetrics, type Report, type RunResult, renderTable, toJson } from "./report.js"

const childScript = fileURLToPath(new URL("./child.js", import.meta.url))

/** One run of a scenario in a child process; fails with a readable reason. */
const runChild = (info: ScenarioInfo, store: StoreKind | null, resultFile: string) =>
  Effect.gen(function* () {
    const fs = yield* FileSystem.FileSystem
    // --expose-gc only lets a scenario measure live memory after its measured window.
    const args = ["--expose-gc", childScript, info.name, store ?? "none", resultFile]
    const exitCode = yield* Effect.scoped(
      Effect.gen(function* () {
        const child = yield* Command.start(
          Command.make(process.execPath, ...args).pipe(Command.stdout("inherit"), Command.stderr("inherit"))
        )
        const exited = yield* Effect.timeoutOption(child.exitCode, info.timeoutMs)
        if (Option.isSome(exited)) return exited.value
        // SIGKILL, not SIGTERM: a scheduler stopping gracefully may take longer than we should wait.
        yield* Effect.ignore(child.kill("SIGKILL"))
        return yield* Effect.fail(`timed out after ${info.timeoutMs / 1000} s`)
      })
    ).pipe(Effect.mapError((error) => (typeof error === "string" ? error : `could not run: ${error.message}`)))
    const text = yield* fs.readFileString(resultFile).pipe(Effect.orElseSucceed(() => "{}"))
    const result = JSON.parse(text) as Partial<RunResult> & { readonly error?: string }
    if (exitCode !== 0 || result.metrics === undefined || result.machine === undefined) {
      return yield* Effect.fail(result.error ?? `child process exited with code ${exitCode}`)
    }
    return { metrics: result.metrics, machine: result.machine } satisfies RunResult
  })

const runScenario = (info: ScenarioInfo, storeChoice: StoreKind, runs: number) =>
  Effect.gen(function* () {
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    const dir = yield* fs.makeTempDirectoryScoped({ prefix: "sz-bench-" })
    const store = storeFor(info, storeChoice)
    const startMachine = machine()
    const results: Array<RunResult> = []
    let error: string | undefined
    for (let i = 0; i < runs && error === undefined; i++) {
      yield* Console.error(`[bench] ${info.name}${store === null ? "" : ` (${store})`}: run ${i + 1} of ${runs}`)
      const outcome = yield* Effect.either(runChild(info, store, path.join(dir, `run-${i}.json`)))
      if (Either.isRight(outcome)) results.push(outcome.right)
      else error = outcome.left
    }
    const metrics = medianMetrics(results.map((r) => r.metrics))
    const report: Report = {
      scenario: info.name,
      ...(store === null ? {} : { store }),
      metrics,
      machine: withLoadEnd(startMachine),
      bars: checkBars(info.bars, metrics),
      ...(results.length > 1 ? { runs: results } : {}),
      ...(error === undefined ? {} : { error })
    }
    return report
  }).pipe(Effect.scoped)

const main = Effect.gen(function* () {
  const parsed = parseArgs(process.argv.slice(2))
  if (Either.isLeft(parsed)) {
    yield* Console.error(`${parsed.left.message}\n\n${usage()}`)
    process.exitCode = 2
    return
  }
  const args = parsed.right
  const startMachine = machine()
  const reports: Array<Report> = []
  for (const info of args.scenarios) reports.push(yield* runScenario(info, args.store, args.runs))
  yield* Console.log("\n" + renderTable(reports))
  if (args.json !== null) {
    const fs = yield* FileSystem.FileSystem
    yield* fs.writeFileString(args.json, toJson(args.selection, reports, withLoadEnd(startMachine)))
    yield* Console.log(`\nwrote ${args.json}`)
  }
  if (!allPass(reports)) process.exitCode = 1
})

main.pipe(Effect.provide(NodeContext.layer), NodeRuntime.runMain)
