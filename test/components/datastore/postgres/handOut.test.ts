/**
 * What the postgres store does beyond the contract for a cluster of schedulers:
 * a schedule release leases the jobs that can start now to the releasing
 * scheduler and hands them to its next acquireJobs without a round trip (no
 * other scheduler contends for them), those available within releaseAheadMs
 * from their availableAt on; jobs never taken are freed when the store
 * closes or once they waited past the hand-out wait; schedules are leased ahead
 * of their fire time in one statement; tasks read lately are kept until any
 * process changes them.
 */
import { describe, expect, it } from "@effect/vitest"
import { Chunk, Clock, Context, Duration, Effect, Layer, Option, Schedule as Repeat, type Scope, Stream } from "effect"
import * as LocalBroker from "../../../../src/components/broker/Local.js"
import * as PostgresStore from "../../../../src/components/datastore/Postgres.js"
import { SchedulerStopped } from "../../../../src/domain/events.js"
import { ScheduleId } from "../../../../src/domain/ids.js"
import { Schedule } from "../../../../src/domain/Schedule.js"
import { DataStore } from "../../../../src/services/DataStore.js"
import { EventBroker } from "../../../../src/services/EventBroker.js"
import type { Job } from "../../../../src/domain/Job.js"
import { makeJob, makeSchedule, makeTask, otherTaskId, schedulerA, schedulerB, taskId } from "../contract.js"
import { emptySchema, useTestDatabase } from "./testDatabase.js"

const database = useTestDatabase("sz_hand_out")
const schema = "handout"
const lease = Duration.seconds(30)

/** A store on the test schema, open for the current scope. */
const openStore = Effect.suspend(() => Effect.map(
  Layer.build(
    PostgresStore.layer({ url: database.url(), schema, synchronousCommit: "off" }).pipe(Layer.provideMerge(LocalBroker.layer))
  ),
  (context) => ({
    store: context.unsafeMap.get(DataStore.key) as DataStore["Type"],
    broker: context.unsafeMap.get(EventBroker.key) as EventBroker["Type"]
  })
))

/** Opens stores on the test schema that share one broker, as processes hearing each other's events do. */
const storesOnOneBroker = Effect.map(Layer.build(LocalBroker.layer), (broker) =>
  Effect.map(
    Effect.provide(Layer.build(PostgresStore.layer({ url: database.url(), schema, synchronousCommit: "off" })), broker),
    (context) => Context.get(context, DataStore)
  ))

const test = (title: string, body: Effect.Effect<void, unknown, Scope.Scope>) =>
  it.live(title, () =>
    Effect.scoped(Effect.zipRight(Effect.promise(() => emptySchema(database.url(), schema)), body)), 60_000)

/** Schedules `ids` (of `task`) due at 0, leased to scheduler A, and released with one job each. */
const fireOnce = (store: DataStore["Type"], ids: ReadonlyArray<{ readonly id: string; readonly task: typeof taskId }>) =>
  Effect.gen(function* () {
    for (const { id, task } of ids) yield* store.addSchedule(makeSchedule(id, 0, { taskId: task }), "exception")
    const leased = yield* store.acquireSchedules(schedulerA, lease, 10)
    const jobs = new Map(leased.map((schedule) => [schedule.id, makeJob(0, { taskId: schedule.taskId, scheduleId: schedule.id })]))
    yield* store.releaseSchedules(
      schedulerA,
      leased.map((schedule) => ({
        schedule: Schedule.make({ ...schedule, nextFireTime: new Date(Date.now() + 3_600_000) }),
        jobs: [jobs.get(schedule.id)!]
      }))
    )
    return jobs
  })

describe("postgres store, jobs handed out by a schedule release", () => {
  test(
    "a job of an unlimited task is leased to the releasing scheduler and taken by its next acquireJobs; a limited task's stays free",
    Effect.gen(function* () {
      const { broker, store } = yield* openStore
      yield* store.addTask(makeTask())
      yield* store.addTask(makeTask({ id: otherTaskId, maxRunningJobs: 1 }))
      const events = yield* broker.subscribe()
      const jobs = yield* fireOnce(store, [{ id: "unlimited", task: taskId }, { id: "limited", task: otherTaskId }])
      const unlimited = jobs.get(ScheduleId.make("unlimited"))!
      const limited = jobs.get(ScheduleId.make("limited"))!
      // Published with the release: both jobs added, the one handed out acquired by A.
      yield* broker.publish(new SchedulerStopped({ timestamp: new Date(0), schedulerId: schedulerB }))
      const published = Chunk.toReadonlyArray(
        yield* Stream.runCollect(Stream.takeUntil(events, (event) => event._tag === "SchedulerStopped"))
      )
      const about = (tag: string) =>
        published.flatMap((event) => (event._tag === tag && "jobId" in event ? [event.jobId] : []))
      expect(new Set(about("JobAdded"))).toEqual(new Set([unlimited.id, limited.id]))
      expect(about("JobAcquired")).toEqual([unlimited.id])
      const stored = new Map((yield* store.getJobs()).map((job) => [job.id, job]))
      expect(stored.get(unlimited.id)).toMatchObject({ acquiredBy: schedulerA })
      expect(stored.get(limited.id)).toMatchObject({ acquiredBy: null })
      // Another scheduler finds only the free one.
      expect((yield* store.acquireJobs(schedulerB, lease, 10)).map((job) => job.id)).toEqual([limited.id])
      const [taken, ...rest] = yield* store.acquireJobs(schedulerA, lease, 10)
      expect(rest).toEqual([])
      expect(taken).toMatchObject({ id: unlimited.id, acquiredBy: schedulerA })
    })
  )

  test(
    "jobs handed out but never taken are freed when the store closes, for another scheduler to run",
    Effect.gen(function* () {
      const jobs = yield* Effect.scoped(
        Effect.gen(function* () {
          const { store } = yield* openStore
          yield* store.addTask(makeTask())
          return yield* fireOnce(store, [{ id: "s", task: taskId }])
        })
      )
      const { store } = yield* openStore
      const job = jobs.get(ScheduleId.make("s"))!
      expect(yield* store.getJobs()).toMatchObject([{ id: job.id, acquiredBy: null, startedAt: null }])
      expect((yield* store.acquireJobs(schedulerB, lease, 10)).map((acquired) => acquired.id)).toEqual([job.id])
    })
  )

  test(
    "a job handed out to a scheduler that takes no more jobs is freed after a wait, not left to lapse into abandoned",
    Effect.gen(function* () {
      const { store } = yield* openStore
      yield* store.addTask(makeTask())
      const job = (yield* fireOnce(store, [{ id: "s", task: taskId }])).get(ScheduleId.make("s"))!
      expect(yield* store.getJobs()).toMatchObject([{ id: job.id, acquiredBy: schedulerA }])
      // Scheduler A's job loop never asks: within a few seconds the job is free again, not reaped.
      yield* Effect.retry(
        Effect.flatMap(store.getJobs(), (stored) =>
          stored[0]?.acquiredBy === null ? Effect.succeed(stored) : Effect.fail("still leased")),
        { schedule: Repeat.spaced(Duration.millis(50)), times: 100 }
      )
      expect(yield* store.getJobs()).toMatchObject([{ id: job.id, acquiredBy: null, startedAt: null }])
      expect((yield* store.acquireJobs(schedulerB, lease, 10)).map((acquired) => acquired.id)).toEqual([job.id])
      // A no longer holds it: its next acquireJobs gets nothing.
      expect(yield* store.acquireJobs(schedulerA, lease, 10)).toEqual([])
    })
  )

  test(
    "acquireSchedulesDueBy leases those due by a moment ahead in one call, never the scheduler's own leases",
    Effect.gen(function* () {
      const { store } = yield* openStore
      const now = Date.now()
      yield* store.addSchedule(makeSchedule("soon", now + 20), "exception")
      yield* store.addSchedule(makeSchedule("later", now + 60_000), "exception")
      const take = (schedulerId: typeof schedulerA) =>
        Effect.map(
          store.acquireSchedulesDueBy!(schedulerId, lease, 10, new Date(now + 50)),
          (taken) => taken.map((schedule) => schedule.id)
        )
      expect(yield* take(schedulerA)).toEqual(["soon"])
      expect(yield* take(schedulerA)).toEqual([])
      expect(yield* take(schedulerB)).toEqual([])
      expect(yield* store.acquireSchedules(schedulerB, lease, 10)).toEqual([])
    })
  )

  test(
    "releaseLeasedSchedules releases schedules leased ahead only if unchanged since; it leaves out those edited, extended or removed",
    Effect.gen(function* () {
      const { store } = yield* openStore
      yield* store.addTask(makeTask())
      const now = Date.now()
      for (const id of ["same", "paused", "extended", "removed"]) yield* store.addSchedule(makeSchedule(id, now + 20), "exception")
      const leased = yield* store.acquireSchedulesDueBy!(schedulerA, lease, 10, new Date(now + 50))
      expect(leased.map((schedule) => schedule.id)).toEqual(["extended", "paused", "removed", "same"])
      yield* store.updateSchedule(ScheduleId.make("paused"), (schedule) => Schedule.make({ ...schedule, paused: true }))
      yield* store.extendScheduleLeases(schedulerA, [ScheduleId.make("extended")], lease)
      yield* store.removeSchedules([ScheduleId.make("removed")])
      const later = new Date(now + 3_600_000)
      const releases = leased.map((schedule) => ({
        schedule: Schedule.make({ ...schedule, nextFireTime: later }),
        jobs: [makeJob(0, { scheduleId: schedule.id })]
      }))
      // A Schedule this store did not lease (read back, not the lease's own object) is left too.
      const [readBack] = yield* store.getSchedules([ScheduleId.make("same")])
      expect(yield* store.releaseLeasedSchedules!(schedulerA, [...releases, releases[3]!], [...leased, readBack!])).toEqual([0, 1, 2, 4])
      const stored = new Map((yield* store.getSchedules()).map((schedule) => [schedule.id, schedule]))
      expect(stored.get(ScheduleId.make("same"))).toMatchObject({ nextFireTime: later, acquiredBy: null })
      expect(stored.get(ScheduleId.make("paused"))).toMatchObject({ paused: true, acquiredBy: schedulerA, nextFireTime: new Date(now + 20) })
      expect(stored.get(ScheduleId.make("extended"))).toMatchObject({ acquiredBy: schedulerA, nextFireTime: new Date(now + 20) })
      expect(stored.has(ScheduleId.make("removed"))).toBe(false)
      // Only the released schedule's job was added.
      expect((yield* store.getJobs()).map((job) => job.scheduleId)).toEqual([ScheduleId.make("same")])
    })
  )

  /** A clock that stands at `atMs` until moved (sleeps still take real time). */
  const standingClock = (atMs: number) => {
    const live = Clock.make()
    const time = { nowMs: atMs }
    const clock: Clock.Clock = {
      [Clock.ClockTypeId]: Clock.ClockTypeId,
      unsafeCurrentTimeMillis: () => time.nowMs,
      currentTimeMillis: Effect.sync(() => time.nowMs),
      unsafeCurrentTimeNanos: () => BigInt(time.nowMs) * 1_000_000n,
      currentTimeNanos: Effect.sync(() => BigInt(time.nowMs) * 1_000_000n),
      sleep: (duration) => live.sleep(duration)
    }
    return { time, clock }
  }

  /** Schedule `id` due at 0, leased to scheduler A and released with one job available at each of `availableAt`. */
  const releaseAvailableAt = (store: DataStore["Type"], id: string, availableAt: ReadonlyArray<number>) =>
    Effect.gen(function* () {
      yield* store.addSchedule(makeSchedule(id, 0), "exception")
      const [leased] = yield* store.acquireSchedules(schedulerA, lease, 10)
      const jobs = availableAt.map((ms) => makeJob(0, { scheduleId: leased!.id, availableAt: new Date(ms) }))
      const nowMs = yield* Clock.currentTimeMillis
      yield* store.releaseSchedules(schedulerA, [
        { schedule: Schedule.make({ ...leased!, nextFireTime: new Date(nowMs + 3_600_000) }), jobs }
      ])
      return jobs
    })

  const ids = (jobs: ReadonlyArray<Job>) => jobs.map((job) => job.id)

  test(
    "a job available within releaseAheadMs of the release is handed out to the releasing scheduler from its availableAt on, not before; a later one stays free",
    Effect.gen(function* () {
      const { store } = yield* openStore
      const aheadMs = store.releaseAheadMs!
      expect(aheadMs).toBeGreaterThan(1)
      yield* store.addTask(makeTask())
      const { clock, time } = standingClock(Date.now())
      const startMs = time.nowMs
      const onClock = <A, E, R>(effect: Effect.Effect<A, E, R>) => Effect.withClock(effect, clock)
      const [soon, later] = yield* onClock(releaseAvailableAt(store, "s", [startMs + aheadMs - 1, startMs + aheadMs + 1_000]))
      const stored = new Map((yield* store.getJobs()).map((job) => [job.id, job]))
      expect(stored.get(soon!.id)).toMatchObject({ acquiredBy: schedulerA, availableAt: new Date(startMs + aheadMs - 1) })
      expect(stored.get(later!.id)).toMatchObject({ acquiredBy: null })
      expect(yield* onClock(store.acquireJobs(schedulerA, lease, 10))).toEqual([])
      expect(yield* onClock(store.acquireJobs(schedulerB, lease, 10))).toEqual([])
      // The job loop sleeps until it is available.
      expect(yield* onClock(store.getNextJobAvailableTime())).toEqual(Option.some(new Date(startMs + aheadMs - 1)))
      time.nowMs = startMs + aheadMs - 2
      expect(yield* onClock(store.acquireJobs(schedulerA, lease, 10))).toEqual([])
      time.nowMs = startMs + aheadMs - 1
      expect(ids(yield* onClock(store.acquireJobs(schedulerA, lease, 10)))).toEqual([soon!.id])
      // The later one is found by a look in the table once available, by either scheduler.
      expect(yield* onClock(store.getNextJobAvailableTime())).toEqual(Option.some(new Date(startMs + aheadMs + 1_000)))
      time.nowMs = startMs + aheadMs + 1_000
      expect(ids(yield* onClock(store.acquireJobs(schedulerB, lease, 10)))).toEqual([later!.id])
    })
  )

  test(
    "another scheduler of the same store does not take a hand-out that became available as its next job: it is its scheduler's",
    Effect.gen(function* () {
      const { store } = yield* openStore
      yield* store.addTask(makeTask())
      const { clock, time } = standingClock(Date.now())
      const onClock = <A, E, R>(effect: Effect.Effect<A, E, R>) => Effect.withClock(effect, clock)
      const availableMs = time.nowMs + store.releaseAheadMs! - 1
      const [soon] = yield* onClock(releaseAvailableAt(store, "t", [availableMs]))
      time.nowMs = availableMs + 1
      // B's job loop, woken meanwhile: nothing for it, and nothing due that it should wait for.
      expect(yield* onClock(store.acquireJobs(schedulerB, lease, 10))).toEqual([])
      expect(yield* onClock(store.getNextJobAvailableTime())).toEqual(Option.none())
      expect(ids(yield* onClock(store.acquireJobs(schedulerA, lease, 10)))).toEqual([soon!.id])
    })
  )

  test(
    "on the real clock, a job handed out ahead is returned by acquireJobs once its availableAt passed, never before",
    Effect.gen(function* () {
      const { store } = yield* openStore
      yield* store.addTask(makeTask())
      const availableAt = Date.now() + store.releaseAheadMs! - 5
      const [job] = yield* releaseAvailableAt(store, "s", [availableAt])
      expect(yield* store.getJobs()).toMatchObject([{ id: job!.id, acquiredBy: schedulerA }])
      let found: ReadonlyArray<Job> = []
      while (found.length === 0) {
        found = yield* store.acquireJobs(schedulerA, lease, 10)
        const returnedMs = Date.now()
        if (found.length === 0) {
          // It is the next job available: the job loop sleeps until then, as here.
          expect(yield* store.getNextJobAvailableTime()).toEqual(Option.some(new Date(availableAt)))
          yield* Effect.sleep(Math.max(1, availableAt - Date.now()))
        } else {
          expect(returnedMs).toBeGreaterThanOrEqual(availableAt)
        }
      }
      expect(ids(found)).toEqual([job!.id])
    })
  )

  test(
    "after a look for jobs found none, a job another store adds is found at once (its JobAdded heard), one added unannounced once the store stops trusting its empty look (after a second)",
    Effect.gen(function* () {
      const open = yield* storesOnOneBroker
      const here = yield* open
      const there = yield* open
      yield* here.addTask(makeTask())
      expect(yield* here.acquireJobs(schedulerA, lease, 10)).toEqual([])
      const announced = makeJob(0)
      yield* there.addJob(announced)
      expect((yield* here.acquireJobs(schedulerA, lease, 10)).map((job) => job.id)).toEqual([announced.id])
      expect(yield* here.acquireJobs(schedulerA, lease, 10)).toEqual([])
      // Added by a store on another broker: nothing heard here.
      const elsewhere = Context.get(
        yield* Layer.build(
          PostgresStore.layer({ url: database.url(), schema, synchronousCommit: "off" }).pipe(Layer.provide(LocalBroker.layer))
        ),
        DataStore
      )
      const unannounced = makeJob(1)
      yield* elsewhere.addJob(unannounced)
      const startedMs = Date.now()
      let found = yield* here.acquireJobs(schedulerA, lease, 10)
      while (found.length === 0 && Date.now() - startedMs < 3_000) {
        yield* Effect.sleep("50 millis")
        found = yield* here.acquireJobs(schedulerA, lease, 10)
      }
      expect(found.map((job) => job.id)).toEqual([unannounced.id])
    })
  )

  test(
    "a task kept from a read is dropped once another process's store changes it (its TaskUpdated heard)",
    Effect.gen(function* () {
      const open = yield* storesOnOneBroker
      const here = yield* open
      const there = yield* open
      yield* here.addTask(makeTask({ metadata: { v: 1 } }))
      expect((yield* here.getTask(taskId)).metadata).toEqual({ v: 1 })
      yield* there.addTask(makeTask({ metadata: { v: 2 } }))
      expect((yield* here.getTask(taskId)).metadata).toEqual({ v: 2 })
      yield* there.removeTask(taskId)
      expect(yield* Effect.flip(here.getTask(taskId))).toMatchObject({ _tag: "TaskNotFound" })
    })
  )
})
