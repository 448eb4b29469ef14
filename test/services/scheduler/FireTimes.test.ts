import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import type { ScheduleId, TaskId } from "../../../src/domain/ids.js"
import { Schedule } from "../../../src/domain/Schedule.js"
import { Task } from "../../../src/domain/Task.js"
import { AndTrigger, DateTrigger, IntervalTrigger, type Trigger } from "../../../src/domain/triggers/schema.js"
import { next } from "../../../src/domain/triggers/Trigger.js"
import {
  coalesce,
  dueFireTimes,
  jitterCapMs,
  jobsForFireTimes,
  misfireGraceSeconds,
  skipFireTimesBefore,
  startDeadline
} from "../../../src/services/scheduler/FireTimes.js"
import { at, T0 } from "./harness.js"

const minute = 60_000

/** A schedule as addSchedule stores it: the first fire time taken from the trigger. */
const scheduleOf = (trigger: Trigger, fields: Partial<ConstructorParameters<typeof Schedule>[0]> = {}) => {
  const first = next(trigger)
  if (first._tag === "Left") throw first.left
  return Schedule.make({
    id: "s" as ScheduleId,
    taskId: "t" as TaskId,
    trigger: first.right.trigger,
    nextFireTime: first.right.fireTime,
    ...fields
  })
}

const everyMinuteFrom = (startMs: number) => IntervalTrigger.make({ minutes: 1, startTime: new Date(startMs) })
const task = Task.make({ id: "t" as TaskId, handler: "h" as never, method: "m" })

describe("due fire times", () => {
  it("collects every fire time up to now and the next one after it", () => {
    // An interval of 1 minute started 3m05s ago.
    const due = dueFireTimes(scheduleOf(everyMinuteFrom(T0 - 185_000)), at(0))
    expect(due.passed).toEqual([at(-185_000), at(-125_000), at(-65_000), at(-5_000)])
    expect(due.nextFireTime).toEqual(at(55_000))
    expect(due.failure).toBeNull()
  })

  it("includes a fire time exactly at now and nothing when none is due", () => {
    expect(dueFireTimes(scheduleOf(everyMinuteFrom(T0)), at(0)).passed).toEqual([at(0)])
    const notYet = dueFireTimes(scheduleOf(everyMinuteFrom(T0 + 1)), at(0))
    expect(notYet.passed).toEqual([])
    expect(notYet.nextFireTime).toEqual(at(1))
  })

  it("ends the schedule when the trigger has no more fire times", () => {
    const due = dueFireTimes(scheduleOf(DateTrigger.make({ runTime: at(-1000) })), at(0))
    expect(due.passed).toEqual([at(-1000)])
    expect(due.nextFireTime).toBeNull()
  })

  it("ends the schedule, keeping what came due, when an and-trigger exhausts its iterations", () => {
    const never = AndTrigger.make({
      triggers: [everyMinuteFrom(T0), IntervalTrigger.make({ minutes: 1, startTime: at(30_000) })],
      threshold: 0,
      maxIterations: 5
    })
    const schedule = Schedule.make({ id: "s" as ScheduleId, taskId: "t" as TaskId, trigger: never, nextFireTime: at(0) })
    const due = dueFireTimes(schedule, at(0))
    expect(due.passed).toEqual([at(0)])
    expect(due.nextFireTime).toBeNull()
    expect(due.failure?._tag).toBe("MaxIterationsReached")
  })

  it("skips fire times before a resume instant", () => {
    const skipped = skipFireTimesBefore(scheduleOf(everyMinuteFrom(T0)), at(3 * minute + 1))
    expect(skipped.passed).toHaveLength(4)
    expect(skipped.nextFireTime).toEqual(at(4 * minute))
    // The advanced trigger continues from there.
    const after = next(skipped.trigger)
    expect(after._tag === "Right" && after.right.fireTime).toEqual(at(5 * minute))
  })
})

describe("coalescing", () => {
  const times = [at(0), at(1), at(2), at(3)]
  it("keeps all, the earliest or the latest", () => {
    expect(coalesce("all", times)).toEqual(times)
    expect(coalesce("earliest", times)).toEqual([at(0)])
    expect(coalesce("latest", times)).toEqual([at(3)])
    expect(coalesce("latest", [])).toEqual([])
  })
})

describe("jitter cap", () => {
  it("is the schedule's max jitter, strictly below the gap to the following fire time", () => {
    expect(jitterCapMs(null, at(0), at(minute))).toBe(0)
    expect(jitterCapMs(0, at(0), at(minute))).toBe(0)
    expect(jitterCapMs(10, at(0), at(minute))).toBe(10_000)
    expect(jitterCapMs(120, at(0), at(minute))).toBe(minute - 1)
    expect(jitterCapMs(120, at(0), null)).toBe(120_000)
    expect(jitterCapMs(2.5, at(0), null)).toBe(2500)
  })

  it.effect("draws each job's jitter within [0, cap] and starts it no earlier", () =>
    Effect.gen(function*() {
      const schedule = scheduleOf(everyMinuteFrom(T0), { maxJitter: 120 })
      const fireTimes = Array.from({ length: 500 }, (_, i) => at(i * minute))
      const jobs = yield* jobsForFireTimes(schedule, task, fireTimes, at(500 * minute), at(0))
      const jitters = jobs.map((job) => job.jitterMs)
      expect(Math.min(...jitters)).toBeGreaterThanOrEqual(0)
      expect(Math.max(...jitters)).toBeLessThanOrEqual(minute - 1)
      // Drawn, not constant.
      expect(new Set(jitters).size).toBeGreaterThan(100)
      jobs.forEach((job, i) => {
        expect(job.scheduledFireTime!.getTime()).toBe(fireTimes[i]!.getTime() + job.jitterMs)
        expect(job.availableAt).toEqual(job.jitterMs > 0 ? job.scheduledFireTime : null)
      })
    }))
})

describe("jobs for fire times", () => {
  it.effect("carry the schedule's arguments, deadline from misfire grace and result expiration", () =>
    Effect.gen(function*() {
      const schedule = scheduleOf(everyMinuteFrom(T0), {
        args: [1],
        kwargs: { a: 2 },
        misfireGraceTime: 5,
        jobResultExpirationTime: 30,
        metadata: { team: "ops" }
      })
      const [job] = yield* jobsForFireTimes(schedule, task, [at(0)], at(minute), at(7))
      expect(job).toMatchObject({
        taskId: "t",
        scheduleId: "s",
        args: [1],
        kwargs: { a: 2 },
        scheduledFireTime: at(0),
        jitterMs: 0,
        startDeadline: at(5000),
        resultExpirationTime: 30,
        metadata: { team: "ops" },
        createdAt: at(7),
        attempt: 1,
        availableAt: null
      })
    }))

  it("takes the misfire grace time from the schedule, else from the task", () => {
    const withOwn = scheduleOf(everyMinuteFrom(T0), { misfireGraceTime: 0 })
    const inherits = scheduleOf(everyMinuteFrom(T0))
    const strictTask = Task.make({ id: "t" as TaskId, handler: "h" as never, method: "m", misfireGraceTime: 3 })
    expect(misfireGraceSeconds(withOwn, strictTask)).toBe(0)
    expect(misfireGraceSeconds(inherits, strictTask)).toBe(3)
    expect(misfireGraceSeconds(inherits, task)).toBeNull()
    expect(startDeadline(at(0), 0)).toEqual(at(0))
    expect(startDeadline(at(0), null)).toBeNull()
  })
})
