/** Pausing and resuming publish SchedulePaused / ScheduleResumed (topics schedule.paused / schedule.resumed) on a change of state only. */
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import * as LocalRegistry from "../../../src/components/registry/Local.js"
import { IntervalTrigger } from "../../../src/domain/triggers/schema.js"
import { Scheduler } from "../../../src/services/Scheduler.js"
import { at, ofTag, recordEvents, schedulerStack, settle, T0 } from "./harness.js"

const minute = 60_000
const probe = LocalRegistry.defineLocalHandler({ id: "probe", methods: { noop: () => undefined } })

describe("pause and resume events", () => {
  it.scoped("each change of state publishes one event, besides ScheduleUpdated; a no-op publishes none", () =>
    Effect.gen(function*() {
      const scheduler = yield* Scheduler
      const events = yield* recordEvents
      yield* scheduler.configureTask({ id: "task", handler: "probe", method: "noop", maxRunningJobs: null })
      const id = yield* scheduler.addSchedule({
        taskId: "task",
        trigger: IntervalTrigger.make({ minutes: 1, startTime: new Date(T0 + minute) })
      })
      yield* scheduler.unpauseSchedule(id)
      yield* scheduler.pauseSchedule(id)
      yield* scheduler.pauseSchedule(id)
      yield* scheduler.unpauseSchedule(id)
      yield* settle
      const all = yield* events.all
      expect(ofTag(all, "SchedulePaused")).toEqual([
        expect.objectContaining({ scheduleId: id, taskId: "task", timestamp: at(0) })
      ])
      expect(ofTag(all, "ScheduleResumed")).toEqual([
        expect.objectContaining({ scheduleId: id, taskId: "task", nextFireTime: at(minute) })
      ])
      // The store still reports every write as ScheduleUpdated (the portal's schedule view relies on it).
      expect(ofTag(all, "ScheduleUpdated").length).toBeGreaterThanOrEqual(3)
    }).pipe(Effect.provide(schedulerStack([probe]))))
})
