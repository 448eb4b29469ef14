import { describe, expect, it } from "@effect/vitest"
import { Effect, Fiber, Layer, Option, Stream, TestClock } from "effect"
import * as LocalRegistry from "../../../src/components/registry/Local.js"
import type { JobId, TaskId } from "../../../src/domain/ids.js"
import { DateTrigger, IntervalTrigger } from "../../../src/domain/triggers/schema.js"
import { DataStore } from "../../../src/services/DataStore.js"
import { Scheduler } from "../../../src/services/Scheduler.js"
import * as SchedulerLive from "../../../src/services/scheduler/layer.js"
import { at, countOf, infrastructure, ofTag, recordEvents, schedulerStack, settle } from "./harness.js"

const probe = LocalRegistry.defineLocalHandler({
  id: "probe",
  methods: {
    add: ({ args }) => (args as ReadonlyArray<number>).reduce((a, b) => a + b, 0),
    fail: () => {
      throw new TypeError("bad input")
    },
    slow: ({ kwargs }) => Effect.as(Effect.sleep(`${kwargs.seconds as number} seconds`), "slept")
  }
})

const provide = Effect.provide(schedulerStack([probe]))

const withTasks = Effect.flatMap(Scheduler, (scheduler) =>
  Effect.all([
    scheduler.configureTask({ id: "add", handler: "probe", method: "add", maxRunningJobs: null }),
    scheduler.configureTask({ id: "fail", handler: "probe", method: "fail" }),
    scheduler.configureTask({ id: "slow", handler: "probe", method: "slow", maxRunningJobs: null })
  ]))

describe("Scheduler API", () => {
  describe("configureTask", () => {
    it.scoped("checks the handler and method exist", () =>
      Effect.gen(function*() {
        const scheduler = yield* Scheduler
        const noHandler = yield* Effect.flip(scheduler.configureTask({ id: "t", handler: "ghost", method: "add" }))
        expect(noHandler._tag).toBe("HandlerNotFound")
        const noMethod = yield* Effect.flip(scheduler.configureTask({ id: "t", handler: "probe", method: "ghost" }))
        expect(noMethod._tag).toBe("MethodNotFound")
        expect(yield* scheduler.getTasks()).toEqual([])
      }).pipe(provide))

    it.scoped("rejects invalid fields with a ParseError naming them", () =>
      Effect.gen(function*() {
        const scheduler = yield* Scheduler
        const error = yield* Effect.flip(
          scheduler.configureTask({ id: "t", handler: "probe", method: "add", maxRunningJobs: 0 })
        )
        expect(error._tag).toBe("ParseError")
        expect(error.message).toContain("maxRunningJobs")
      }).pipe(provide))

    it.scoped("creates with defaults, then updates only the fields given", () =>
      Effect.gen(function*() {
        const scheduler = yield* Scheduler
        const events = yield* recordEvents
        const created = yield* scheduler.configureTask({ id: "t", handler: "probe", method: "add" })
        expect(created).toMatchObject({
          maxRunningJobs: 1,
          misfireGraceTime: null,
          timeoutMs: null,
          retry: { maxAttempts: 1, backoffBaseMs: 1000, backoffCapMs: 60_000, jitter: true }
        })
        yield* scheduler.configureTask({
          id: "t",
          handler: "probe",
          method: "add",
          maxRunningJobs: 4,
          timeoutMs: 2000,
          retry: { maxAttempts: 3 }
        })
        const updated = yield* scheduler.configureTask({ id: "t", handler: "probe", method: "add", misfireGraceTime: 5 })
        expect(updated).toMatchObject({
          maxRunningJobs: 4,
          misfireGraceTime: 5,
          timeoutMs: 2000,
          retry: { maxAttempts: 3, backoffBaseMs: 1000 }
        })
        expect(yield* scheduler.getTask("t" as TaskId)).toEqual(updated)
        const seen = yield* events.waitFor(countOf("TaskUpdated", 2))
        expect(ofTag(seen, "TaskAdded")).toHaveLength(1)
      }).pipe(provide))
  })

  describe("addSchedule", () => {
    it.scoped("needs an existing task and a trigger with a fire time", () =>
      Effect.gen(function*() {
        const scheduler = yield* Scheduler
        yield* withTasks
        const trigger = IntervalTrigger.make({ minutes: 1, startTime: at(60_000) })
        expect((yield* Effect.flip(scheduler.addSchedule({ taskId: "ghost", trigger })))._tag).toBe("TaskNotFound")
        const spent = DateTrigger.make({ runTime: at(0), completed: true })
        const invalid = yield* Effect.flip(scheduler.addSchedule({ taskId: "add", trigger: spent }))
        expect(invalid).toMatchObject({ _tag: "InvalidTrigger", field: "trigger" })
        const negative = yield* Effect.flip(scheduler.addSchedule({ taskId: "add", trigger, misfireGraceTime: -1 }))
        expect(negative._tag).toBe("ParseError")
        expect(negative.message).toContain("misfireGraceTime")
        const blankId = yield* Effect.flip(scheduler.addSchedule({ id: " ", taskId: "add", trigger }))
        expect(blankId._tag).toBe("ParseError")
        expect(yield* scheduler.getSchedules()).toEqual([])
      }).pipe(provide))

    it.scoped("stores the first fire time and generates an id when none is given", () =>
      Effect.gen(function*() {
        const scheduler = yield* Scheduler
        yield* withTasks
        const id = yield* scheduler.addSchedule({
          taskId: "add",
          trigger: IntervalTrigger.make({ minutes: 1, startTime: at(60_000) }),
          args: [1, 2],
          metadata: { owner: "ops" }
        })
        expect(id).toMatch(/^[0-9a-f-]{36}$/)
        const schedule = yield* scheduler.getSchedule(id)
        expect(schedule).toMatchObject({
          taskId: "add",
          args: [1, 2],
          coalesce: "latest",
          paused: false,
          nextFireTime: at(60_000),
          metadata: { owner: "ops" }
        })
        expect(yield* scheduler.nextFireTime()).toEqual(Option.some(at(60_000)))
        yield* scheduler.removeSchedule(id)
        expect((yield* Effect.flip(scheduler.removeSchedule(id)))._tag).toBe("ScheduleNotFound")
        expect(yield* scheduler.nextFireTime()).toEqual(Option.none())
      }).pipe(provide))
  })

  describe("runJob", () => {
    it.scoped("waits for the job and returns its result", () =>
      Effect.gen(function*() {
        const scheduler = yield* Scheduler
        yield* withTasks
        const result = yield* scheduler.runJob({ taskId: "add", args: [1, 2, 3] })
        expect(result).toMatchObject({ outcome: "success", returnValue: 6, attempt: 1, error: null })
        // The result is kept so it can be read again.
        expect(yield* scheduler.getJobResult(result.jobId)).toEqual(result)
        const failed = yield* scheduler.runJob({ taskId: "fail" })
        expect(failed).toMatchObject({ outcome: "error", error: { tag: "TypeError", message: "bad input" } })
      }).pipe(provide))

    it.scoped("waits as long as the job runs, without polling", () =>
      Effect.gen(function*() {
        const scheduler = yield* Scheduler
        yield* withTasks
        const running = yield* Effect.fork(scheduler.runJob({ taskId: "slow", kwargs: { seconds: 30 } }))
        yield* settle
        yield* TestClock.adjust("29 seconds")
        yield* settle
        expect(Option.isNone(yield* Fiber.poll(running))).toBe(true)
        yield* TestClock.adjust("1 second")
        const result = yield* Fiber.join(running)
        expect(result).toMatchObject({ outcome: "success", returnValue: "slept", startedAt: at(0), finishedAt: at(30_000) })
      }).pipe(provide))

    it.scoped("fails with TaskNotFound for an unknown task", () =>
      Effect.gen(function*() {
        const scheduler = yield* Scheduler
        expect((yield* Effect.flip(scheduler.runJob({ taskId: "ghost" })))._tag).toBe("TaskNotFound")
      }).pipe(provide))
  })

  describe("getJobResult", () => {
    it.scoped("reports a job without a result yet, an unknown job, and waits when asked", () =>
      Effect.gen(function*() {
        const scheduler = yield* Scheduler
        yield* withTasks
        const jobId = yield* scheduler.addJob({ taskId: "slow", kwargs: { seconds: 10 }, resultExpirationTime: 60 })
        expect((yield* Effect.flip(scheduler.getJobResult(jobId)))._tag).toBe("JobResultNotReady")
        const unknown = crypto.randomUUID() as JobId
        expect((yield* Effect.flip(scheduler.getJobResult(unknown)))._tag).toBe("JobNotFound")
        expect((yield* Effect.flip(scheduler.getJobResult(unknown, { wait: "5 seconds" })))._tag).toBe("JobNotFound")
        // A wait shorter than the job gives up with JobResultNotReady.
        const tooShort = yield* Effect.fork(scheduler.getJobResult(jobId, { wait: "4 seconds" }))
        yield* settle
        yield* TestClock.adjust("4 seconds")
        expect((yield* Effect.flip(Fiber.join(tooShort)))._tag).toBe("JobResultNotReady")
        const waiting = yield* Effect.fork(scheduler.getJobResult(jobId, { wait: "1 minute" }))
        yield* settle
        yield* TestClock.adjust("6 seconds")
        const result = yield* Fiber.join(waiting)
        expect(result).toMatchObject({ jobId, outcome: "success", finishedAt: at(10_000), expiresAt: at(70_000) })
      }).pipe(provide))

    it.scoped("addJobs queues jobs together, returns their ids in order and runs them all", () =>
      Effect.gen(function*() {
        const scheduler = yield* Scheduler
        const events = yield* recordEvents
        yield* withTasks
        const ids = yield* scheduler.addJobs([1, 2, 3].map((n) => ({ taskId: "add", args: [n, 10], resultExpirationTime: 60 })))
        expect(ids).toHaveLength(3)
        expect(new Set(ids).size).toBe(3)
        yield* events.waitFor(countOf("JobReleased", 3))
        const values = yield* Effect.forEach(ids, (id) => Effect.map(scheduler.getJobResult(id), (r) => r.returnValue))
        expect(values).toEqual([11, 12, 13])
        expect(yield* scheduler.addJobs([])).toEqual([])
      }).pipe(provide))

    it.scoped("addJobs adds none when one input names an unknown task or has an invalid field", () =>
      Effect.gen(function*() {
        const scheduler = yield* Scheduler
        yield* withTasks
        const unknown = yield* Effect.flip(scheduler.addJobs([{ taskId: "add" }, { taskId: "ghost" }]))
        expect(unknown._tag).toBe("TaskNotFound")
        const invalid = yield* Effect.flip(
          scheduler.addJobs([{ taskId: "add" }, { taskId: "add", args: "1" as never }])
        )
        expect(invalid._tag).toBe("ParseError")
        expect(invalid.message).toContain("args")
        expect(yield* (yield* DataStore).getJobs()).toEqual([])
      }).pipe(provide))

    it.scoped("results expire after the job's result expiration time and cleanup removes them", () =>
      Effect.gen(function*() {
        const scheduler = yield* Scheduler
        const events = yield* recordEvents
        yield* withTasks
        const kept = yield* scheduler.addJob({ taskId: "add", args: [1], resultExpirationTime: 30 })
        const dropped = yield* scheduler.addJob({ taskId: "add", args: [2] })
        yield* events.waitFor(countOf("JobReleased", 2))
        expect((yield* scheduler.getJobResult(kept)).returnValue).toBe(1)
        expect((yield* Effect.flip(scheduler.getJobResult(dropped)))._tag).toBe("JobNotFound")
        yield* TestClock.adjust("31 seconds")
        yield* scheduler.cleanup()
        expect((yield* Effect.flip(scheduler.getJobResult(kept)))._tag).toBe("JobNotFound")
      }).pipe(provide))
  })

  it.scoped("publishes events in order: started, task, schedule, job lifecycle, stopped", () =>
    Effect.gen(function*() {
      const events = yield* recordEvents
      const context = yield* Layer.build(SchedulerLive.layer({ id: "ordered" }))
      const scheduler = yield* Effect.provide(Scheduler, context)
      yield* scheduler.configureTask({ id: "add", handler: "probe", method: "add" })
      const scheduleId = yield* scheduler.addSchedule({ taskId: "add", trigger: DateTrigger.make({ runTime: at(0) }) })
      const seen = yield* events.waitFor(countOf("JobReleased", 1))
      const jobId = ofTag(seen, "JobAdded")[0]!.jobId
      expect(seen.map((event) => event._tag)).toEqual([
        "SchedulerStarted",
        "TaskAdded",
        "ScheduleAdded",
        "ScheduleRemoved",
        "JobAdded",
        "JobAcquired",
        "JobReleased"
      ])
      expect(seen[0]).toMatchObject({ schedulerId: "ordered", timestamp: at(0) })
      expect(ofTag(seen, "ScheduleRemoved")[0]).toMatchObject({ scheduleId, finished: true })
      expect(ofTag(seen, "JobAcquired")[0]).toMatchObject({ jobId, schedulerId: "ordered", attempt: 1 })
    }).pipe(Effect.provide(infrastructure([probe]))))

  it.scoped("subscribe filters the event stream", () =>
    Effect.gen(function*() {
      const scheduler = yield* Scheduler
      const stream = yield* scheduler.subscribe((event) => event._tag === "JobReleased")
      yield* withTasks
      yield* scheduler.addJob({ taskId: "add", args: [5] })
      const released = yield* Stream.runHead(stream)
      expect(Option.getOrThrow(released)).toMatchObject({ _tag: "JobReleased", outcome: "success" })
    }).pipe(provide))

  it.scoped("state follows the lifecycle and runJob refuses once stopped", () =>
    Effect.gen(function*() {
      const events = yield* recordEvents
      const built = yield* Effect.scoped(
        Effect.gen(function*() {
          const context = yield* Layer.build(SchedulerLive.layer())
          const scheduler = yield* Effect.provide(Scheduler, context)
          expect(yield* scheduler.state).toBe("running")
          return scheduler
        })
      )
      expect(yield* built.state).toBe("stopped")
      const refused = yield* Effect.flip(built.runJob({ taskId: "add" }))
      expect(refused).toMatchObject({ _tag: "SchedulerNotRunning", state: "stopped" })
      const seen = yield* events.waitFor(countOf("SchedulerStopped", 1))
      expect(seen.map((event) => event._tag)).toEqual(["SchedulerStarted", "SchedulerStopped"])
    }).pipe(Effect.provide(infrastructure([probe]))))
})
