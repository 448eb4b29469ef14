import { getHeapCodeStatistics } from "node:v8"
import { runInNewContext } from "node:vm"
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { autonomous } from "../../src/modes/autonomous.js"
import { preferSmallHeap } from "../../src/modes/memory.js"

describe("small heap (autonomous mode)", () => {
  it.effect("sheds the compiled code of what ran only to start, and leaves no gc function behind", () =>
    Effect.gen(function* () {
      expect(autonomous.smallHeap).toBe(true)
      // This process has compiled its test framework's modules, most of which do not run again.
      const before = getHeapCodeStatistics().bytecode_and_metadata_size
      yield* preferSmallHeap
      const after = getHeapCodeStatistics().bytecode_and_metadata_size
      expect(after).toBeLessThan(before)
      // Code that runs again is compiled again when called.
      expect([3, 1, 2].sort((a, b) => a - b)).toEqual([1, 2, 3])
      expect("gc" in globalThis).toBe(false)
      expect(runInNewContext("typeof gc")).toBe("undefined")
    })
  )
})
