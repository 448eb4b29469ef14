/**
 * The per-job events every store publishes (memory, sqlite, postgres), built
 * with instanceOf instead of their Schema constructors (see
 * domain/instances.ts): a store makes two or three per job, from fields that
 * come from validated models.
 */
import { JobAcquired, JobAdded } from "../../domain/events.js"
import type { SchedulerId } from "../../domain/ids.js"
import { instanceOf } from "../../domain/instances.js"
import type { Job } from "../../domain/Job.js"

export const jobAdded = (job: Job, timestamp: Date): JobAdded =>
  instanceOf(JobAdded, { _tag: "JobAdded", timestamp, jobId: job.id, taskId: job.taskId, scheduleId: job.scheduleId })

export const jobAcquired = (job: Job, schedulerId: SchedulerId, timestamp: Date): JobAcquired =>
  instanceOf(JobAcquired, {
    _tag: "JobAcquired",
    timestamp,
    jobId: job.id,
    taskId: job.taskId,
    scheduleId: job.scheduleId,
    schedulerId,
    attempt: job.attempt
  })
