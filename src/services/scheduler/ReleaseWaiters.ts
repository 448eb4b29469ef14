/**
 * Callers waiting for jobs to end (runJob, getJobResult with a wait). A waiter
 * is a plain record completed in place: by this scheduler's job runner as soon
 * as it has written a job's final release, by the JobReleased event (another
 * scheduler ran the job), or by the scheduler's stop. No scope, fiber or race
 * per wait: runJob is called one job at a time in latency-bound loops, where
 * each of those costs tens of microseconds.
 */
import { Effect } from "effect"
import type { JobReleased } from "../../domain/events.js"
import { withoutKey } from "../../domain/churn.js"
import type { JobId } from "../../domain/ids.js"

export interface ReleaseWait {
  /**
   * Completes at the job's final release (one with no retry following) or when
   * the scheduler stops, whichever is first; at once if that already happened.
   */
  readonly await: Effect.Effect<void>
  /** Stops waiting; call it when done (idempotent), so a job that never ends leaves nothing behind. */
  readonly cancel: () => void
}

export interface ReleaseWaiters {
  /** Starts waiting now, so a release written or published after this returns is not missed. */
  readonly waitFor: (jobId: JobId) => ReleaseWait
  /** Wakes the callers waiting for the released job, if the release is final. */
  readonly released: (event: JobReleased) => void
  /** Wakes the callers waiting for a job whose final release this scheduler has just written. */
  readonly finished: (jobId: JobId) => void
  /** The scheduler stopped: wakes every caller, and any later wait completes at once. */
  readonly close: () => void
  /** Whether close was called. */
  readonly closed: () => boolean
}

interface Waiter {
  done: boolean
  resume: ((effect: Effect.Effect<void>) => void) | undefined
}

const wake = (waiter: Waiter): void => {
  waiter.done = true
  const resume = waiter.resume
  if (resume === undefined) return
  waiter.resume = undefined
  resume(Effect.void)
}

export const makeReleaseWaiters = (): ReleaseWaiters => {
  // One waiter per job is the rule (runJob); a Set only when several callers wait for the same job.
  // Emptied and refilled for every runJob: see domain/churn.ts.
  let waiting = new Map<JobId, Waiter | Set<Waiter>>()
  let isClosed = false

  const remove = (jobId: JobId, waiter: Waiter): void => {
    const entry = waiting.get(jobId)
    if (entry === waiter) waiting = withoutKey(waiting, jobId)
    else if (entry instanceof Set) {
      entry.delete(waiter)
      if (entry.size === 0) waiting = withoutKey(waiting, jobId)
    }
  }

  const finished = (jobId: JobId): void => {
    // Told of every release, waited for or not: most are not.
    if (waiting.size === 0) return
    const entry = waiting.get(jobId)
    if (entry === undefined) return
    waiting = withoutKey(waiting, jobId)
    if (entry instanceof Set) entry.forEach(wake)
    else wake(entry)
  }

  return {
    waitFor: (jobId) => {
      const waiter: Waiter = { done: isClosed, resume: undefined }
      if (!isClosed) {
        const entry = waiting.get(jobId)
        if (entry === undefined) waiting.set(jobId, waiter)
        else if (entry instanceof Set) entry.add(waiter)
        else waiting.set(jobId, new Set([entry, waiter]))
      }
      return {
        await: Effect.async<void>((resume) => {
          if (waiter.done) resume(Effect.void)
          else waiter.resume = resume
        }),
        cancel: () => {
          waiter.resume = undefined
          if (!waiter.done) remove(jobId, waiter)
        }
      }
    },
    released: (event) => {
      if (!event.willRetry) finished(event.jobId)
    },
    finished,
    close: () => {
      isClosed = true
      const all = Array.from(waiting.keys())
      for (const jobId of all) finished(jobId)
    },
    closed: () => isClosed
  }
}
