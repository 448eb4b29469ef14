/**
 * Which events from other schedulers wake this scheduler's job loop (each wake-up
 * costs the loop a store round): not a job another scheduler acquired as it was
 * added, nor another scheduler's release that retries nothing of a task known to
 * have no maxRunningJobs.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import * as LocalRegistry from "../../../src/components/registry/Local.js"
import { JobAcquired, JobAdded, JobReleased } from "../../../src/domain/events.js"
import { JobId, SchedulerId, TaskId } from "../../../src/domain/ids.js"
import { EventBroker } from "../../../src/services/EventBroker.js"
import { Scheduler } from "../../../src/services/Scheduler.js"
import * as SchedulerLive from "../../../src/services/scheduler/layer.js"
import { at, clockAtT0, countedMemoryStore, countOf, recordEvents, settle } from "./harness.js"

const probe = LocalRegistry.defineLocalHandler({ id: "probe", methods: { run: () => null } })
const other = SchedulerId.make("other")
const jobId = (n: number) => JobId.make(`00000000-0000-4000-8000-${n.toString(16).padStart(12, "0")}`)

/** A scheduler on the memory store, whose job loop's store rounds are counted. */
const counted = () => {
  const { layer: store, rounds } = countedMemoryStore()
  const layer = SchedulerLive.layer({ id: "me" }).pipe(
    Layer.provideMerge(
      Layer.mergeAll(
        store,
        LocalRegistry.layer([probe])
      ).pipe(Layer.provide(clockAtT0))
    )
  )
  return { rounds, layer }
}

/** Publishes `events` as one batch, lets the loops run, and tells how many acquisitions that caused. */
const roundsAfter = (rounds: { acquire: number }, events: Parameters<EventBroker["Type"]["publishAll"]>[0]) =>
  Effect.gen(function*() {
    const before = rounds.acquire
    yield* Effect.flatMap(EventBroker, (broker) => broker.publishAll(events))
    yield* settle
    return rounds.acquire - before
  })

const added = (n: number) =>
  new JobAdded({ timestamp: at(0), jobId: jobId(n), taskId: TaskId.make("free"), scheduleId: null })

const released = (taskId: string, willRetry: boolean) =>
  new JobReleased({
    timestamp: at(0),
    jobId: jobId(99),
    taskId: TaskId.make(taskId),
    scheduleId: null,
    schedulerId: other,
    attempt: 1,
    outcome: willRetry ? "error" : "success",
    willRetry,
    scheduledFireTime: null,
    startedAt: at(0),
    finishedAt: at(0),
    error: null
  })

describe("job loop wake-ups from other schedulers' events", () => {
  it.scoped("a job added already acquired by another scheduler does not wake the job loop; one added free does", () => {
    const { layer, rounds } = counted()
    return Effect.gen(function*() {
      yield* settle
      const acquiredWith = new JobAcquired({
        timestamp: at(0),
        jobId: jobId(1),
        taskId: TaskId.make("free"),
        scheduleId: null,
        schedulerId: other,
        attempt: 1
      })
      expect(yield* roundsAfter(rounds, [added(1), acquiredWith])).toBe(0)
      expect(yield* roundsAfter(rounds, [added(2)])).toBe(1)
    }).pipe(Effect.provide(layer))
  })

  it.scoped("another scheduler's release wakes the job loop only for a retry or a task not known to be unlimited", () => {
    const { layer, rounds } = counted()
    return Effect.gen(function*() {
      const scheduler = yield* Scheduler
      const events = yield* recordEvents
      // Running one of its jobs makes the task known (the job loop looks it up).
      yield* scheduler.configureTask({ id: "free", handler: "probe", method: "run", maxRunningJobs: null })
      yield* scheduler.addJob({ taskId: "free" })
      yield* events.waitFor(countOf("JobReleased", 1))
      yield* settle
      expect(yield* roundsAfter(rounds, [released("free", false)])).toBe(0)
      expect(yield* roundsAfter(rounds, [released("free", true)])).toBe(1)
      expect(yield* roundsAfter(rounds, [released("unknown", false)])).toBe(1)
      // Changed, the task is no longer known to be unlimited.
      yield* scheduler.configureTask({ id: "free", handler: "probe", method: "run", maxRunningJobs: 1 })
      yield* settle
      expect(yield* roundsAfter(rounds, [released("free", false)])).toBe(1)
    }).pipe(Effect.provide(layer))
  })
})
