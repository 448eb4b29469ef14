/**
 * Which events another process acts on at once, as opposed to those it only
 * records or shows. A broker that pays for every message it sends to other
 * processes (postgres: a NOTIFY that each of them receives and decodes) sends
 * the first kind within milliseconds and may hold the second back a while, to
 * send more together: a cluster's stream of fire times publishes four events a
 * job, none of which another scheduler acts on.
 */
import type { SchedulerEvent } from "../../domain/events.js"
import type { JobId } from "../../domain/ids.js"

/**
 * How long a broker may hold back events no other process acts on at once. Short enough
 * for a portal's live view.
 */
export const heldBackMs = 50

/**
 * A schedule's new next fire time that another scheduler may have to wake for: one later
 * than this from now reaches it in time to lease it ahead (ScheduleLoop's prepareLeadMs, 100 ms)
 * even when held back. A number, not an import of the scheduler's: the broker's chunk would share
 * the scheduler's code, one chunk more for every start to load (a test keeps them in step).
 */
export const wakeHorizonMs = 250

/**
 * Whether another process acts on one of `events` (published together) at once: wakes a
 * schedule loop (a next fire time soon) or a job loop (a job added that nobody acquired with
 * it, a retry), cancels a run, forgets a cached task, sees a handler or scheduler come or go.
 * Jobs acquired, ends of attempts without a retry (their scheduler wakes its own loop) and
 * next fire times further away only inform: a caller in another process waiting for a job's
 * result (runJob, a result wait) hears of its end up to heldBackMs later, as does a scheduler
 * waiting for a slot of a task with maxRunningJobs that another scheduler freed.
 */
export const actedOnAtOnce = (events: ReadonlyArray<SchedulerEvent>, nowMs: number): boolean => {
  let acquired: Set<JobId> | undefined
  for (const event of events) {
    switch (event._tag) {
      case "JobAcquired":
        continue
      case "JobReleased":
        if (event.willRetry) return true
        continue
      case "ScheduleUpdated":
        if (event.nextFireTime !== null && event.nextFireTime.getTime() < nowMs + wakeHorizonMs) return true
        continue
      case "JobAdded":
        acquired ??= new Set(events.flatMap((e) => (e._tag === "JobAcquired" ? [e.jobId] : [])))
        if (!acquired.has(event.jobId)) return true
        continue
      default:
        return true
    }
  }
  return false
}
