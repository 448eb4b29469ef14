/**
 * What a benchmark run produces (metrics checked against bars, plus the
 * machine it ran on), how several runs fold into medians, and how reports are
 * printed as a table and written as JSON.
 */
import { type Machine, median } from "./measure.js"

export type Metrics = Readonly<Record<string, number>>

/** A target a metric must meet on the reference machine (2 cores). */
export interface Bar {
  readonly op: ">=" | "<="
  readonly value: number
}
export type Bars = Readonly<Record<string, Bar>>

export interface BarResult extends Bar {
  readonly pass: boolean
}

/** What one run of a scenario (one child process) reports. */
export interface RunResult {
  readonly metrics: Metrics
  readonly machine: Machine
}

export interface Report {
  readonly scenario: string
  /** The data store the scenario ran on, when it uses one. */
  readonly store?: string
  /** Median over `runs` when the scenario ran more than once. */
  readonly metrics: Metrics
  readonly machine: Machine
  readonly bars: Readonly<Record<string, BarResult>>
  /** The individual runs (present when there was more than one). */
  readonly runs?: ReadonlyArray<RunResult>
  /** Why the scenario produced no (or incomplete) metrics. */
  readonly error?: string
}

/** A metric that is missing (or NaN) fails its bar. */
export const checkBars = (bars: Bars, metrics: Metrics): Record<string, BarResult> => {
  const results: Record<string, BarResult> = {}
  for (const [name, bar] of Object.entries(bars)) {
    const value = metrics[name]
    const pass =
      value !== undefined && !Number.isNaN(value) && (bar.op === ">=" ? value >= bar.value : value <= bar.value)
    results[name] = { ...bar, pass }
  }
  return results
}

/** Per metric, the median of the runs that reported it. */
export const medianMetrics = (runs: ReadonlyArray<Metrics>): Metrics => {
  const names = [...new Set(runs.flatMap((run) => Object.keys(run)))]
  return Object.fromEntries(
    names.map((name) => [name, median(runs.flatMap((run) => (run[name] === undefined ? [] : [run[name]])))])
  )
}

/** Every bar of every report is met (and no report carries an error). */
export const allPass = (reports: ReadonlyArray<Report>): boolean =>
  reports.every((report) => report.error === undefined && Object.values(report.bars).every((bar) => bar.pass))

const formatValue = (value: number): string => {
  if (Number.isNaN(value)) return "n/a"
  if (Number.isInteger(value)) return value.toLocaleString("en-US")
  const digits = Math.abs(value) >= 100 ? 0 : Math.abs(value) >= 1 ? 2 : 3
  return value.toLocaleString("en-US", { minimumFractionDigits: digits, maximumFractionDigits: digits })
}

const formatBar = (bar: Bar | undefined): string => (bar === undefined ? "" : `${bar.op} ${formatValue(bar.value)}`)

const formatLoad = (load: ReadonlyArray<number> | undefined): string => (load ?? []).map((x) => x.toFixed(2)).join(" ")

const renderRows = (rows: ReadonlyArray<ReadonlyArray<string>>): string => {
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => row[column]!.length)))
  const numeric = new Set([2])
  return rows
    .map((row) =>
      row
        .map((cell, column) => (numeric.has(column) ? cell.padStart(widths[column]!) : cell.padEnd(widths[column]!)))
        .join("  ")
        .trimEnd()
    )
    .join("\n")
}

/** A table with one row per metric: scenario, metric, value, bar, pass/fail; then the load figures. */
export const renderTable = (reports: ReadonlyArray<Report>): string => {
  const header = ["scenario", "metric", "value", "bar", "result"]
  const rows: Array<ReadonlyArray<string>> = [header, header.map((h) => "-".repeat(h.length))]
  const notes: Array<string> = []
  for (const report of reports) {
    const label = report.store === undefined ? report.scenario : `${report.scenario} (${report.store})`
    if (report.error !== undefined) {
      rows.push([label, "error", "", "", "FAIL"])
      notes.push(`${label}: ${report.error}`)
    }
    for (const [name, value] of Object.entries(report.metrics)) {
      const bar = report.bars[name]
      rows.push([label, name, formatValue(value), formatBar(bar), bar === undefined ? "" : bar.pass ? "pass" : "FAIL"])
    }
    for (const [name, bar] of Object.entries(report.bars)) {
      if (report.metrics[name] === undefined) rows.push([label, name, "missing", formatBar(bar), "FAIL"])
    }
    const runs = report.runs?.length ?? 1
    notes.push(
      `${label}: ${runs === 1 ? "1 run" : `median of ${runs} runs`}; load avg ${formatLoad(report.machine.loadavg)}` +
        ` at start, ${formatLoad(report.machine.loadavg_end)} at end (${report.machine.cpus} cpus, node ${report.machine.node})`
    )
  }
  return renderRows(rows) + "\n\n" + notes.join("\n")
}

/** The JSON document for `--json`: one report, or all of them under scenario "all". */
export const toJson = (scenario: string, reports: ReadonlyArray<Report>, machine: Machine): string =>
  JSON.stringify(
    scenario === "all" || reports.length !== 1 ? { scenario, machine, results: reports } : reports[0],
    null,
    2
  ) + "\n"
