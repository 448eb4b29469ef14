/**
 * One attempt of a job: run it on its handler within the task's timeout, then
 * turn how it ended into a release for the store — success, error or
 * abandoned (retried with backoff while the task's policy allows), or cancelled.
 */
import { Cause, Duration, Effect, Exit, Random } from "effect"
import { HandlerFailed, JobTimeout } from "../../domain/errors.js"
import { instanceOf } from "../../domain/instances.js"
import type { Job } from "../../domain/Job.js"
import { JobError, type JobOutcome, JobResult } from "../../domain/JobResult.js"
import { hasAttemptsLeft, retryDelayMs, type Task } from "../../domain/Task.js"
import type { JobRelease } from "../DataStore.js"
import type { HandlerRegistryShape, RunError } from "../HandlerRegistry.js"

export type AttemptError = RunError | JobTimeout

/** Interrupts `run` past `timeoutMs`, failing it with JobTimeout. */
const withTimeout = (run: Effect.Effect<unknown, RunError>, job: Job, timeoutMs: number) =>
  Effect.timeoutFail(run, {
    duration: Duration.millis(timeoutMs),
    onTimeout: () => new JobTimeout({ jobId: job.id, timeoutMs })
  })

/** Runs the job on its handler; past the task's timeout the handler is interrupted and JobTimeout is the error. */
export const runAttempt = (registry: HandlerRegistryShape, job: Job, task: Task): Effect.Effect<unknown, AttemptError> =>
  task.timeoutMs === null ? registry.run(job, task) : withTimeout(registry.run(job, task), job, task.timeoutMs)

/**
 * Starts the attempt now when the registry can (see HandlerRegistryShape.start): an
 * Exit when the handler already finished, else the rest of the attempt, under the
 * task's timeout. Registries without `start` give the whole attempt, as runAttempt.
 */
export const startAttempt = (registry: HandlerRegistryShape, job: Job, task: Task): Effect.Effect<unknown, AttemptError> => {
  if (registry.start === undefined) return runAttempt(registry, job, task)
  const started = registry.start(job, task)
  return Exit.isExit(started) || task.timeoutMs === null ? started : withTimeout(started, job, task.timeoutMs)
}

/** The tag and message recorded for a failed attempt: the typed error's, or the defect's. */
export const describeFailure = (cause: Cause.Cause<AttemptError>): JobError => {
  const failure = Cause.failureOption(cause)
  if (failure._tag === "Some") {
    const error = failure.value
    return error instanceof HandlerFailed
      ? new JobError({ tag: error.tag, message: error.message })
      : new JobError({ tag: error._tag, message: error.message })
  }
  const defect = Cause.squash(cause)
  return defect instanceof Error
    ? new JobError({ tag: defect.name, message: defect.message })
    : new JobError({ tag: "Defect", message: String(defect) })
}

const result = (
  job: Job,
  outcome: JobOutcome,
  startedAtMs: number,
  finishedAtMs: number,
  error: JobError | null,
  returnValue: unknown
): JobResult =>
{
  // Equal instants share one Date (results are immutable): a quick job's start, end and expiry often are.
  const startedAt = new Date(startedAtMs)
  const finishedAt = finishedAtMs === startedAtMs ? startedAt : new Date(finishedAtMs)
  const expiresAt = job.resultExpirationTime === 0 ? finishedAt : new Date(finishedAtMs + job.resultExpirationTime * 1000)
  return instanceOf(JobResult, {
    jobId: job.id,
    taskId: job.taskId,
    outcome,
    attempt: job.attempt,
    startedAt,
    finishedAt,
    expiresAt,
    error,
    returnValue: returnValue === undefined ? null : returnValue
  })
}

/** The release of an attempt that returned `value`. */
export const succeeded = (job: Job, startedAtMs: number, finishedAtMs: number, value: unknown): JobRelease => ({
  _tag: "Finished",
  job,
  result: result(job, "success", startedAtMs, finishedAtMs, null, value)
})

/**
 * A remote handler instance that went silent left its attempt unfinished, not
 * failed: the attempt is abandoned (and retried per the task's policy).
 */
const failedOutcome = (cause: Cause.Cause<AttemptError>): JobOutcome => {
  const failure = Cause.failureOption(cause)
  return failure._tag === "Some" && failure.value._tag === "HandlerLost" ? "abandoned" : "error"
}

/** What to tell the store about an attempt that ran from `startedAtMs` to `finishedAtMs` and ended with `exit`. */
export const releaseFor = (
  job: Job,
  task: Task,
  startedAtMs: number,
  finishedAtMs: number,
  exit: Exit.Exit<unknown, AttemptError>
): Effect.Effect<JobRelease> => {
  if (Exit.isSuccess(exit)) return Effect.succeed(succeeded(job, startedAtMs, finishedAtMs, exit.value))
  if (Cause.isInterruptedOnly(exit.cause)) {
    return Effect.succeed({
      _tag: "Finished",
      job,
      result: result(job, "cancelled", startedAtMs, finishedAtMs, null, null)
    })
  }
  const failed = result(job, failedOutcome(exit.cause), startedAtMs, finishedAtMs, describeFailure(exit.cause), null)
  if (!hasAttemptsLeft(task.retry, job.attempt)) return Effect.succeed({ _tag: "Finished", job, result: failed })
  return Effect.map(Random.next, (random01) => ({
    _tag: "Retry",
    job,
    result: failed,
    availableAt: new Date(finishedAtMs + retryDelayMs(task.retry, job.attempt, random01))
  }))
}
