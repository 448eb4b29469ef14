import { describe, expect, it } from "@effect/vitest"
import { tally } from "../../src/bench/scenarios/fireLateness.js"

const start = (key: string) => ({ key, latenessMs: 1 })

describe("fire-lateness tally", () => {
  it("counts missed, duplicate and unexpected (schedule, fire time) pairs", () => {
    const expected = new Set(["a@1000", "a@2000", "b@1500"])
    const starts = [start("a@1000"), start("a@1000"), start("a@1000"), start("b@1500"), start("c@9")]
    expect(tally(expected, starts)).toEqual({ missed: 1, duplicates: 2, unexpected: 1 })
  })

  it("is all zeros when every expected pair ran once", () => {
    const expected = new Set(["a@1000", "b@1500"])
    expect(tally(expected, [start("b@1500"), start("a@1000")])).toEqual({ missed: 0, duplicates: 0, unexpected: 0 })
  })
})
