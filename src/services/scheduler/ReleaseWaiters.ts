/**
 * Callers waiting for jobs to end (runJob, getJobResult with a wait), woken by
 * the scheduler's own event listener: one map lookup per JobReleased event,
 * instead of a broker subscription and a stream per waiting caller.
 */
import { Deferred, Effect, Exit, FiberId, type Scope } from "effect"
import type { JobReleased } from "../../domain/events.js"
import type { JobId } from "../../domain/ids.js"

export interface ReleaseWaiters {
  /**
   * Starts waiting now (until the caller's scope closes), so a release published
   * after this returns is not missed; the effect returned completes at the job's
   * final release (one with no retry following).
   */
  readonly waitFor: (jobId: JobId) => Effect.Effect<Effect.Effect<void>, never, Scope.Scope>
  /** Wakes the callers waiting for the released job, if the release is final. */
  readonly released: (event: JobReleased) => void
}

export const makeReleaseWaiters = (): ReleaseWaiters => {
  const waiting = new Map<JobId, Set<Deferred.Deferred<void>>>()

  const add = (jobId: JobId, deferred: Deferred.Deferred<void>): void => {
    const set = waiting.get(jobId)
    if (set === undefined) waiting.set(jobId, new Set([deferred]))
    else set.add(deferred)
  }

  const remove = (jobId: JobId, deferred: Deferred.Deferred<void>): void => {
    const set = waiting.get(jobId)
    if (set === undefined) return
    set.delete(deferred)
    if (set.size === 0) waiting.delete(jobId)
  }

  return {
    waitFor: (jobId) =>
      Effect.map(
        Effect.acquireRelease(
          Effect.sync(() => {
            const deferred = Deferred.unsafeMake<void>(FiberId.none)
            add(jobId, deferred)
            return deferred
          }),
          (deferred) => Effect.sync(() => remove(jobId, deferred))
        ),
        Deferred.await
      ),
    released: (event) => {
      if (event.willRetry || waiting.size === 0) return
      const set = waiting.get(event.jobId)
      if (set === undefined) return
      waiting.delete(event.jobId)
      for (const deferred of set) Deferred.unsafeDone(deferred, Exit.void)
    }
  }
}
