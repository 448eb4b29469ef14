import { describe, expect, it } from "@effect/vitest"
import { Either } from "effect"
import { parseArgs } from "../../src/bench/args.js"
import { StoreKinds, catalog } from "../../src/bench/catalog.js"

const parsed = (argv: ReadonlyArray<string>) => Either.getOrThrow(parseArgs(argv))
const reason = (argv: ReadonlyArray<string>) =>
  Either.match(parseArgs(argv), { onLeft: (e) => e.reason, onRight: () => "parsed" })

describe("bench arguments", () => {
  it("selects one scenario with defaults", () => {
    const args = parsed(["--scenario", "burst"])
    expect(args.scenarios.map((s) => s.name)).toEqual(["burst"])
    expect(args).toMatchObject({ selection: "burst", json: null, store: "memory", runs: 1 })
  })

  it("reads every flag, in either spelling", () => {
    const store = StoreKinds.at(-1)!
    const args = parsed(["--scenario=idle-100k", "--json", "out.json", `--store=${store}`, "--runs", "3"])
    expect(args).toMatchObject({ selection: "idle-100k", json: "out.json", store, runs: 3 })
  })

  it("expands all to the whole catalog in order", () => {
    expect(parsed(["--scenario", "all"]).scenarios).toEqual(catalog)
  })

  it("names what is wrong", () => {
    expect(reason([])).toBe("--scenario is required")
    expect(reason(["--scenario"])).toBe("--scenario needs a value")
    expect(reason(["--scenario", "--json", "x"])).toBe("--scenario needs a value")
    expect(reason(["--scenario", "nope"])).toMatch(/^--scenario: unknown scenario 'nope' \(known: .*burst.*, all\)$/)
    expect(reason(["--scenario", "burst", "--store", "redis"])).toBe(
      `--store: must be one of ${StoreKinds.join(", ")}, got 'redis'`
    )
    expect(reason(["--scenario", "burst", "--runs", "0"])).toBe("--runs: must be a whole number from 1 to 20, got '0'")
    expect(reason(["--scenario", "burst", "--runs", "2.5"])).toMatch(/^--runs: /)
    expect(reason(["--scenario", "burst", "--scenario", "all"])).toBe("--scenario given twice")
    expect(reason(["--scenario", "burst", "--fast"])).toBe("unknown argument '--fast'")
  })
})
