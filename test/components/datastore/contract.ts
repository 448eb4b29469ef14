/**
 * The DataStore contract: one suite every store (memory, sqlite, postgres)
 * runs unchanged.
 *
 * Each test builds `layer` afresh (a file-backed store should create its
 * database inside the layer, e.g. in a scoped temporary directory), so tests
 * never see each other's rows. Time is TestClock time: every test starts at
 * the epoch and moves the clock with TestClock.adjust.
 *
 * Rules pinned down here beyond the comments in src/services/DataStore.ts:
 * - a lease holds while now < acquiredUntil;
 * - a job whose lease expired is never handed out again as the same attempt:
 *   acquireJobs and cleanup first end that attempt as "abandoned" (error tag
 *   JobAbandoned) and retry it per the task's policy or finish it;
 * - a release (schedule or job) is accepted while acquiredBy is still the
 *   releasing scheduler, even past its lease; once another scheduler took
 *   over, or the row was removed or replaced, it is dropped;
 * - a schedule release takes trigger, nextFireTime and lastFireTime from the
 *   scheduler and keeps every other field as stored (a pause made meanwhile
 *   survives);
 * - getNextScheduleRunTime counts a schedule leased to someone at its lease
 *   expiry, so an idle scheduler does not spin on a past fire time;
 * - the start deadline bounds a job's first attempt only;
 * - results are kept while now < expiresAt.
 */
import { describe, expect, it } from "@effect/vitest"
import { Chunk, Duration, Effect, type Layer, Option, Schema, type Scope, Stream, TestClock, TestServices } from "effect"
import { type JobAdded, type JobReleased, SchedulerEvent, SchedulerStopped } from "../../../src/domain/events.js"
import { HandlerId, JobId, ScheduleId, SchedulerId, TaskId } from "../../../src/domain/ids.js"
import { Job } from "../../../src/domain/Job.js"
import { JobError, JobResult } from "../../../src/domain/JobResult.js"
import { Schedule } from "../../../src/domain/Schedule.js"
import { RetryPolicy, Task } from "../../../src/domain/Task.js"
import { IntervalTrigger } from "../../../src/domain/triggers/schema.js"
import { DataStore, type JobRelease, type ScheduleRelease } from "../../../src/services/DataStore.js"
import { EventBroker } from "../../../src/services/EventBroker.js"

// ---------------------------------------------------------------------------
// fixtures

export const taskId = TaskId.make("task")
export const otherTaskId = TaskId.make("other-task")
export const schedulerA = SchedulerId.make("scheduler-a")
export const schedulerB = SchedulerId.make("scheduler-b")
const lease = Duration.seconds(30)
const leaseMs = 30_000

export const makeTask = (fields: Partial<ConstructorParameters<typeof Task>[0]> = {}): Task =>
  Task.make({ id: taskId, handler: HandlerId.make("handler"), method: "run", maxRunningJobs: null, ...fields })

export const makeSchedule = (
  id: string,
  nextFireTime: number | null,
  fields: Partial<ConstructorParameters<typeof Schedule>[0]> = {}
): Schedule =>
  Schedule.make({
    id: ScheduleId.make(id),
    taskId,
    trigger: IntervalTrigger.make({ minutes: 1, startTime: new Date(0) }),
    nextFireTime: nextFireTime === null ? null : new Date(nextFireTime),
    ...fields
  })

let jobCounter = 0
/** A job with a fresh UUID, created at `createdAt` ms. */
export const makeJob = (createdAt: number, fields: Partial<ConstructorParameters<typeof Job>[0]> = {}): Job =>
  Job.make({
    id: JobId.make(`00000000-0000-4000-8000-${(++jobCounter).toString(16).padStart(12, "0")}`),
    taskId,
    createdAt: new Date(createdAt),
    ...fields
  })

export const makeResult = (
  job: Job,
  outcome: JobResult["outcome"],
  finishedAt: number,
  expiresAt: number,
  fields: Partial<ConstructorParameters<typeof JobResult>[0]> = {}
): JobResult =>
  JobResult.make({
    jobId: job.id,
    taskId: job.taskId,
    outcome,
    attempt: job.attempt,
    startedAt: job.startedAt,
    finishedAt: new Date(finishedAt),
    expiresAt: new Date(expiresAt),
    ...fields
  })

const finished = (job: Job, result: JobResult): JobRelease => ({ _tag: "Finished", job, result })

const ids = (items: ReadonlyArray<{ readonly id: string }>) => items.map((item) => item.id)

const millis = (date: Option.Option<Date>) => Option.map(date, (d) => d.getTime())

// ---------------------------------------------------------------------------
// events

let markerCounter = 0

/**
 * Subscribes now; `take` returns the events published since the last `take`.
 * It publishes a marker event and reads up to it, so "no events" is checked
 * exactly, even on brokers that deliver asynchronously.
 */
const recordEvents = Effect.gen(function* () {
  const broker = yield* EventBroker
  const stream = yield* broker.subscribe()
  const take = Effect.gen(function* () {
    const marker = SchedulerId.make(`marker-${++markerCounter}`)
    yield* broker.publish(new SchedulerStopped({ timestamp: new Date(0), schedulerId: marker }))
    const isMarker = (event: SchedulerEvent) => event._tag === "SchedulerStopped" && event.schedulerId === marker
    const events = yield* stream.pipe(
      Stream.takeUntil(isMarker),
      Stream.runCollect,
      Effect.timeoutFail({ duration: "5 seconds", onTimeout: () => new Error("marker event never arrived") }),
      TestServices.provideLive,
      Effect.orDie
    )
    return Chunk.toReadonlyArray(events).filter((event) => !isMarker(event))
  })
  return { take }
})

const tags = (events: ReadonlyArray<SchedulerEvent>) => events.map((event) => event._tag)

const released = (events: ReadonlyArray<SchedulerEvent>): Array<JobReleased> =>
  events.filter((event): event is JobReleased => event._tag === "JobReleased")

// ---------------------------------------------------------------------------
// common setups

/** Adds schedule `id`, due at the epoch, and leases it to scheduler A; returns it as leased. */
const leasedSchedule = (id = "s") =>
  Effect.gen(function* () {
    const store = yield* DataStore
    yield* store.addSchedule(makeSchedule(id, 0), "exception")
    const [leased] = yield* store.acquireSchedules(schedulerA, lease, 10)
    return leased!
  })

/** What a scheduler hands back after processing `schedule`: its changed fields and the jobs it made. */
const releaseOf = (
  schedule: Schedule,
  fields: Partial<ConstructorParameters<typeof Schedule>[0]>,
  jobs: ReadonlyArray<Job> = []
): ScheduleRelease => ({ schedule: Schedule.make({ ...schedule, ...fields }), jobs })

/** Stores `task` (default: unlimited, no retries) and one job, and leases the job to scheduler A; returns it as leased. */
const leasedJob = (jobFields: Partial<ConstructorParameters<typeof Job>[0]> = {}, task: Task = makeTask()) =>
  Effect.gen(function* () {
    const store = yield* DataStore
    yield* store.addTask(task)
    yield* store.addJob(makeJob(0, jobFields))
    const [leased] = yield* store.acquireJobs(schedulerA, lease, 10)
    return leased!
  })

// ---------------------------------------------------------------------------
// the suite

export const dataStoreContract = <E>(name: string, layer: Layer.Layer<DataStore | EventBroker, E>): void => {
  const test = (title: string, body: Effect.Effect<void, unknown, DataStore | EventBroker | Scope.Scope>) =>
    it.scoped(title, () => Effect.provide(body, layer))

  describe(`${name} DataStore contract`, () => {
    describe("tasks", () => {
      test(
        "addTask inserts then replaces, getTasks lists by id, removeTask deletes; each publishes",
        Effect.gen(function* () {
          const store = yield* DataStore
          const events = yield* recordEvents
          yield* store.addTask(makeTask({ id: TaskId.make("b") }))
          yield* store.addTask(makeTask({ id: TaskId.make("a") }))
          yield* store.addTask(makeTask({ id: TaskId.make("b"), maxRunningJobs: 3 }))
          expect((yield* store.getTask(TaskId.make("b"))).maxRunningJobs).toBe(3)
          expect(ids(yield* store.getTasks())).toEqual(["a", "b"])
          yield* store.removeTask(TaskId.make("a"))
          expect(ids(yield* store.getTasks())).toEqual(["b"])
          expect(tags(yield* events.take)).toEqual(["TaskAdded", "TaskAdded", "TaskUpdated", "TaskRemoved"])
        })
      )

      test(
        "getTask and removeTask of an unknown id fail with TaskNotFound",
        Effect.gen(function* () {
          const store = yield* DataStore
          const got = yield* Effect.flip(store.getTask(TaskId.make("nope")))
          expect(got._tag).toBe("TaskNotFound")
          expect(got.taskId).toBe("nope")
          expect((yield* Effect.flip(store.removeTask(TaskId.make("nope"))))._tag).toBe("TaskNotFound")
        })
      )

      test(
        "a task keeps every field through the store",
        Effect.gen(function* () {
          const store = yield* DataStore
          const task = makeTask({
            maxRunningJobs: 4,
            misfireGraceTime: 2.5,
            retry: RetryPolicy.make({ maxAttempts: 3, backoffBaseMs: 10, backoffCapMs: 100, jitter: false }),
            timeoutMs: 1234,
            metadata: { owner: "ops", tags: ["a", 1] }
          })
          yield* store.addTask(task)
          expect(yield* store.getTask(taskId)).toEqual(task)
        })
      )
    })

    describe("schedules", () => {
      test(
        "addSchedule stores the schedule; getSchedules orders by id and leaves out unknown ids",
        Effect.gen(function* () {
          const store = yield* DataStore
          const events = yield* recordEvents
          const b = makeSchedule("b", 5_000, { args: [1, "x"], kwargs: { k: true }, metadata: { m: 1 } })
          yield* store.addSchedule(b, "exception")
          yield* store.addSchedule(makeSchedule("a", 1_000), "exception")
          expect(yield* store.getSchedule(ScheduleId.make("b"))).toEqual(b)
          expect(ids(yield* store.getSchedules())).toEqual(["a", "b"])
          expect(ids(yield* store.getSchedules([ScheduleId.make("b"), ScheduleId.make("zz")]))).toEqual(["b"])
          const added = yield* events.take
          expect(tags(added)).toEqual(["ScheduleAdded", "ScheduleAdded"])
          expect(added[0]).toMatchObject({ scheduleId: "b", taskId, nextFireTime: new Date(5_000) })
        })
      )

      test(
        "conflict policy exception fails with ConflictingId and keeps the stored schedule",
        Effect.gen(function* () {
          const store = yield* DataStore
          yield* store.addSchedule(makeSchedule("s", 1_000), "exception")
          const events = yield* recordEvents
          const error = yield* Effect.flip(store.addSchedule(makeSchedule("s", 9_000), "exception"))
          expect(error).toMatchObject({ _tag: "ConflictingId", kind: "schedule", id: "s" })
          expect((yield* store.getSchedule(ScheduleId.make("s"))).nextFireTime).toEqual(new Date(1_000))
          expect(yield* events.take).toEqual([])
        })
      )

      test(
        "conflict policy do_nothing keeps the stored schedule silently",
        Effect.gen(function* () {
          const store = yield* DataStore
          yield* store.addSchedule(makeSchedule("s", 1_000), "exception")
          const events = yield* recordEvents
          yield* store.addSchedule(makeSchedule("s", 9_000), "do_nothing")
          expect((yield* store.getSchedule(ScheduleId.make("s"))).nextFireTime).toEqual(new Date(1_000))
          expect(yield* events.take).toEqual([])
        })
      )

      test(
        "conflict policy replace overwrites the schedule and publishes ScheduleUpdated",
        Effect.gen(function* () {
          const store = yield* DataStore
          yield* store.addSchedule(makeSchedule("s", 1_000), "exception")
          const events = yield* recordEvents
          yield* store.addSchedule(makeSchedule("s", 9_000, { paused: true }), "replace")
          const stored = yield* store.getSchedule(ScheduleId.make("s"))
          expect(stored.nextFireTime).toEqual(new Date(9_000))
          expect(stored.paused).toBe(true)
          expect(tags(yield* events.take)).toEqual(["ScheduleUpdated"])
        })
      )

      test(
        "getSchedule and updateSchedule of an unknown id fail with ScheduleNotFound",
        Effect.gen(function* () {
          const store = yield* DataStore
          const missing = ScheduleId.make("missing")
          expect(yield* Effect.flip(store.getSchedule(missing))).toMatchObject({
            _tag: "ScheduleNotFound",
            scheduleId: "missing"
          })
          expect((yield* Effect.flip(store.updateSchedule(missing, (s) => s)))._tag).toBe("ScheduleNotFound")
        })
      )

      test(
        "updateSchedule applies the change, keeps the lease fields as stored and publishes ScheduleUpdated",
        Effect.gen(function* () {
          const store = yield* DataStore
          const acquired = yield* leasedSchedule()
          const events = yield* recordEvents
          const updated = yield* store.updateSchedule(
            ScheduleId.make("s"),
            (s) => Schedule.make({ ...s, paused: true, metadata: { note: "x" }, acquiredBy: null, acquiredUntil: null })
          )
          expect(updated.paused).toBe(true)
          expect(updated.acquiredBy).toBe(schedulerA)
          expect(updated.acquiredUntil).toEqual(acquired.acquiredUntil)
          expect(yield* store.getSchedule(ScheduleId.make("s"))).toEqual(updated)
          const published = yield* events.take
          expect(tags(published)).toEqual(["ScheduleUpdated"])
          // Another scheduler still cannot take the schedule: the lease survived the update.
          yield* store.updateSchedule(ScheduleId.make("s"), (s) => Schedule.make({ ...s, paused: false }))
          expect(yield* store.acquireSchedules(schedulerB, lease, 10)).toEqual([])
        })
      )

      test(
        "removeSchedules removes the known ids, returns them and publishes ScheduleRemoved (not finished)",
        Effect.gen(function* () {
          const store = yield* DataStore
          yield* store.addSchedule(makeSchedule("a", 0), "exception")
          yield* store.addSchedule(makeSchedule("b", 0), "exception")
          const events = yield* recordEvents
          const removed = yield* store.removeSchedules([ScheduleId.make("a"), ScheduleId.make("unknown")])
          expect(removed).toEqual(["a"])
          expect(ids(yield* store.getSchedules())).toEqual(["b"])
          const published = yield* events.take
          expect(published).toHaveLength(1)
          expect(published[0]).toMatchObject({ _tag: "ScheduleRemoved", scheduleId: "a", finished: false })
        })
      )

      test(
        "acquireSchedules leases due unpaused schedules, earliest first, up to the limit",
        Effect.gen(function* () {
          const store = yield* DataStore
          yield* TestClock.adjust(Duration.seconds(10))
          yield* store.addSchedule(makeSchedule("late", 9_000), "exception")
          yield* store.addSchedule(makeSchedule("early", 1_000), "exception")
          yield* store.addSchedule(makeSchedule("middle", 5_000), "exception")
          yield* store.addSchedule(makeSchedule("now", 10_000), "exception")
          yield* store.addSchedule(makeSchedule("future", 10_001), "exception")
          yield* store.addSchedule(makeSchedule("paused", 0, { paused: true }), "exception")
          yield* store.addSchedule(makeSchedule("finished", null), "exception")
          const first = yield* store.acquireSchedules(schedulerA, lease, 2)
          expect(ids(first)).toEqual(["early", "middle"])
          for (const schedule of first) {
            expect(schedule.acquiredBy).toBe(schedulerA)
            expect(schedule.acquiredUntil).toEqual(new Date(10_000 + leaseMs))
          }
          expect((yield* store.getSchedule(ScheduleId.make("early"))).acquiredBy).toBe(schedulerA)
          expect(ids(yield* store.acquireSchedules(schedulerB, lease, 10))).toEqual(["late", "now"])
          expect(yield* store.acquireSchedules(SchedulerId.make("scheduler-c"), lease, 10)).toEqual([])
        })
      )

      test(
        "a leased schedule is not acquired by another scheduler until the lease expires",
        Effect.gen(function* () {
          const store = yield* DataStore
          expect((yield* leasedSchedule()).acquiredBy).toBe(schedulerA)
          yield* TestClock.adjust(leaseMs - 1)
          expect(yield* store.acquireSchedules(schedulerB, lease, 10)).toEqual([])
          yield* TestClock.adjust(2)
          const taken = yield* store.acquireSchedules(schedulerB, lease, 10)
          expect(ids(taken)).toEqual(["s"])
          expect(taken[0]!.acquiredBy).toBe(schedulerB)
          expect(taken[0]!.acquiredUntil).toEqual(new Date(leaseMs + 1 + leaseMs))
        })
      )

      test(
        "a scheduler acquires again the due schedules it already holds (e.g. after a restart with the same id)",
        Effect.gen(function* () {
          const store = yield* DataStore
          yield* leasedSchedule()
          yield* TestClock.adjust(1_000)
          const again = yield* store.acquireSchedules(schedulerA, lease, 10)
          expect(ids(again)).toEqual(["s"])
          expect(again[0]!.acquiredUntil).toEqual(new Date(1_000 + leaseMs))
        })
      )

      test(
        "extendScheduleLeases extends only the caller's leases",
        Effect.gen(function* () {
          const store = yield* DataStore
          yield* leasedSchedule()
          yield* TestClock.adjust(20_000)
          yield* store.extendScheduleLeases(schedulerB, [ScheduleId.make("s")], lease)
          expect((yield* store.getSchedule(ScheduleId.make("s"))).acquiredUntil).toEqual(new Date(leaseMs))
          yield* store.extendScheduleLeases(schedulerA, [ScheduleId.make("s"), ScheduleId.make("unknown")], lease)
          expect((yield* store.getSchedule(ScheduleId.make("s"))).acquiredUntil).toEqual(new Date(20_000 + leaseMs))
          // Past the original expiry the lease still holds.
          yield* TestClock.adjust(20_000)
          expect(yield* store.acquireSchedules(schedulerB, lease, 10)).toEqual([])
        })
      )

      test(
        "releaseSchedules stores the advanced schedule, clears the lease, adds its jobs and publishes",
        Effect.gen(function* () {
          const store = yield* DataStore
          const acquired = yield* leasedSchedule()
          const events = yield* recordEvents
          const trigger = IntervalTrigger.make({ minutes: 1, startTime: new Date(0), lastFireTime: new Date(0) })
          const job = makeJob(0, { scheduleId: ScheduleId.make("s"), scheduledFireTime: new Date(0) })
          yield* store.releaseSchedules(schedulerA, [
            releaseOf(acquired, { trigger, nextFireTime: new Date(60_000), lastFireTime: new Date(0) }, [job])
          ])
          const stored = yield* store.getSchedule(ScheduleId.make("s"))
          expect(stored.trigger).toEqual(trigger)
          expect(stored.nextFireTime).toEqual(new Date(60_000))
          expect(stored.lastFireTime).toEqual(new Date(0))
          expect(stored.acquiredBy).toBeNull()
          expect(stored.acquiredUntil).toBeNull()
          expect(ids(yield* store.getJobs())).toEqual([job.id])
          const published = yield* events.take
          expect(tags(published)).toEqual(["ScheduleUpdated", "JobAdded"])
          expect(published[0]).toMatchObject({ scheduleId: "s", nextFireTime: new Date(60_000) })
          expect(published[1]).toMatchObject({ jobId: job.id, taskId, scheduleId: "s" })
          // Free again: due once its next fire time comes, for any scheduler.
          expect(yield* store.acquireSchedules(schedulerB, lease, 10)).toEqual([])
          yield* TestClock.adjust(60_000)
          expect(ids(yield* store.acquireSchedules(schedulerB, lease, 10))).toEqual(["s"])
        })
      )

      test(
        "a release with no next fire time removes the schedule as finished and still adds its jobs",
        Effect.gen(function* () {
          const store = yield* DataStore
          const acquired = yield* leasedSchedule()
          const events = yield* recordEvents
          const job = makeJob(0, { scheduleId: ScheduleId.make("s") })
          yield* store.releaseSchedules(schedulerA, [
            releaseOf(acquired, { nextFireTime: null, lastFireTime: new Date(0) }, [job])
          ])
          expect(yield* store.getSchedules()).toEqual([])
          expect(ids(yield* store.getJobs())).toEqual([job.id])
          const published = yield* events.take
          expect(tags(published)).toEqual(["ScheduleRemoved", "JobAdded"])
          expect(published[0]).toMatchObject({ scheduleId: "s", finished: true })
        })
      )

      test(
        "a release from a scheduler whose lease was taken over is dropped with its jobs",
        Effect.gen(function* () {
          const store = yield* DataStore
          const byA = yield* leasedSchedule()
          yield* TestClock.adjust(leaseMs + 1)
          const [byB] = yield* store.acquireSchedules(schedulerB, lease, 10)
          const events = yield* recordEvents
          yield* store.releaseSchedules(schedulerA, [releaseOf(byA, { nextFireTime: new Date(60_000) }, [makeJob(0)])])
          expect(yield* store.getSchedule(ScheduleId.make("s"))).toEqual(byB)
          expect(yield* store.getJobs()).toEqual([])
          expect(yield* events.take).toEqual([])
        })
      )

      test(
        "a release past the lease is still accepted while no other scheduler took the schedule",
        Effect.gen(function* () {
          const store = yield* DataStore
          const byA = yield* leasedSchedule()
          yield* TestClock.adjust(leaseMs + 1)
          yield* store.releaseSchedules(schedulerA, [releaseOf(byA, { nextFireTime: new Date(60_000) }, [makeJob(0)])])
          const stored = yield* store.getSchedule(ScheduleId.make("s"))
          expect(stored).toMatchObject({ nextFireTime: new Date(60_000), acquiredBy: null, acquiredUntil: null })
          expect(yield* store.getJobs()).toHaveLength(1)
        })
      )

      test(
        "a release for a schedule removed meanwhile is dropped with its jobs",
        Effect.gen(function* () {
          const store = yield* DataStore
          const byA = yield* leasedSchedule()
          yield* store.removeSchedules([ScheduleId.make("s")])
          const events = yield* recordEvents
          yield* store.releaseSchedules(schedulerA, [releaseOf(byA, { nextFireTime: new Date(60_000) }, [makeJob(0)])])
          expect(yield* store.getSchedules()).toEqual([])
          expect(yield* store.getJobs()).toEqual([])
          expect(yield* events.take).toEqual([])
        })
      )

      test(
        "a release after the schedule was replaced is dropped: the replacement is kept",
        Effect.gen(function* () {
          const store = yield* DataStore
          const byA = yield* leasedSchedule()
          const replacement = makeSchedule("s", 5_000, { metadata: { v: 2 } })
          yield* store.addSchedule(replacement, "replace")
          yield* store.releaseSchedules(schedulerA, [releaseOf(byA, { nextFireTime: new Date(60_000) }, [makeJob(0)])])
          expect(yield* store.getSchedule(ScheduleId.make("s"))).toEqual(replacement)
          expect(yield* store.getJobs()).toEqual([])
        })
      )

      test(
        "a pause made while the schedule was leased survives its release",
        Effect.gen(function* () {
          const store = yield* DataStore
          const byA = yield* leasedSchedule()
          yield* store.updateSchedule(ScheduleId.make("s"), (s) => Schedule.make({ ...s, paused: true }))
          yield* store.releaseSchedules(schedulerA, [releaseOf(byA, { nextFireTime: new Date(60_000) })])
          const stored = yield* store.getSchedule(ScheduleId.make("s"))
          expect(stored.paused).toBe(true)
          expect(stored.nextFireTime).toEqual(new Date(60_000))
          expect(stored.acquiredBy).toBeNull()
        })
      )

      test(
        "getNextScheduleRunTime is the earliest next fire time among unpaused schedules",
        Effect.gen(function* () {
          const store = yield* DataStore
          expect(yield* store.getNextScheduleRunTime()).toEqual(Option.none())
          yield* store.addSchedule(makeSchedule("paused", 1_000, { paused: true }), "exception")
          yield* store.addSchedule(makeSchedule("finished", null), "exception")
          expect(yield* store.getNextScheduleRunTime()).toEqual(Option.none())
          yield* store.addSchedule(makeSchedule("later", 9_000), "exception")
          yield* store.addSchedule(makeSchedule("sooner", 4_000), "exception")
          expect(millis(yield* store.getNextScheduleRunTime())).toEqual(Option.some(4_000))
          yield* store.updateSchedule(ScheduleId.make("sooner"), (s) => Schedule.make({ ...s, paused: true }))
          expect(millis(yield* store.getNextScheduleRunTime())).toEqual(Option.some(9_000))
          yield* store.updateSchedule(ScheduleId.make("paused"), (s) => Schedule.make({ ...s, paused: false }))
          expect(millis(yield* store.getNextScheduleRunTime())).toEqual(Option.some(1_000))
          yield* store.removeSchedules([ScheduleId.make("paused")])
          expect(millis(yield* store.getNextScheduleRunTime())).toEqual(Option.some(9_000))
        })
      )

      test(
        "a schedule another scheduler holds counts at its lease expiry, so nobody waits on a past fire time",
        Effect.gen(function* () {
          const store = yield* DataStore
          yield* store.addSchedule(makeSchedule("leased", 0), "exception")
          yield* store.addSchedule(makeSchedule("free", 50_000), "exception")
          yield* store.acquireSchedules(schedulerA, lease, 1)
          expect(millis(yield* store.getNextScheduleRunTime())).toEqual(Option.some(leaseMs))
          yield* TestClock.adjust(leaseMs + 1)
          // The lease ran out: the schedule is free again and due at its fire time.
          expect(millis(yield* store.getNextScheduleRunTime())).toEqual(Option.some(0))
        })
      )
    })

    describe("jobs", () => {
      test(
        "addJob stores the job; getJobs orders by creation time and can select ids",
        Effect.gen(function* () {
          const store = yield* DataStore
          const events = yield* recordEvents
          const second = makeJob(2_000, { args: [1], kwargs: { a: "b" }, metadata: { m: true }, resultExpirationTime: 5 })
          const first = makeJob(1_000)
          const third = makeJob(3_000)
          yield* store.addJob(second)
          yield* store.addJob(third)
          yield* store.addJob(first)
          expect(yield* store.getJobs()).toEqual([first, second, third])
          expect(ids(yield* store.getJobs([third.id, first.id]))).toEqual([first.id, third.id])
          const published = yield* events.take
          expect(tags(published)).toEqual(["JobAdded", "JobAdded", "JobAdded"])
          expect(published[0]).toMatchObject({ jobId: second.id, taskId, scheduleId: null })
        })
      )

      test(
        "addJobs stores every job at once with a JobAdded each; an empty list changes nothing",
        Effect.gen(function* () {
          const store = yield* DataStore
          const events = yield* recordEvents
          const jobs = [makeJob(2_000, { args: [2] }), makeJob(1_000, { kwargs: { k: 1 } }), makeJob(3_000)]
          yield* store.addJobs(jobs)
          yield* store.addJobs([])
          expect(yield* store.getJobs()).toEqual([jobs[1], jobs[0], jobs[2]])
          const published = yield* events.take
          expect(tags(published)).toEqual(["JobAdded", "JobAdded", "JobAdded"])
          expect(published.map((event) => (event as JobAdded).jobId)).toEqual(jobs.map((job) => job.id))
        })
      )

      test(
        "acquireJobs leases free jobs oldest first up to the limit and publishes JobAcquired",
        Effect.gen(function* () {
          const store = yield* DataStore
          yield* store.addTask(makeTask())
          const jobs = [makeJob(3), makeJob(1), makeJob(2), makeJob(4)]
          for (const job of jobs) yield* store.addJob(job)
          yield* TestClock.adjust(100)
          const events = yield* recordEvents
          const acquired = yield* store.acquireJobs(schedulerA, lease, 3)
          expect(ids(acquired)).toEqual([jobs[1]!.id, jobs[2]!.id, jobs[0]!.id])
          for (const job of acquired) {
            expect(job.acquiredBy).toBe(schedulerA)
            expect(job.acquiredUntil).toEqual(new Date(100 + leaseMs))
            expect(job.startedAt).toEqual(new Date(100))
          }
          const published = yield* events.take
          expect(tags(published)).toEqual(["JobAcquired", "JobAcquired", "JobAcquired"])
          expect(published[0]).toMatchObject({ jobId: jobs[1]!.id, schedulerId: schedulerA, attempt: 1 })
          expect(ids(yield* store.acquireJobs(schedulerB, lease, 10))).toEqual([jobs[3]!.id])
          expect(yield* store.acquireJobs(schedulerB, lease, 10)).toEqual([])
        })
      )

      test(
        "maxRunningJobs holds across schedulers and a released job frees its slot",
        Effect.gen(function* () {
          const store = yield* DataStore
          yield* store.addTask(makeTask({ maxRunningJobs: 2 }))
          yield* store.addTask(makeTask({ id: otherTaskId, maxRunningJobs: null }))
          const jobs = [1, 2, 3, 4].map((t) => makeJob(t))
          const other = makeJob(5, { taskId: otherTaskId })
          for (const job of [...jobs, other]) yield* store.addJob(job)
          const byA = yield* store.acquireJobs(schedulerA, lease, 10)
          // The limited task yields two jobs; the other task is not held up behind it.
          expect(ids(byA)).toEqual([jobs[0]!.id, jobs[1]!.id, other.id])
          expect(yield* store.acquireJobs(schedulerB, lease, 10)).toEqual([])
          yield* store.releaseJobs(schedulerA, [finished(byA[0]!, makeResult(byA[0]!, "success", 0, 0))])
          expect(ids(yield* store.acquireJobs(schedulerB, lease, 10))).toEqual([jobs[2]!.id])
          expect(yield* store.acquireJobs(schedulerA, lease, 10)).toEqual([])
        })
      )

      test(
        "raising a task's maxRunningJobs lets waiting jobs through",
        Effect.gen(function* () {
          const store = yield* DataStore
          yield* store.addTask(makeTask({ maxRunningJobs: 1 }))
          for (const t of [1, 2, 3]) yield* store.addJob(makeJob(t))
          expect(yield* store.acquireJobs(schedulerA, lease, 10)).toHaveLength(1)
          yield* store.addTask(makeTask({ maxRunningJobs: 3 }))
          expect(yield* store.acquireJobs(schedulerA, lease, 10)).toHaveLength(2)
        })
      )

      test(
        "a job past its start deadline is released as missed_start_deadline instead of acquired",
        Effect.gen(function* () {
          const store = yield* DataStore
          yield* store.addTask(makeTask())
          const missed = makeJob(0, { startDeadline: new Date(1_000), scheduledFireTime: new Date(500), resultExpirationTime: 60 })
          const onTime = makeJob(1, { startDeadline: new Date(10_000) })
          yield* store.addJob(missed)
          yield* store.addJob(onTime)
          yield* TestClock.adjust(2_000)
          const events = yield* recordEvents
          expect(ids(yield* store.acquireJobs(schedulerA, lease, 10))).toEqual([onTime.id])
          expect(ids(yield* store.getJobs())).toEqual([onTime.id])
          const published = yield* events.take
          const [release] = released(published)
          expect(release).toMatchObject({
            jobId: missed.id,
            schedulerId: schedulerA,
            outcome: "missed_start_deadline",
            willRetry: false,
            scheduledFireTime: new Date(500),
            startedAt: null,
            finishedAt: new Date(2_000),
            error: null
          })
          expect(tags(published)).toEqual(["JobReleased", "JobAcquired"])
          const result = yield* store.getJobResult(missed.id)
          expect(Option.map(result, (r) => [r.outcome, r.expiresAt.getTime()])).toEqual(
            Option.some(["missed_start_deadline", 62_000])
          )
        })
      )

      test(
        "the start deadline bounds the first attempt only: a retry past it still runs",
        Effect.gen(function* () {
          const store = yield* DataStore
          const job = yield* leasedJob({ startDeadline: new Date(1_000) })
          yield* store.releaseJobs(schedulerA, [
            { _tag: "Retry", job, result: makeResult(job, "error", 0, 0), availableAt: new Date(5_000) }
          ])
          yield* TestClock.adjust(5_000)
          const [again] = yield* store.acquireJobs(schedulerA, lease, 10)
          expect(again).toMatchObject({ id: job.id, attempt: 2 })
        })
      )

      test(
        "a leased job is not acquired by another scheduler while its lease holds",
        Effect.gen(function* () {
          const store = yield* DataStore
          yield* store.addTask(makeTask())
          yield* store.addJob(makeJob(0))
          expect(yield* store.acquireJobs(schedulerA, lease, 10)).toHaveLength(1)
          yield* TestClock.adjust(leaseMs - 1)
          expect(yield* store.acquireJobs(schedulerB, lease, 10)).toEqual([])
          expect(yield* store.acquireJobs(schedulerA, lease, 10)).toEqual([])
        })
      )

      test(
        "a job whose lease expired is not run again blindly: with no attempts left it is abandoned",
        Effect.gen(function* () {
          const store = yield* DataStore
          const job = yield* leasedJob({ resultExpirationTime: 60 })
          yield* TestClock.adjust(leaseMs + 1)
          const events = yield* recordEvents
          expect(yield* store.acquireJobs(schedulerB, lease, 10)).toEqual([])
          const [release] = released(yield* events.take)
          expect(release).toMatchObject({
            jobId: job.id,
            schedulerId: schedulerA,
            outcome: "abandoned",
            willRetry: false,
            startedAt: new Date(0)
          })
          expect(release!.error?.tag).toBe("JobAbandoned")
          expect(yield* store.getJobs()).toEqual([])
          const result = Option.getOrThrow(yield* store.getJobResult(job.id))
          expect(result.outcome).toBe("abandoned")
          expect(result.error?.tag).toBe("JobAbandoned")
        })
      )

      test(
        "a job whose lease expired is retried per its task's policy, as its next attempt",
        Effect.gen(function* () {
          const store = yield* DataStore
          const job = yield* leasedJob(
            {},
            makeTask({ retry: RetryPolicy.make({ maxAttempts: 2, backoffBaseMs: 1_000, jitter: false }) })
          )
          yield* TestClock.adjust(leaseMs + 1)
          const events = yield* recordEvents
          expect(yield* store.acquireJobs(schedulerB, lease, 10)).toEqual([])
          expect(released(yield* events.take)[0]).toMatchObject({ outcome: "abandoned", willRetry: true, attempt: 1 })
          expect(millis(yield* store.getNextJobAvailableTime())).toEqual(Option.some(leaseMs + 1 + 1_000))
          yield* TestClock.adjust(1_000)
          const [again] = yield* store.acquireJobs(schedulerB, lease, 10)
          expect(again).toMatchObject({ id: job.id, attempt: 2, acquiredBy: schedulerB })
        })
      )

      test(
        "releaseJobs Finished removes the job, keeps its result until it expires and publishes JobReleased",
        Effect.gen(function* () {
          const store = yield* DataStore
          const acquired = yield* leasedJob({ scheduledFireTime: new Date(0) })
          yield* TestClock.adjust(1_000)
          const events = yield* recordEvents
          const result = makeResult(acquired, "error", 1_000, 11_000, {
            error: JobError.make({ tag: "Boom", message: "it broke" }),
            returnValue: null
          })
          yield* store.releaseJobs(schedulerA, [finished(acquired, result)])
          expect(yield* store.getJobs()).toEqual([])
          expect(yield* store.getJobResult(acquired.id)).toEqual(Option.some(result))
          const [release] = released(yield* events.take)
          expect(release).toMatchObject({
            jobId: acquired.id,
            taskId,
            schedulerId: schedulerA,
            attempt: 1,
            outcome: "error",
            willRetry: false,
            scheduledFireTime: new Date(0),
            startedAt: new Date(0),
            finishedAt: new Date(1_000),
            error: { tag: "Boom", message: "it broke" }
          })
          yield* TestClock.adjust(10_000)
          expect(yield* store.getJobResult(acquired.id)).toEqual(Option.none())
        })
      )

      test(
        "a result that expires at once is not kept, and a success result keeps its return value",
        Effect.gen(function* () {
          const store = yield* DataStore
          yield* store.addTask(makeTask())
          const gone = makeJob(0)
          const kept = makeJob(1)
          yield* store.addJob(gone)
          yield* store.addJob(kept)
          const [a, b] = yield* store.acquireJobs(schedulerA, lease, 10)
          yield* store.releaseJobs(schedulerA, [
            finished(a!, makeResult(a!, "success", 0, 0)),
            finished(b!, makeResult(b!, "success", 0, 5_000, { returnValue: { answer: 42, list: [1, "two"] } }))
          ])
          expect(yield* store.getJobResult(gone.id)).toEqual(Option.none())
          expect(Option.map(yield* store.getJobResult(kept.id), (r) => r.returnValue)).toEqual(
            Option.some({ answer: 42, list: [1, "two"] })
          )
        })
      )

      test(
        "releaseJobs Retry keeps the job with the next attempt, available only from availableAt",
        Effect.gen(function* () {
          const store = yield* DataStore
          const acquired = yield* leasedJob({}, makeTask({ maxRunningJobs: 1 }))
          const events = yield* recordEvents
          expect(yield* store.getNextJobAvailableTime()).toEqual(Option.none())
          yield* store.releaseJobs(schedulerA, [
            {
              _tag: "Retry",
              job: acquired,
              result: makeResult(acquired, "error", 0, 0, { error: JobError.make({ tag: "E", message: "m" }) }),
              availableAt: new Date(5_000)
            }
          ])
          expect(released(yield* events.take)[0]).toMatchObject({ jobId: acquired.id, outcome: "error", willRetry: true, attempt: 1 })
          const [stored] = yield* store.getJobs()
          expect(stored).toMatchObject({ id: acquired.id, attempt: 2, availableAt: new Date(5_000), acquiredBy: null })
          expect(yield* store.getJobResult(acquired.id)).toEqual(Option.none())
          expect(millis(yield* store.getNextJobAvailableTime())).toEqual(Option.some(5_000))
          yield* TestClock.adjust(4_999)
          expect(yield* store.acquireJobs(schedulerB, lease, 10)).toEqual([])
          yield* TestClock.adjust(1)
          const [again] = yield* store.acquireJobs(schedulerB, lease, 10)
          expect(again).toMatchObject({ id: acquired.id, attempt: 2, acquiredBy: schedulerB })
          expect(yield* store.getNextJobAvailableTime()).toEqual(Option.none())
        })
      )

      test(
        "a retried job keeps its place by creation time among newer jobs",
        Effect.gen(function* () {
          const store = yield* DataStore
          yield* store.addTask(makeTask())
          const old = makeJob(0)
          yield* store.addJob(old)
          const [acquired] = yield* store.acquireJobs(schedulerA, lease, 10)
          const newer = makeJob(10)
          yield* store.addJob(newer)
          yield* store.releaseJobs(schedulerA, [
            { _tag: "Retry", job: acquired, result: makeResult(acquired, "error", 0, 0), availableAt: new Date(0) }
          ])
          expect(ids(yield* store.acquireJobs(schedulerA, lease, 1))).toEqual([old.id])
        })
      )

      test(
        "releaseJobs from a scheduler that does not hold the job is ignored",
        Effect.gen(function* () {
          const store = yield* DataStore
          const acquired = yield* leasedJob()
          const events = yield* recordEvents
          yield* store.releaseJobs(schedulerB, [finished(acquired, makeResult(acquired, "success", 0, 60_000))])
          expect(yield* store.getJobs()).toEqual([acquired])
          expect(yield* store.getJobResult(acquired.id)).toEqual(Option.none())
          expect(yield* events.take).toEqual([])
        })
      )

      test(
        "a job release past the lease is still accepted while nothing reaped the job",
        Effect.gen(function* () {
          const store = yield* DataStore
          const job = yield* leasedJob()
          yield* TestClock.adjust(leaseMs + 1)
          yield* store.releaseJobs(schedulerA, [finished(job, makeResult(job, "success", leaseMs + 1, leaseMs + 60_000))])
          expect(yield* store.getJobs()).toEqual([])
          expect(Option.map(yield* store.getJobResult(job.id), (r) => r.outcome)).toEqual(Option.some("success"))
        })
      )

      test(
        "a release after the job's lease expired and it was reaped is dropped",
        Effect.gen(function* () {
          const store = yield* DataStore
          yield* store.addTask(makeTask({ retry: RetryPolicy.make({ maxAttempts: 2, backoffBaseMs: 0, jitter: false }) }))
          yield* store.addJob(makeJob(0))
          const [byA] = yield* store.acquireJobs(schedulerA, lease, 10)
          yield* TestClock.adjust(leaseMs + 1)
          const [byB] = yield* store.acquireJobs(schedulerB, lease, 10)
          expect(byB).toMatchObject({ attempt: 2, acquiredBy: schedulerB })
          yield* store.releaseJobs(schedulerA, [finished(byA, makeResult(byA, "success", 0, 60_000))])
          expect(yield* store.getJobs()).toEqual([byB])
          expect(yield* store.getJobResult(byA.id)).toEqual(Option.none())
        })
      )

      test(
        "extendJobLeases extends only the caller's leases",
        Effect.gen(function* () {
          const store = yield* DataStore
          const job = yield* leasedJob()
          yield* TestClock.adjust(20_000)
          yield* store.extendJobLeases(schedulerB, [job.id], lease)
          expect((yield* store.getJobs())[0]!.acquiredUntil).toEqual(new Date(leaseMs))
          yield* store.extendJobLeases(schedulerA, [job.id], lease)
          expect((yield* store.getJobs())[0]!.acquiredUntil).toEqual(new Date(20_000 + leaseMs))
          yield* TestClock.adjust(20_000)
          yield* store.cleanup()
          expect(yield* store.acquireJobs(schedulerB, lease, 10)).toEqual([])
          expect((yield* store.getJobs())[0]!.acquiredBy).toBe(schedulerA)
        })
      )

      test(
        "getNextJobAvailableTime is the earliest availableAt among jobs waiting for a retry",
        Effect.gen(function* () {
          const store = yield* DataStore
          yield* store.addTask(makeTask())
          expect(yield* store.getNextJobAvailableTime()).toEqual(Option.none())
          yield* store.addJob(makeJob(0))
          expect(yield* store.getNextJobAvailableTime()).toEqual(Option.none())
          yield* store.addJob(makeJob(1, { availableAt: new Date(9_000) }))
          yield* store.addJob(makeJob(2, { availableAt: new Date(7_000) }))
          expect(millis(yield* store.getNextJobAvailableTime())).toEqual(Option.some(7_000))
          yield* TestClock.adjust(7_000)
          expect(yield* store.acquireJobs(schedulerA, lease, 10)).toHaveLength(2)
          expect(millis(yield* store.getNextJobAvailableTime())).toEqual(Option.some(9_000))
        })
      )

      test(
        "cancelJob removes a queued job, keeps its cancelled result and publishes JobReleased",
        Effect.gen(function* () {
          const store = yield* DataStore
          yield* store.addTask(makeTask({ maxRunningJobs: 1 }))
          const [first, middle, last] = [makeJob(1, { resultExpirationTime: 60 }), makeJob(2), makeJob(3)]
          for (const job of [first!, middle!, last!]) yield* store.addJob(job)
          yield* TestClock.adjust(1_000)
          const events = yield* recordEvents
          const outcome = yield* store.cancelJob(schedulerB, first!.id, "no longer needed")
          expect(outcome._tag).toBe("Cancelled")
          const expected = {
            jobId: first!.id,
            outcome: "cancelled",
            attempt: 1,
            startedAt: null,
            finishedAt: new Date(1_000),
            expiresAt: new Date(61_000),
            error: { tag: "JobCancelled", message: "no longer needed" },
            returnValue: null
          }
          expect(outcome._tag === "Cancelled" && outcome.result).toMatchObject(expected)
          expect((yield* store.cancelJob(schedulerB, middle!.id))._tag).toBe("Cancelled")
          expect(ids(yield* store.getJobs())).toEqual([last!.id])
          expect(Option.getOrThrow(yield* store.getJobResult(first!.id))).toMatchObject(expected)
          const published = yield* events.take
          expect(tags(published)).toEqual(["JobReleased", "JobReleased"])
          expect(published[0]).toMatchObject({
            jobId: first!.id,
            schedulerId: schedulerB,
            attempt: 1,
            outcome: "cancelled",
            willRetry: false,
            startedAt: null,
            finishedAt: new Date(1_000),
            error: { tag: "JobCancelled", message: "no longer needed" }
          })
          expect((published[1] as JobReleased).error?.message).toBe("cancelled on request")
          // The task's one slot goes to the job left, as if the cancelled ones never existed.
          expect(ids(yield* store.acquireJobs(schedulerA, lease, 10))).toEqual([last!.id])
        })
      )

      test(
        "cancelJob of a finished job gives its kept result; with neither job nor result, JobNotFound",
        Effect.gen(function* () {
          const store = yield* DataStore
          yield* store.addTask(makeTask())
          const job = makeJob(0, { resultExpirationTime: 10 })
          yield* store.addJob(job)
          yield* store.cancelJob(schedulerA, job.id)
          const again = yield* store.cancelJob(schedulerB, job.id, "twice")
          expect(again._tag === "AlreadyFinished" && again.result.error?.message).toBe("cancelled on request")
          yield* TestClock.adjust(10_000)
          expect(yield* Effect.flip(store.cancelJob(schedulerA, job.id))).toMatchObject({
            _tag: "JobNotFound",
            jobId: job.id
          })
          const unknown = JobId.make("00000000-0000-4000-8000-ffffffffffff")
          expect((yield* Effect.flip(store.cancelJob(schedulerA, unknown)))._tag).toBe("JobNotFound")
        })
      )

      test(
        "cancelJob leaves a leased job to its scheduler; a job waiting for a retry is cancelled",
        Effect.gen(function* () {
          const store = yield* DataStore
          const job = yield* leasedJob({ resultExpirationTime: 60 })
          const events = yield* recordEvents
          const running = yield* store.cancelJob(schedulerB, job.id)
          expect(running).toMatchObject({ _tag: "Running", schedulerId: schedulerA, job: { id: job.id } })
          expect(yield* store.getJobs()).toEqual([job])
          expect(yield* events.take).toEqual([])
          yield* store.releaseJobs(schedulerA, [
            { _tag: "Retry", job, result: makeResult(job, "error", 0, 0), availableAt: new Date(5_000) }
          ])
          const cancelled = yield* store.cancelJob(schedulerB, job.id, "stop retrying")
          expect(cancelled._tag === "Cancelled" && cancelled.result).toMatchObject({ outcome: "cancelled", attempt: 2 })
          expect(yield* store.getNextJobAvailableTime()).toEqual(Option.none())
          yield* TestClock.adjust(5_000)
          expect(yield* store.acquireJobs(schedulerA, lease, 10)).toEqual([])
          expect(yield* store.getJobs()).toEqual([])
        })
      )
    })

    describe("maintenance", () => {
      test(
        "reapAbandonedJobs retries or abandons the jobs still leased to the restarted scheduler only",
        Effect.gen(function* () {
          const store = yield* DataStore
          yield* store.addTask(makeTask())
          yield* store.addTask(
            makeTask({
              id: otherTaskId,
              retry: RetryPolicy.make({ maxAttempts: 3, backoffBaseMs: 500, jitter: false })
            })
          )
          const once = makeJob(0, { resultExpirationTime: 60 })
          const retried = makeJob(1, { taskId: otherTaskId })
          const othersJob = makeJob(2)
          yield* store.addJob(once)
          yield* store.addJob(retried)
          yield* store.acquireJobs(schedulerA, lease, 2)
          yield* store.addJob(othersJob)
          yield* store.acquireJobs(schedulerB, lease, 10)
          yield* TestClock.adjust(1_000)
          const events = yield* recordEvents
          const reaped = yield* store.reapAbandonedJobs(schedulerA)
          expect(ids(reaped).sort()).toEqual([once.id, retried.id].sort())
          const releases = released(yield* events.take)
          expect(releases.map((r) => [r.jobId, r.outcome, r.willRetry, r.schedulerId]).sort()).toEqual(
            [
              [once.id, "abandoned", false, schedulerA],
              [retried.id, "abandoned", true, schedulerA]
            ].sort()
          )
          expect(Option.map(yield* store.getJobResult(once.id), (r) => [r.outcome, r.error?.tag])).toEqual(
            Option.some(["abandoned", "JobAbandoned"])
          )
          const remaining = yield* store.getJobs()
          expect(remaining.map((j) => [j.id, j.attempt, j.acquiredBy, j.availableAt])).toEqual([
            [retried.id, 2, null, new Date(1_500)],
            [othersJob.id, 1, schedulerB, null]
          ])
          expect(yield* store.reapAbandonedJobs(schedulerA)).toEqual([])
        })
      )

      test(
        "retry delays are drawn with jitter within [0, base·2^(attempt-1)]",
        Effect.gen(function* () {
          const store = yield* DataStore
          yield* store.addTask(
            makeTask({ retry: RetryPolicy.make({ maxAttempts: 5, backoffBaseMs: 1_000, backoffCapMs: 60_000, jitter: true }) })
          )
          for (const t of [0, 1, 2, 3, 4, 5, 6, 7]) yield* store.addJob(makeJob(t))
          yield* store.acquireJobs(schedulerA, lease, 10)
          yield* store.reapAbandonedJobs(schedulerA)
          const times = (yield* store.getJobs()).map((job) => job.availableAt!.getTime())
          expect(times).toHaveLength(8)
          for (const time of times) {
            expect(time).toBeGreaterThanOrEqual(0)
            expect(time).toBeLessThanOrEqual(1_000)
          }
        })
      )

      test(
        "cleanup deletes expired results",
        Effect.gen(function* () {
          const store = yield* DataStore
          const acquired = yield* leasedJob()
          yield* store.releaseJobs(schedulerA, [finished(acquired, makeResult(acquired, "success", 0, 5_000))])
          yield* store.cleanup()
          expect(Option.isSome(yield* store.getJobResult(acquired.id))).toBe(true)
          yield* TestClock.adjust(5_000)
          yield* store.cleanup()
          expect(yield* store.getJobResult(acquired.id)).toEqual(Option.none())
        })
      )

      test(
        "cleanup abandons jobs whose lease expired and frees their task slots",
        Effect.gen(function* () {
          const store = yield* DataStore
          yield* store.addTask(makeTask({ maxRunningJobs: 1 }))
          const stuck = makeJob(0, { resultExpirationTime: 60 })
          const waiting = makeJob(1)
          yield* store.addJob(stuck)
          yield* store.addJob(waiting)
          yield* store.acquireJobs(schedulerA, lease, 10)
          yield* TestClock.adjust(leaseMs + 1)
          const events = yield* recordEvents
          yield* store.cleanup()
          expect(released(yield* events.take)).toMatchObject([{ jobId: stuck.id, outcome: "abandoned", willRetry: false }])
          expect(ids(yield* store.getJobs())).toEqual([waiting.id])
          expect(ids(yield* store.acquireJobs(schedulerB, lease, 10))).toEqual([waiting.id])
        })
      )

      test(
        "cleanup removes finished schedules nobody is processing",
        Effect.gen(function* () {
          const store = yield* DataStore
          yield* store.addSchedule(makeSchedule("finished", null), "exception")
          yield* store.addSchedule(makeSchedule("active", 1_000), "exception")
          const events = yield* recordEvents
          yield* store.cleanup()
          expect(ids(yield* store.getSchedules())).toEqual(["active"])
          expect(yield* events.take).toMatchObject([{ _tag: "ScheduleRemoved", scheduleId: "finished", finished: true }])
        })
      )

      test(
        "cleanup leaves a schedule without next fire time alone while a scheduler holds it",
        Effect.gen(function* () {
          const store = yield* DataStore
          yield* leasedSchedule()
          yield* store.updateSchedule(ScheduleId.make("s"), (s) => Schedule.make({ ...s, nextFireTime: null }))
          yield* store.cleanup()
          expect(ids(yield* store.getSchedules())).toEqual(["s"])
          yield* TestClock.adjust(leaseMs + 1)
          yield* store.cleanup()
          expect(yield* store.getSchedules()).toEqual([])
        })
      )

      test(
        "cleanup frees schedules whose lease expired",
        Effect.gen(function* () {
          const store = yield* DataStore
          yield* leasedSchedule()
          yield* TestClock.adjust(leaseMs + 1)
          yield* store.cleanup()
          expect(ids(yield* store.acquireSchedules(schedulerB, lease, 10))).toEqual(["s"])
        })
      )
    })

    describe("models", () => {
      test(
        "returned models and published events are instances of their Schema classes and encode",
        Effect.gen(function* () {
          const store = yield* DataStore
          const events = yield* recordEvents
          const leased = yield* leasedSchedule()
          yield* store.releaseSchedules(schedulerA, [releaseOf(leased, { nextFireTime: new Date(1) }, [makeJob(0)])])
          const [job] = yield* store.acquireJobs(schedulerA, lease, 10)
          yield* store.releaseJobs(schedulerA, [finished(job!, makeResult(job!, "success", 0, 1_000))])
          const schedule = yield* store.getSchedule(leased.id)
          const result = Option.getOrThrow(yield* store.getJobResult(job!.id))
          expect(schedule).toBeInstanceOf(Schedule)
          expect(job).toBeInstanceOf(Job)
          expect(result).toBeInstanceOf(JobResult)
          expect(Schema.decodeSync(Schedule)(Schema.encodeSync(Schedule)(schedule))).toEqual(schedule)
          expect(Schema.decodeSync(Job)(Schema.encodeSync(Job)(job!))).toEqual(job)
          expect(Schema.decodeSync(JobResult)(Schema.encodeSync(JobResult)(result))).toEqual(result)
          const published = yield* events.take
          expect(tags(published)).toEqual(["ScheduleAdded", "ScheduleUpdated", "JobAdded", "JobAcquired", "JobReleased"])
          for (const event of published)
            expect(Schema.decodeSync(SchedulerEvent)(Schema.encodeSync(SchedulerEvent)(event))).toEqual(event)
        })
      )
    })

    describe("volume", () => {
      test(
        "after 1,500 updates, next run time and acquisition see only each schedule's latest state",
        Effect.gen(function* () {
          const store = yield* DataStore
          yield* store.addSchedule(makeSchedule("a", 100_000), "exception")
          yield* store.addSchedule(makeSchedule("b", 200_000), "exception")
          for (let i = 1; i <= 1_500; i++) {
            yield* store.updateSchedule(ScheduleId.make("a"), (s) =>
              Schedule.make({ ...s, nextFireTime: new Date(100_000 - i), paused: i % 2 === 1 })
            )
          }
          // "a" ends unpaused at 98,500; every earlier fire time it had is stale.
          expect(millis(yield* store.getNextScheduleRunTime())).toEqual(Option.some(98_500))
          yield* TestClock.adjust(200_000)
          expect(ids(yield* store.acquireSchedules(schedulerA, lease, 10))).toEqual(["a", "b"])
        })
      )

      test(
        "10,000 jobs pass through acquire and release in batches of 100, each exactly once, oldest first",
        Effect.gen(function* () {
          const store = yield* DataStore
          yield* store.addTask(makeTask({ maxRunningJobs: null }))
          const jobs = Array.from({ length: 10_000 }, (_, i) => makeJob(i))
          for (const job of jobs) yield* store.addJob(job)
          const seen: Array<string> = []
          for (;;) {
            const batch = yield* store.acquireJobs(schedulerA, lease, 100)
            if (batch.length === 0) break
            seen.push(...ids(batch))
            yield* store.releaseJobs(
              schedulerA,
              batch.map((job) => finished(job, makeResult(job, "success", 0, 0)))
            )
          }
          expect(seen).toEqual(ids(jobs))
          expect(yield* store.getJobs()).toEqual([])
        })
      )

      test(
        "with 1,000 schedules, acquisition takes them in next-fire-time order without repeats",
        Effect.gen(function* () {
          const store = yield* DataStore
          const times = Array.from({ length: 1_000 }, (_, i) => (i * 7_919) % 1_000)
          for (const [i, time] of times.entries()) yield* store.addSchedule(makeSchedule(`s${i}`, time), "exception")
          yield* TestClock.adjust(1_000)
          const order: Array<number> = []
          for (;;) {
            const batch = yield* store.acquireSchedules(schedulerA, lease, 100)
            if (batch.length === 0) break
            order.push(...batch.map((s) => s.nextFireTime!.getTime()))
            yield* store.releaseSchedules(
              schedulerA,
              batch.map((s) => releaseOf(s, { nextFireTime: new Date(3_600_000) }))
            )
          }
          expect(order).toEqual([...times].sort((a, b) => a - b))
        })
      )
    })
  })
}
