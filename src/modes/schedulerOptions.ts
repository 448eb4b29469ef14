/** The scheduler's options from a deployment's `scheduler` section (keys left out take the scheduler's defaults). */
import type { SchedulerSection } from "../config/DeploymentConfig.js"
import type { SchedulerOptions } from "../services/scheduler/SchedulerOptions.js"

export const schedulerOptionsOf = (section: SchedulerSection): SchedulerOptions => ({
  ...(section.id !== undefined && { id: section.id }),
  ...(section.maxConcurrentJobs !== undefined && { maxConcurrentJobs: section.maxConcurrentJobs }),
  ...(section.scheduleBatchSize !== undefined && { scheduleBatchSize: section.scheduleBatchSize }),
  ...(section.jobBatchSize !== undefined && { jobBatchSize: section.jobBatchSize }),
  ...(section.releaseBatchSize !== undefined && { releaseBatchSize: section.releaseBatchSize }),
  ...(section.leaseDuration !== undefined && { leaseDuration: section.leaseDuration }),
  ...(section.stopGracePeriod !== undefined && { stopGracePeriod: section.stopGracePeriod }),
  ...(section.cleanupInterval !== undefined && { cleanupInterval: section.cleanupInterval })
})
