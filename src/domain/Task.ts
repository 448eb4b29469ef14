/**
 * A task names what runs (a handler method) and how: concurrency limit,
 * misfire grace, retry policy and per-attempt timeout. Schedules and jobs refer
 * to tasks by id.
 */
import { Schema } from "effect"
import { HandlerId, Metadata, TaskId } from "./ids.js"

/** How failed attempts are retried: exponential backoff base·2^(n-1), capped, with full jitter. */
export class RetryPolicy extends Schema.Class<RetryPolicy>("RetryPolicy")({
  /** Total attempts including the first; 1 = no retries. */
  maxAttempts: Schema.optionalWith(Schema.Int.pipe(Schema.between(1, 1000)), { default: () => 1 }),
  backoffBaseMs: Schema.optionalWith(Schema.NonNegativeInt, { default: () => 1000 }),
  backoffCapMs: Schema.optionalWith(Schema.NonNegativeInt, { default: () => 60_000 }),
  /** Whether to randomise each delay in [0, delay] ("full jitter"). */
  jitter: Schema.optionalWith(Schema.Boolean, { default: () => true })
}) {}

export class Task extends Schema.Class<Task>("Task")({
  id: TaskId,
  handler: HandlerId,
  method: Schema.NonEmptyTrimmedString,
  /** Name of the job executor (kept for parity with APScheduler; "async" by default). */
  executor: Schema.optionalWith(Schema.String, { default: () => "async" }),
  /** At most this many jobs of the task run at once across all schedulers; undefined = unlimited. */
  maxRunningJobs: Schema.optionalWith(Schema.NullOr(Schema.Int.pipe(Schema.positive())), { default: () => 1 }),
  /** Seconds a job may start late before it is reported missed; null = no limit. */
  misfireGraceTime: Schema.optionalWith(Schema.NullOr(Schema.NonNegative), { default: () => null }),
  retry: Schema.optionalWith(RetryPolicy, { default: () => RetryPolicy.make({}) }),
  /** Per-attempt timeout in ms; null = none. */
  timeoutMs: Schema.optionalWith(Schema.NullOr(Schema.Int.pipe(Schema.positive())), { default: () => null }),
  metadata: Schema.optionalWith(Metadata, { default: () => ({}) })
}) {}

/**
 * Delay before attempt `attempt + 1` after attempt `attempt` failed:
 * min(cap, base·2^(attempt-1)), scaled by `random01` when jitter is on.
 */
export const retryDelayMs = (policy: RetryPolicy, attempt: number, random01: number): number => {
  const exponential = Math.min(policy.backoffCapMs, policy.backoffBaseMs * 2 ** Math.max(0, attempt - 1))
  return Math.round(policy.jitter ? exponential * random01 : exponential)
}

/** Whether a job that just finished attempt `attempt` unsuccessfully gets another. */
export const hasAttemptsLeft = (policy: RetryPolicy, attempt: number): boolean => attempt < policy.maxAttempts
