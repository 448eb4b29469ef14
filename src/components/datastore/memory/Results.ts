/**
 * Finished jobs' results, each kept while its expiresAt is in the future.
 * Expired results are hidden at once and deleted by `purge`, which walks an
 * expiry-ordered heap instead of every result.
 */
import type { JobId } from "../../../domain/ids.js"
import type { JobResult } from "../../../domain/JobResult.js"
import { MinHeap } from "./MinHeap.js"

export class Results {
  private readonly byJobId = new Map<JobId, JobResult>()
  private readonly expiries = new MinHeap<JobResult>((a, b) => a.expiresAt.getTime() - b.expiresAt.getTime())

  /** Keeps the result if it has not expired yet. */
  put(result: JobResult, now: number): void {
    if (result.expiresAt.getTime() <= now) return
    this.byJobId.set(result.jobId, result)
    this.expiries.push(result)
  }

  get(jobId: JobId, now: number): JobResult | undefined {
    const result = this.byJobId.get(jobId)
    return result !== undefined && result.expiresAt.getTime() > now ? result : undefined
  }

  purge(now: number): void {
    for (;;) {
      const top = this.expiries.peek()
      if (top === undefined || top.expiresAt.getTime() > now) return
      this.expiries.pop()
      if (this.byJobId.get(top.jobId) === top) this.byJobId.delete(top.jobId)
    }
  }
}
