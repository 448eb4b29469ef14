import { describe, expect, it } from "@effect/vitest"
import { Clock, Duration, Effect, Either, Layer, Option, TestClock } from "effect"
import * as LocalBroker from "../../../src/components/broker/Local.js"
import * as MemoryStore from "../../../src/components/datastore/Memory.js"
import * as LocalRegistry from "../../../src/components/registry/Local.js"
import type { CoalescePolicy } from "../../../src/domain/Coalesce.js"
import type { HandlerId, ScheduleId, SchedulerId, TaskId } from "../../../src/domain/ids.js"
import { Schedule } from "../../../src/domain/Schedule.js"
import { Task } from "../../../src/domain/Task.js"
import { DateTrigger, IntervalTrigger } from "../../../src/domain/triggers/schema.js"
import { next } from "../../../src/domain/triggers/Trigger.js"
import { DataStore } from "../../../src/services/DataStore.js"
import { Scheduler } from "../../../src/services/Scheduler.js"
import * as SchedulerLive from "../../../src/services/scheduler/layer.js"
import { prepareLeadMs, streaming } from "../../../src/services/scheduler/ScheduleLoop.js"
import { at, clockAtT0, countOf, infrastructure, ofTag, recordEvents, schedulerStack, settle, T0 } from "./harness.js"

const minute = 60_000
const probe = LocalRegistry.defineLocalHandler({
  id: "probe",
  methods: { noop: () => undefined, echo: ({ args }) => args[0] }
})

const everyMinuteFrom = (startMs: number) => IntervalTrigger.make({ minutes: 1, startTime: new Date(startMs) })

const withTask = Effect.flatMap(Scheduler, (scheduler) =>
  scheduler.configureTask({ id: "task", handler: "probe", method: "noop", maxRunningJobs: null }))

const provide = Effect.provide(schedulerStack([probe]))

/** Task "task" and a schedule of it every minute from `startMs`, written to the store directly. */
const storeEveryMinute = (id: string, startMs: number) =>
  Effect.gen(function*() {
    const store = yield* DataStore
    yield* store.addTask(Task.make({ id: "task" as TaskId, handler: "probe" as HandlerId, method: "noop" }))
    const first = Either.getOrThrow(next(everyMinuteFrom(startMs)))
    yield* store.addSchedule(
      Schedule.make({
        id: id as ScheduleId,
        taskId: "task" as TaskId,
        trigger: first.trigger,
        nextFireTime: first.fireTime
      }),
      "exception"
    )
  })

describe("schedule loop", () => {
  const coalesceCase = (policy: CoalescePolicy, jobs: number, fireTimes: ReadonlyArray<number>) =>
    it.scoped(`coalesce ${policy}: an interval of 1 minute started 3m05s ago gives ${jobs} job(s)`, () =>
      Effect.gen(function*() {
        const scheduler = yield* Scheduler
        const events = yield* recordEvents
        yield* withTask
        const id = yield* scheduler.addSchedule({
          id: "every-minute",
          taskId: "task",
          trigger: everyMinuteFrom(T0 - 185_000),
          coalesce: policy
        })
        const seen = yield* events.waitFor(countOf("JobReleased", jobs))
        const added = ofTag(seen, "JobAdded")
        expect(added).toHaveLength(jobs)
        expect(added.every((event) => event.scheduleId === id)).toBe(true)
        const released = ofTag(seen, "JobReleased")
        expect(released.map((event) => event.scheduledFireTime)).toEqual(fireTimes.map(at))
        expect(released.every((event) => event.outcome === "success")).toBe(true)
        const schedule = yield* scheduler.getSchedule(id)
        expect(schedule.nextFireTime).toEqual(at(55_000))
        expect(schedule.lastFireTime).toEqual(at(fireTimes[fireTimes.length - 1]!))
        expect(yield* scheduler.nextFireTime()).toEqual(Option.some(at(55_000)))
        expect(ofTag(yield* events.all, "JobAdded")).toHaveLength(jobs)
        // The next job comes exactly 55 s later, woken by the clock, not by polling.
        yield* TestClock.adjust(55_000 - 1)
        yield* settle
        expect(ofTag(yield* events.all, "JobAdded")).toHaveLength(jobs)
        yield* TestClock.adjust(1)
        const later = yield* events.waitFor(countOf("JobReleased", jobs + 1))
        expect(ofTag(later, "JobReleased")[jobs]!.scheduledFireTime).toEqual(at(55_000))
      }).pipe(provide))

  coalesceCase("all", 4, [-185_000, -125_000, -65_000, -5_000])
  coalesceCase("earliest", 1, [-185_000])
  coalesceCase("latest", 1, [-5_000])

  it.scoped("misfire grace time 0: a late job is released as missed_start_deadline, unrun", () =>
    Effect.gen(function*() {
      const scheduler = yield* Scheduler
      const events = yield* recordEvents
      yield* withTask
      const id = yield* scheduler.addSchedule({
        taskId: "task",
        trigger: everyMinuteFrom(T0 - 185_000),
        misfireGraceTime: 0,
        jobResultExpirationTime: 60
      })
      const seen = yield* events.waitFor(countOf("JobReleased", 1))
      const [released] = ofTag(seen, "JobReleased")
      expect(released).toMatchObject({ scheduleId: id, outcome: "missed_start_deadline", startedAt: null })
      expect(ofTag(seen, "JobAcquired")).toHaveLength(0)
      const result = yield* scheduler.getJobResult(released!.jobId)
      expect(result.outcome).toBe("missed_start_deadline")
      // A job due exactly now still starts with no grace.
      yield* TestClock.adjust(55_000)
      const onTime = yield* events.waitFor(countOf("JobReleased", 2))
      expect(ofTag(onTime, "JobReleased")[1]!.outcome).toBe("success")
    }).pipe(provide))

  it.scoped("the task's misfire grace time applies when the schedule has none", () =>
    Effect.gen(function*() {
      const scheduler = yield* Scheduler
      const events = yield* recordEvents
      yield* scheduler.configureTask({ id: "strict", handler: "probe", method: "noop", misfireGraceTime: 1 })
      yield* scheduler.addSchedule({ taskId: "strict", trigger: everyMinuteFrom(T0 - 5_000) })
      const [released] = ofTag(yield* events.waitFor(countOf("JobReleased", 1)), "JobReleased")
      expect(released!.outcome).toBe("missed_start_deadline")
    }).pipe(provide))

  it.scoped("jitter delays a job's start within max_jitter", () =>
    Effect.gen(function*() {
      const scheduler = yield* Scheduler
      const events = yield* recordEvents
      yield* withTask
      yield* scheduler.addSchedule({ taskId: "task", trigger: everyMinuteFrom(T0), maxJitter: 20 })
      const [added] = ofTag(yield* events.waitFor(countOf("JobAdded", 1)), "JobAdded")
      const [job] = yield* Effect.flatMap(DataStore, (store) => store.getJobs([added!.jobId]))
      const jitter = job!.jitterMs
      expect(jitter).toBeGreaterThanOrEqual(0)
      expect(jitter).toBeLessThanOrEqual(20_000)
      expect(job!.scheduledFireTime).toEqual(at(jitter))
      if (jitter > 0) {
        yield* TestClock.adjust(jitter - 1)
        yield* settle
        expect(ofTag(yield* events.all, "JobAcquired")).toHaveLength(0)
        yield* TestClock.adjust(1)
      }
      const [released] = ofTag(yield* events.waitFor(countOf("JobReleased", 1)), "JobReleased")
      expect(released!.startedAt).toEqual(at(jitter))
    }).pipe(provide))

  it.scoped("one batch mixing plain schedules with ones that log or draw jitter: each gets its own release", () =>
    Effect.gen(function*() {
      const scheduler = yield* Scheduler
      const store = yield* DataStore
      const events = yield* recordEvents
      yield* withTask
      yield* scheduler.configureTask({ id: "doomed", handler: "probe", method: "noop" })
      const trigger = everyMinuteFrom(T0 + minute)
      const schedules = [
        ["p1", "task", null],
        ["jittered", "task", 20],
        ["orphan", "doomed", null],
        ["p2", "task", null]
      ] as const
      for (const [id, taskId, maxJitter] of schedules) {
        yield* scheduler.addSchedule({ id, taskId, trigger, maxJitter })
      }
      yield* store.removeTask("doomed" as TaskId)
      yield* TestClock.adjust(minute)
      // Published with the release, whatever it holds.
      const seen = yield* events.waitFor(countOf("ScheduleUpdated", 4))
      expect(ofTag(seen, "JobAdded").map((event) => event.scheduleId).sort()).toEqual(["jittered", "p1", "p2"])
      // The orphan moved past its fire time like the others, without a job.
      for (const id of ["p1", "jittered", "orphan", "p2"]) {
        const schedule = yield* scheduler.getSchedule(id as ScheduleId)
        expect([id, schedule.nextFireTime, schedule.lastFireTime]).toEqual([id, at(2 * minute), at(minute)])
      }
    }).pipe(provide))

  it.scoped("a schedule added for later fires at its time; a finished one is removed", () =>
    Effect.gen(function*() {
      const scheduler = yield* Scheduler
      const events = yield* recordEvents
      yield* withTask
      yield* scheduler.addSchedule({ id: "once", taskId: "task", trigger: DateTrigger.make({ runTime: at(3_600_000) }) })
      yield* TestClock.adjust(3_600_000 - 1)
      yield* settle
      expect(ofTag(yield* events.all, "JobAdded")).toHaveLength(0)
      yield* TestClock.adjust(1)
      const seen = yield* events.waitFor(countOf("JobReleased", 1))
      expect(ofTag(seen, "JobReleased")[0]!.startedAt).toEqual(at(3_600_000))
      expect(ofTag(seen, "ScheduleRemoved")).toMatchObject([{ scheduleId: "once", finished: true }])
      expect((yield* Effect.flip(scheduler.getSchedule("once" as ScheduleId)))._tag).toBe("ScheduleNotFound")
    }).pipe(provide))

  describe("pause and unpause", () => {
    const pausedFromT0 = Effect.gen(function*() {
      const scheduler = yield* Scheduler
      yield* withTask
      const id = yield* scheduler.addSchedule({
        taskId: "task",
        trigger: everyMinuteFrom(T0 + minute),
        coalesce: "all",
        paused: true
      })
      yield* TestClock.adjust(5 * minute + 5_000)
      yield* settle
      return id
    })

    it.scoped("a paused schedule makes no jobs; resuming from now skips the missed fire times", () =>
      Effect.gen(function*() {
        const scheduler = yield* Scheduler
        const events = yield* recordEvents
        const id = yield* pausedFromT0
        expect(ofTag(yield* events.all, "JobAdded")).toHaveLength(0)
        expect(yield* scheduler.nextFireTime()).toEqual(Option.none())
        const resumed = yield* scheduler.unpauseSchedule(id)
        expect(resumed.paused).toBe(false)
        expect(resumed.nextFireTime).toEqual(at(6 * minute))
        yield* settle
        expect(ofTag(yield* events.all, "JobAdded")).toHaveLength(0)
        yield* TestClock.adjust(55_000)
        const seen = yield* events.waitFor(countOf("JobReleased", 1))
        expect(ofTag(seen, "JobReleased")[0]!.scheduledFireTime).toEqual(at(6 * minute))
      }).pipe(provide))

    it.scoped("resume_from an instant keeps the fire times from then on", () =>
      Effect.gen(function*() {
        const scheduler = yield* Scheduler
        const events = yield* recordEvents
        const id = yield* pausedFromT0
        const resumed = yield* scheduler.unpauseSchedule(id, { resumeFrom: at(3 * minute + 30_000) })
        expect(resumed.nextFireTime).toEqual(at(4 * minute))
        const seen = yield* events.waitFor(countOf("JobReleased", 2))
        expect(ofTag(seen, "JobReleased").map((event) => event.scheduledFireTime)).toEqual([
          at(4 * minute),
          at(5 * minute)
        ])
      }).pipe(provide))

    it.scoped("resume_from none keeps every missed fire time", () =>
      Effect.gen(function*() {
        const scheduler = yield* Scheduler
        const events = yield* recordEvents
        const id = yield* pausedFromT0
        const resumed = yield* scheduler.unpauseSchedule(id, { resumeFrom: "none" })
        expect(resumed.nextFireTime).toEqual(at(minute))
        const seen = yield* events.waitFor(countOf("JobReleased", 5))
        expect(ofTag(seen, "JobReleased")).toHaveLength(5)
      }).pipe(provide))

    it.scoped("pausing stops a running schedule and unpausing an active one changes nothing", () =>
      Effect.gen(function*() {
        const scheduler = yield* Scheduler
        const events = yield* recordEvents
        yield* withTask
        const id = yield* scheduler.addSchedule({ taskId: "task", trigger: everyMinuteFrom(T0 + minute) })
        expect(yield* scheduler.unpauseSchedule(id)).toMatchObject({ paused: false, nextFireTime: at(minute) })
        expect((yield* scheduler.pauseSchedule(id)).paused).toBe(true)
        yield* TestClock.adjust(2 * minute)
        yield* settle
        expect(ofTag(yield* events.all, "JobAdded")).toHaveLength(0)
        expect((yield* Effect.flip(scheduler.pauseSchedule("nope" as ScheduleId)))._tag).toBe("ScheduleNotFound")
      }).pipe(provide))
  })

  describe("conflict policies", () => {
    const add = (args: ReadonlyArray<unknown>, conflictPolicy?: "replace" | "do_nothing" | "exception") =>
      Effect.flatMap(Scheduler, (scheduler) =>
        scheduler.addSchedule({
          id: "nightly",
          taskId: "task",
          trigger: everyMinuteFrom(T0 + minute),
          args,
          ...(conflictPolicy === undefined ? {} : { conflictPolicy })
        }))

    it.scoped("exception (the default) refuses a taken id", () =>
      Effect.gen(function*() {
        yield* withTask
        yield* add([1])
        const error = yield* Effect.flip(add([2]))
        expect(error._tag).toBe("ConflictingId")
        expect(error.message).toBe("schedule id 'nightly' is already in use")
        expect((yield* Effect.flip(add([2], "exception")))._tag).toBe("ConflictingId")
        expect((yield* Effect.flatMap(Scheduler, (s) => s.getSchedule("nightly" as ScheduleId))).args).toEqual([1])
      }).pipe(provide))

    it.scoped("do_nothing keeps the stored schedule; replace overwrites it", () =>
      Effect.gen(function*() {
        const scheduler = yield* Scheduler
        yield* withTask
        yield* add([1])
        expect(yield* add([2], "do_nothing")).toBe("nightly")
        expect((yield* scheduler.getSchedule("nightly" as ScheduleId)).args).toEqual([1])
        yield* add([3], "replace")
        expect((yield* scheduler.getSchedule("nightly" as ScheduleId)).args).toEqual([3])
        expect(yield* scheduler.getSchedules()).toHaveLength(1)
      }).pipe(provide))
  })

  it.scoped("a second scheduler reclaims a schedule whose lease expired", () =>
    Effect.gen(function*() {
      const store = yield* DataStore
      const events = yield* recordEvents
      yield* storeEveryMinute("orphan", T0)
      // Another scheduler leased the schedule, then died without releasing it.
      expect(yield* store.acquireSchedules("dead" as SchedulerId, Duration.seconds(30), 10)).toHaveLength(1)
      yield* Layer.build(SchedulerLive.layer({ id: "survivor" }))
      yield* TestClock.adjust(30_000 - 1)
      yield* settle
      expect(ofTag(yield* events.all, "JobAdded")).toHaveLength(0)
      yield* TestClock.adjust(1)
      const [released] = ofTag(yield* events.waitFor(countOf("JobReleased", 1)), "JobReleased")
      expect(released).toMatchObject({
        scheduleId: "orphan",
        schedulerId: "survivor",
        outcome: "success",
        scheduledFireTime: at(0),
        startedAt: at(30_000)
      })
      const schedule = yield* store.getSchedule("orphan" as ScheduleId)
      expect(schedule).toMatchObject({ acquiredBy: null, nextFireTime: at(minute) })
    }).pipe(Effect.provide(infrastructure([probe]))))

  describe("leased ahead of the fire time (a store with acquireSchedulesDueBy)", () => {
    const lead = prepareLeadMs
    const provideAhead = Effect.provide(schedulerStack([probe], { id: "ahead" }))
    const leaseOf = (id: string) =>
      Effect.map(Effect.flatMap(DataStore, (store) => store.getSchedule(id as ScheduleId)), (s) => s.acquiredBy)
    const once = (id: string, atMs: number) =>
      Effect.flatMap(Scheduler, (scheduler) =>
        scheduler.addSchedule({ id, taskId: "task", trigger: DateTrigger.make({ runTime: at(atMs) }) }))

    it.scoped("a schedule is leased shortly before its fire time; its job is added at that time, not before", () =>
      Effect.gen(function*() {
        const events = yield* recordEvents
        yield* withTask
        yield* once("soon", minute)
        yield* TestClock.adjust(minute - lead - 1)
        yield* settle
        expect(yield* leaseOf("soon")).toBeNull()
        yield* TestClock.adjust(1)
        yield* settle
        expect(yield* leaseOf("soon")).toBe("ahead")
        yield* TestClock.adjust(lead - 1)
        yield* settle
        expect(ofTag(yield* events.all, "JobAdded")).toHaveLength(0)
        yield* TestClock.adjust(1)
        const seen = yield* events.waitFor(countOf("JobReleased", 1))
        expect(ofTag(seen, "JobAdded")).toMatchObject([{ scheduleId: "soon", timestamp: at(minute) }])
        expect(ofTag(seen, "JobReleased")).toMatchObject([{ startedAt: at(minute), scheduledFireTime: at(minute) }])
      }).pipe(provideAhead))

    it.scoped("a schedule paused or removed while leased ahead makes no job; the others fire", () =>
      Effect.gen(function*() {
        const scheduler = yield* Scheduler
        const events = yield* recordEvents
        yield* withTask
        const trigger = everyMinuteFrom(T0 + minute)
        for (const id of ["kept", "paused", "removed"]) yield* scheduler.addSchedule({ id, taskId: "task", trigger })
        yield* TestClock.adjust(minute - lead / 2)
        yield* settle
        expect(yield* leaseOf("paused")).toBe("ahead")
        yield* scheduler.pauseSchedule("paused" as ScheduleId)
        yield* scheduler.removeSchedule("removed" as ScheduleId)
        yield* TestClock.adjust(lead / 2)
        const seen = yield* events.waitFor(countOf("JobReleased", 1))
        expect(ofTag(seen, "JobAdded").map((event) => event.scheduleId)).toEqual(["kept"])
        expect(yield* scheduler.getSchedule("paused" as ScheduleId)).toMatchObject({
          paused: true,
          acquiredBy: null,
          nextFireTime: at(minute),
          lastFireTime: null
        })
        expect(yield* scheduler.getSchedule("kept" as ScheduleId)).toMatchObject({
          acquiredBy: null,
          nextFireTime: at(2 * minute)
        })
      }).pipe(provideAhead))

    it.scoped("a schedule due within the lead fires at its own time, before the prepared ones", () =>
      Effect.gen(function*() {
        const events = yield* recordEvents
        yield* withTask
        yield* once("later", minute)
        yield* TestClock.adjust(minute - lead + 10)
        yield* settle
        expect(yield* leaseOf("later")).toBe("ahead")
        yield* once("sooner", minute - 40)
        yield* TestClock.adjust(lead - 50)
        const [sooner] = ofTag(yield* events.waitFor(countOf("JobReleased", 1)), "JobReleased")
        expect(sooner).toMatchObject({ scheduleId: "sooner", startedAt: at(minute - 40) })
        yield* TestClock.adjust(40)
        const released = ofTag(yield* events.waitFor(countOf("JobReleased", 2)), "JobReleased")
        expect(released[1]).toMatchObject({ scheduleId: "later", startedAt: at(minute) })
      }).pipe(provideAhead))

    it.scoped("acquireSchedulesDueBy leaves out the scheduler's own leases, even once they are due", () =>
      Effect.gen(function*() {
        const store = yield* DataStore
        for (const id of ["a", "b", "c"]) yield* storeEveryMinute(id, T0)
        const take = Effect.map(
          store.acquireSchedulesDueBy!("preparer" as SchedulerId, Duration.seconds(30), 2, at(0)),
          (taken) => taken.map((schedule) => schedule.id)
        )
        // The clock is at their fire time: a preparation that ran late still takes each once.
        expect(yield* take).toEqual(["a", "b"])
        expect(yield* take).toEqual(["c"])
        expect(yield* take).toEqual([])
      }).pipe(Effect.provide(infrastructure([probe]))))

    it.scoped("a scheduler stopped while holding schedules leased ahead gives them back unchanged", () =>
      Effect.gen(function*() {
        const store = yield* DataStore
        const events = yield* recordEvents
        yield* storeEveryMinute("held", T0 + minute)
        yield* Effect.scoped(Effect.gen(function*() {
          yield* Layer.build(SchedulerLive.layer({ id: "stopping" }))
          yield* TestClock.adjust(minute - lead / 2)
          yield* settle
          expect(yield* leaseOf("held")).toBe("stopping")
        }))
        expect(yield* store.getSchedule("held" as ScheduleId)).toMatchObject({
          acquiredBy: null,
          nextFireTime: at(minute),
          lastFireTime: null
        })
        expect(ofTag(yield* events.all, "JobAdded")).toHaveLength(0)
      }).pipe(Effect.provide(infrastructure([probe]))))
  })
})

describe("released ahead of the fire time (a store that sets releaseAheadMs)", () => {
  const aheadMs = 20
  // The memory store as a round-tripping store (postgres) presents itself.
  const releasingAhead = Layer.effect(
    DataStore,
    Effect.map(DataStore, (store) => ({ ...store, releaseAheadMs: aheadMs, streamPaceMs: 10 }))
  ).pipe(Layer.provideMerge(MemoryStore.layer), Layer.provideMerge(LocalBroker.layer))
  const provideAhead = Effect.provide(
    SchedulerLive.layer({ id: "ahead" }).pipe(
      Layer.provideMerge(Layer.mergeAll(releasingAhead, LocalRegistry.layer([probe])).pipe(Layer.provide(clockAtT0)))
    )
  )
  const startedAt: Array<number> = []
  const timed = LocalRegistry.defineLocalHandler({
    id: "timed",
    methods: { record: () => Effect.map(Clock.currentTimeMillis, (nowMs) => void startedAt.push(nowMs)) }
  })
  const provideTimed = Effect.provide(
    SchedulerLive.layer({ id: "ahead" }).pipe(
      Layer.provideMerge(Layer.mergeAll(releasingAhead, LocalRegistry.layer([timed])).pipe(Layer.provide(clockAtT0)))
    )
  )
  const everyMinute = (id: string) =>
    Effect.flatMap(Scheduler, (scheduler) => scheduler.addSchedule({ id, taskId: "task", trigger: everyMinuteFrom(T0 + minute) }))

  it.scoped("the schedule is released within releaseAheadMs before its fire time, its job available from that time", () =>
    Effect.gen(function*() {
      const store = yield* DataStore
      const events = yield* recordEvents
      yield* withTask
      yield* everyMinute("ahead")
      yield* TestClock.adjust(minute - aheadMs - 1)
      yield* settle
      expect(ofTag(yield* events.all, "JobAdded")).toHaveLength(0)
      expect(yield* store.getSchedule("ahead" as ScheduleId)).toMatchObject({ nextFireTime: at(minute), lastFireTime: null })
      yield* TestClock.adjust(1)
      const [added] = ofTag(yield* events.waitFor(countOf("JobAdded", 1)), "JobAdded")
      expect(added).toMatchObject({ scheduleId: "ahead", timestamp: at(minute - aheadMs) })
      expect(yield* store.getSchedule("ahead" as ScheduleId)).toMatchObject({
        acquiredBy: null,
        nextFireTime: at(2 * minute),
        lastFireTime: at(minute)
      })
      const [job] = yield* store.getJobs([added!.jobId])
      expect(job).toMatchObject({ scheduledFireTime: at(minute), availableAt: at(minute) })
    }).pipe(provideAhead))

  it.scoped("a job released ahead starts at its fire time, not before", () =>
    Effect.gen(function*() {
      startedAt.length = 0
      const scheduler = yield* Scheduler
      const events = yield* recordEvents
      yield* scheduler.configureTask({ id: "task", handler: "timed", method: "record", maxRunningJobs: null })
      yield* everyMinute("ahead")
      yield* TestClock.adjust(minute - aheadMs)
      yield* events.waitFor(countOf("JobAdded", 1))
      yield* TestClock.adjust(aheadMs - 1)
      yield* settle
      expect(ofTag(yield* events.all, "JobAcquired")).toHaveLength(0)
      expect(startedAt).toEqual([])
      yield* TestClock.adjust(1)
      const [released] = ofTag(yield* events.waitFor(countOf("JobReleased", 1)), "JobReleased")
      expect(released).toMatchObject({ outcome: "success", startedAt: at(minute), scheduledFireTime: at(minute) })
      expect(startedAt).toEqual([T0 + minute])
    }).pipe(provideTimed))

  it.scoped("a schedule paused before the release moment makes no job; one paused after it still fires this time", () =>
    Effect.gen(function*() {
      const scheduler = yield* Scheduler
      const events = yield* recordEvents
      yield* withTask
      yield* everyMinute("early")
      yield* everyMinute("late")
      yield* TestClock.adjust(minute - aheadMs - 1)
      yield* settle
      yield* scheduler.pauseSchedule("early" as ScheduleId)
      yield* TestClock.adjust(1)
      yield* events.waitFor(countOf("JobAdded", 1))
      // Released already: the pause applies from the following fire time (DataStore.releaseAheadMs).
      yield* scheduler.pauseSchedule("late" as ScheduleId)
      yield* TestClock.adjust(aheadMs)
      const seen = yield* events.waitFor(countOf("JobReleased", 1))
      expect(ofTag(seen, "JobAdded").map((event) => event.scheduleId)).toEqual(["late"])
      expect(yield* scheduler.getSchedule("early" as ScheduleId)).toMatchObject({
        paused: true,
        acquiredBy: null,
        nextFireTime: at(minute),
        lastFireTime: null
      })
      yield* TestClock.adjust(2 * minute)
      yield* settle
      expect(ofTag(yield* events.all, "JobAdded")).toHaveLength(1)
    }).pipe(provideAhead))
})

describe("a stream of fire times (with a store that sets streamPaceMs, the loop leases again after it without asking for the next fire time)", () => {
  const batch = (count: number, firstFireMs: number, lastFireMs: number) => ({ count, lookedAtMs: 1_000, firstFireMs, lastFireMs })

  it("fire times a millisecond apart: another one fell due while a batch of a few milliseconds was processed", () => {
    expect(streaming(batch(10, 980, 990), 1_002)).toBe(true)
  })

  it("processed faster than the stream brings the next: the next fire time is asked for", () => {
    expect(streaming(batch(2, 900, 1_000), 1_010)).toBe(false)
  })

  it("a burst (one fire time), a single schedule or an empty batch says nothing of what follows", () => {
    expect(streaming(batch(500, 1_000, 1_000), 1_050)).toBe(false)
    expect(streaming(batch(1, 990, 990), 1_050)).toBe(false)
    expect(streaming(batch(0, 0, 0), 1_050)).toBe(false)
  })
})
