/**
 * Command-line arguments of `npm run bench`:
 *   --scenario <name|all> [--json <file>] [--store memory|sqlite] [--runs <n>]
 */
import { Data, Either } from "effect"
import { type ScenarioInfo, type StoreKind, StoreKinds, catalog, findScenario } from "./catalog.js"

export interface BenchArgs {
  /** The scenarios to run, in order (one, or the whole catalog for "all"). */
  readonly scenarios: ReadonlyArray<ScenarioInfo>
  /** What was asked for: a scenario name or "all" (names the JSON document). */
  readonly selection: string
  readonly json: string | null
  readonly store: StoreKind
  /** How many times each scenario runs (each in a fresh process); metrics are the medians. */
  readonly runs: number
}

export class UsageError extends Data.TaggedError("UsageError")<{ readonly reason: string }> {
  override get message() {
    return this.reason
  }
}

export const usage = (): string =>
  [
    "usage: npm run bench -- --scenario <name|all> [--json <file>] [--store memory|sqlite] [--runs <n>]",
    "",
    "scenarios:",
    ...catalog.map((s) => `  ${s.name.padEnd(26)}${s.description}`),
    "  all                       every scenario above, one after another"
  ].join("\n")

const flags = ["--scenario", "--json", "--store", "--runs"] as const
type Flag = (typeof flags)[number]

/** Splits `--flag value` and `--flag=value` pairs; every flag takes a value and may appear once. */
const readFlags = (argv: ReadonlyArray<string>): Either.Either<Map<Flag, string>, UsageError> => {
  const values = new Map<Flag, string>()
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!
    const eq = arg.indexOf("=")
    const name = eq === -1 ? arg : arg.slice(0, eq)
    if (!(flags as ReadonlyArray<string>).includes(name)) {
      return Either.left(new UsageError({ reason: `unknown argument '${arg}'` }))
    }
    const flag = name as Flag
    const value = eq === -1 ? argv[++i] : arg.slice(eq + 1)
    if (value === undefined || value === "" || (eq === -1 && value.startsWith("--"))) {
      return Either.left(new UsageError({ reason: `${flag} needs a value` }))
    }
    if (values.has(flag)) return Either.left(new UsageError({ reason: `${flag} given twice` }))
    values.set(flag, value)
  }
  return Either.right(values)
}

export const parseArgs = (argv: ReadonlyArray<string>): Either.Either<BenchArgs, UsageError> =>
  Either.gen(function* () {
    const values = yield* readFlags(argv)
    const selection = values.get("--scenario")
    if (selection === undefined) return yield* Either.left(new UsageError({ reason: "--scenario is required" }))
    const found = selection === "all" ? catalog : [findScenario(selection)].filter((s) => s !== undefined)
    if (found.length === 0) {
      return yield* Either.left(
        new UsageError({
          reason: `--scenario: unknown scenario '${selection}' (known: ${catalog.map((s) => s.name).join(", ")}, all)`
        })
      )
    }
    const store = values.get("--store") ?? "memory"
    if (!(StoreKinds as ReadonlyArray<string>).includes(store)) {
      return yield* Either.left(
        new UsageError({ reason: `--store: must be one of ${StoreKinds.join(", ")}, got '${store}'` })
      )
    }
    const runsText = values.get("--runs") ?? "1"
    const runs = Number(runsText)
    if (!Number.isInteger(runs) || runs < 1 || runs > 20) {
      return yield* Either.left(new UsageError({ reason: `--runs: must be a whole number from 1 to 20, got '${runsText}'` }))
    }
    return {
      scenarios: found,
      selection,
      json: values.get("--json") ?? null,
      store: store as StoreKind,
      runs
    }
  })
