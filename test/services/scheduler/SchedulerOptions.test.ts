import { describe, expect, it } from "@effect/vitest"
import { hostname } from "node:os"
import { Duration } from "effect"
import { resolveSchedulerOptions } from "../../../src/services/scheduler/SchedulerOptions.js"

describe("scheduler options", () => {
  it("fills in the documented defaults", () => {
    const options = resolveSchedulerOptions()
    expect(options.id.startsWith(`${hostname()}-${process.pid}-`)).toBe(true)
    expect(options).toMatchObject({ maxConcurrentJobs: 100, scheduleBatchSize: 100, jobBatchSize: 1000 })
    expect(Duration.toMillis(options.leaseDuration)).toBe(30_000)
    expect(Duration.toMillis(options.leaseExtensionInterval)).toBe(10_000)
    expect(Duration.toMillis(options.stopGracePeriod)).toBe(10_000)
    expect(Duration.toMillis(options.cleanupInterval!)).toBe(15 * 60_000)
    // Each instance gets its own id.
    expect(resolveSchedulerOptions().id).not.toBe(options.id)
  })

  it("takes what is given and refuses unusable values by name", () => {
    const options = resolveSchedulerOptions({ id: " edge-1 ", maxConcurrentJobs: 4, leaseDuration: "9 seconds", cleanupInterval: null })
    expect(options.id).toBe("edge-1")
    expect(options.maxConcurrentJobs).toBe(4)
    expect(Duration.toMillis(options.leaseExtensionInterval)).toBe(3000)
    expect(options.cleanupInterval).toBeNull()
    expect(() => resolveSchedulerOptions({ maxConcurrentJobs: 0 })).toThrow("maxConcurrentJobs")
    expect(() => resolveSchedulerOptions({ jobBatchSize: 1.5 })).toThrow("jobBatchSize")
    expect(() => resolveSchedulerOptions({ leaseDuration: 0 })).toThrow("leaseDuration")
  })
})
