/**
 * Measurement utilities for the benchmark: percentiles, CPU and memory of this
 * process, machine facts, and a sub-millisecond wall clock. Benchmarks measure
 * real time on purpose, so this module reads the OS clocks directly.
 */
import * as os from "node:os"

/** Nearest-rank percentile (p in 0..100) of `values`; NaN when there are none. */
export const percentile = (values: ReadonlyArray<number>, p: number): number => {
  if (values.length === 0) return Number.NaN
  const sorted = [...values].sort((a, b) => a - b)
  const rank = Math.ceil((p / 100) * sorted.length)
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1]!
}

/** Middle value (mean of the two middle values for an even count); NaN when there are none. */
export const median = (values: ReadonlyArray<number>): number => {
  if (values.length === 0) return Number.NaN
  const sorted = [...values].sort((a, b) => a - b)
  const middle = Math.floor(sorted.length / 2)
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2
}

/**
 * Wall-clock time in ms with sub-millisecond resolution (Date.now() only has
 * whole milliseconds, too coarse for lateness bars of a few ms).
 */
export const wallClockMs = (): number => performance.timeOrigin + performance.now()

/** Monotonic time in ms, for durations. */
export const monotonicMs = (): number => performance.now()

/** Starts a CPU-time window; the returned function gives user+system CPU seconds used since. */
export const cpuWindow = (): (() => number) => {
  const start = process.cpuUsage()
  return () => {
    const delta = process.cpuUsage(start)
    return (delta.user + delta.system) / 1e6
  }
}

/** CPU milliseconds (user + system) between two process.cpuUsage() readings. */
export const cpuMsBetween = (from: NodeJS.CpuUsage, to: NodeJS.CpuUsage): number =>
  (to.user - from.user + to.system - from.system) / 1000

const MB = 1024 * 1024

export const rssMb = (): number => process.memoryUsage().rss / MB
export const heapUsedMb = (): number => process.memoryUsage().heapUsed / MB
/** Heap memory V8 has reserved (used or not): the part of RSS the heap accounts for. */
export const heapTotalMb = (): number => process.memoryUsage().heapTotal / MB
export const bytesToMb = (bytes: number): number => bytes / MB

export interface Machine {
  readonly cpus: number
  readonly cpu_model: string
  /** 1, 5 and 15 minute load averages when the measurement started. */
  readonly loadavg: ReadonlyArray<number>
  /** The same when it ended: the machine is shared, so a busy neighbour shows here. */
  readonly loadavg_end?: ReadonlyArray<number>
  readonly node: string
}

const roundLoad = (load: ReadonlyArray<number>) => load.map((x) => Math.round(x * 100) / 100)

export const machine = (): Machine => {
  const cpus = os.cpus()
  return {
    cpus: cpus.length,
    cpu_model: cpus[0]?.model.trim() ?? "unknown",
    loadavg: roundLoad(os.loadavg()),
    node: process.version
  }
}

/** Adds the load averages at the end of a measurement. */
export const withLoadEnd = (start: Machine): Machine => ({ ...start, loadavg_end: roundLoad(os.loadavg()) })
