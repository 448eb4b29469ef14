import { describe, expect, it } from "@effect/vitest"
import { median, percentile } from "../../src/bench/measure.js"
import { allPass, checkBars, medianMetrics, type Report, renderTable, toJson } from "../../src/bench/report.js"

const machine = { cpus: 2, cpu_model: "test cpu", loadavg: [1.5, 1, 0.5], loadavg_end: [1.25, 1, 0.5], node: "v20.0.0" }

const report = (scenario: string, metrics: Record<string, number>): Report => {
  const bars = { jobs_per_s: { op: ">=", value: 50_000 } } as const
  return { scenario, store: "memory", metrics, machine, bars: checkBars(bars, metrics) }
}

describe("bench measurements", () => {
  it("percentile is nearest-rank", () => {
    const values = Array.from({ length: 100 }, (_, i) => 100 - i) // 100..1, unsorted
    expect(percentile(values, 50)).toBe(50)
    expect(percentile(values, 99)).toBe(99)
    expect(percentile(values, 100)).toBe(100)
    expect(percentile(values, 0)).toBe(1)
    expect(percentile([], 50)).toBeNaN()
  })

  it("median of odd and even counts", () => {
    expect(median([3, 1, 2])).toBe(2)
    expect(median([4, 1, 3, 2])).toBe(2.5)
    expect(median([])).toBeNaN()
  })
})

describe("bench report", () => {
  it("checks bars in both directions; a missing or NaN metric fails", () => {
    const bars = { fast: { op: ">=", value: 10 }, small: { op: "<=", value: 5 }, absent: { op: "<=", value: 0 } } as const
    expect(checkBars(bars, { fast: 10, small: 5.1 })).toEqual({
      fast: { op: ">=", value: 10, pass: true },
      small: { op: "<=", value: 5, pass: false },
      absent: { op: "<=", value: 0, pass: false }
    })
    expect(checkBars({ p99: { op: "<=", value: 5 } }, { p99: Number.NaN }).p99!.pass).toBe(false)
  })

  it("folds runs into per-metric medians", () => {
    expect(medianMetrics([{ a: 1, b: 10 }, { a: 3 }, { a: 2, b: 20 }])).toEqual({ a: 2, b: 15 })
  })

  it("allPass needs every bar met and no error", () => {
    expect(allPass([report("x", { jobs_per_s: 60_000 })])).toBe(true)
    expect(allPass([report("x", { jobs_per_s: 40_000 })])).toBe(false)
    expect(allPass([{ ...report("x", { jobs_per_s: 60_000 }), error: "timed out" }])).toBe(false)
  })

  it("prints one row per metric with its bar and verdict, then the load", () => {
    const table = renderTable([report("local-throughput-memory", { jobs_per_s: 41_234.5, elapsed_s: 2.4251 })])
    const lines = table.split("\n")
    expect(lines[0]).toMatch(/^scenario\s+metric\s+value\s+bar\s+result$/)
    expect(lines[2]).toMatch(/^local-throughput-memory \(memory\)\s+jobs_per_s\s+41,235\s+>= 50,000\s+FAIL$/)
    expect(lines[3]).toMatch(/^local-throughput-memory \(memory\)\s+elapsed_s\s+2\.43$/)
    expect(table).toContain("1 run; load avg 1.50 1.00 0.50 at start, 1.25 1.00 0.50 at end (2 cpus, node v20.0.0)")
  })

  it("shows errors and missing metrics as failures", () => {
    const failed: Report = { ...report("burst", {}), error: "timed out after 30 s" }
    const table = renderTable([failed])
    expect(table).toMatch(/burst \(memory\)\s+error\s+FAIL/)
    expect(table).toMatch(/burst \(memory\)\s+jobs_per_s\s+missing\s+>= 50,000\s+FAIL/)
    expect(table).toContain("burst (memory): timed out after 30 s")
  })

  it("writes one report as the document, several under scenario all", () => {
    const one = report("burst", { jobs_per_s: 1 })
    expect(JSON.parse(toJson("burst", [one], machine))).toEqual(one)
    const all = JSON.parse(toJson("all", [one, report("cron-next", {})], machine))
    expect(all.scenario).toBe("all")
    expect(all.machine).toEqual(machine)
    expect(all.results.map((r: Report) => r.scenario)).toEqual(["burst", "cron-next"])
    expect(Object.keys(all.results[0])).toEqual(["scenario", "store", "metrics", "machine", "bars"])
  })
})
