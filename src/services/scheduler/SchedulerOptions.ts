/**
 * Tuning of one scheduler instance, with the defaults a deployment gets when it
 * says nothing.
 */
import { hostname } from "node:os"
import { Duration } from "effect"
import type { SchedulerId } from "../../domain/ids.js"

export interface SchedulerOptions {
  /** Lease owner name; unique per running instance. Default: `<hostname>-<pid>-<random>`. */
  readonly id?: string
  /** Jobs this instance runs at once. Default 100. */
  readonly maxConcurrentJobs?: number
  /** Schedules acquired per schedule-loop pass. Default 100. */
  readonly scheduleBatchSize?: number
  /** Upper bound of jobs acquired per job-loop pass (also bounded by free slots). Default 1000. */
  readonly jobBatchSize?: number
  /** Job results written to the store per release call. Default 1000. */
  readonly releaseBatchSize?: number
  /** How long an acquired schedule or job stays leased without extension. Default 30 s. */
  readonly leaseDuration?: Duration.DurationInput
  /** On stop, how long running jobs may finish before they are cancelled. Default 10 s. */
  readonly stopGracePeriod?: Duration.DurationInput
  /** How often expired results and leases are cleaned up; null = never (call `cleanup`). Default 15 min. */
  readonly cleanupInterval?: Duration.DurationInput | null
}

export interface ResolvedSchedulerOptions {
  readonly id: SchedulerId
  readonly maxConcurrentJobs: number
  readonly scheduleBatchSize: number
  readonly jobBatchSize: number
  readonly releaseBatchSize: number
  readonly leaseDuration: Duration.Duration
  /** Running jobs' leases are extended this often: a third of the lease, so two extensions may fail. */
  readonly leaseExtensionInterval: Duration.Duration
  readonly stopGracePeriod: Duration.Duration
  readonly cleanupInterval: Duration.Duration | null
}

export const defaultSchedulerId = (): SchedulerId =>
  `${hostname()}-${process.pid}-${Math.random().toString(36).slice(2, 10)}` as SchedulerId

const positiveInt = (name: string, value: number | undefined, fallback: number): number => {
  const resolved = value ?? fallback
  if (!Number.isInteger(resolved) || resolved < 1) {
    throw new RangeError(`scheduler option ${name}: must be a positive integer, got ${resolved}`)
  }
  return resolved
}

/** Fills in defaults; throws RangeError naming the option when a value is unusable (a programming error). */
export const resolveSchedulerOptions = (options: SchedulerOptions = {}): ResolvedSchedulerOptions => {
  const id = options.id?.trim()
  const leaseDuration = Duration.decode(options.leaseDuration ?? Duration.seconds(30))
  if (Duration.toMillis(leaseDuration) <= 0) throw new RangeError("scheduler option leaseDuration: must be positive")
  return {
    id: id ? (id as SchedulerId) : defaultSchedulerId(),
    maxConcurrentJobs: positiveInt("maxConcurrentJobs", options.maxConcurrentJobs, 100),
    scheduleBatchSize: positiveInt("scheduleBatchSize", options.scheduleBatchSize, 100),
    jobBatchSize: positiveInt("jobBatchSize", options.jobBatchSize, 1000),
    releaseBatchSize: positiveInt("releaseBatchSize", options.releaseBatchSize, 1000),
    leaseDuration,
    leaseExtensionInterval: Duration.millis(Math.max(1, Math.floor(Duration.toMillis(leaseDuration) / 3))),
    stopGracePeriod: Duration.decode(options.stopGracePeriod ?? Duration.seconds(10)),
    cleanupInterval: options.cleanupInterval === null
      ? null
      : Duration.decode(options.cleanupInterval ?? Duration.minutes(15))
  }
}
