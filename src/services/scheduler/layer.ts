/**
 * The Scheduler's implementation as a layer: on build it reaps jobs a previous
 * run with the same id left leased, announces itself, and starts the schedule
 * loop, the job runner and periodic cleanup; closing the layer's scope stops
 * it gracefully (stop acquiring, let running jobs finish within the grace
 * period, cancel the rest, release everything, announce the stop).
 */
import { Clock, Effect, Fiber, Layer, Queue, Ref, Stream } from "effect"
import { withoutValue } from "../../domain/churn.js"
import {
  type JobCancelRequested,
  type SchedulerEvent,
  SchedulerStarted,
  SchedulerStopped
} from "../../domain/events.js"
import type { JobId, SchedulerId, TaskId } from "../../domain/ids.js"
import { DataStore, type DataStoreShape } from "../DataStore.js"
import { EventBroker, type EventBrokerShape, type EventListener } from "../EventBroker.js"
import { HandlerRegistry } from "../HandlerRegistry.js"
import { Scheduler, type SchedulerState } from "../Scheduler.js"
import { makeApi } from "./Api.js"
import { startJobRunner } from "./JobRunner.js"
import { makeJobWakeUp } from "./JobWakeUp.js"
import { scheduleLoop } from "./ScheduleLoop.js"
import { resolveSchedulerOptions, type SchedulerOptions } from "./SchedulerOptions.js"
import { makeReleaseWaiters } from "./ReleaseWaiters.js"
import { makeWakeUp } from "./WakeUp.js"

export type { SchedulerOptions } from "./SchedulerOptions.js"

/**
 * The events a scheduler reacts to: they may make a schedule or job due sooner, ask it to cancel
 * a job, or change what it knows of a task's limit.
 */
const concerns = (schedulerId: SchedulerId) => (event: SchedulerEvent): boolean =>
  event._tag === "ScheduleAdded" || event._tag === "ScheduleUpdated" || event._tag === "JobAdded" ||
  event._tag === "JobAcquired" || event._tag === "JobReleased" || event._tag === "TaskUpdated" || event._tag === "TaskRemoved" ||
  (event._tag === "JobCancelRequested" && event.schedulerId === schedulerId)

/**
 * The tasks known to have no maxRunningJobs, learnt from every task the scheduler's loops look
 * up (each batch does) and forgotten when the task changes. Another scheduler's release of a job
 * of such a task that retries nothing frees nothing this scheduler's job loop could wait for:
 * with several schedulers, waking for each of those cost every job loop a store round per job.
 */
const makeUnlimitedTasks = (store: DataStoreShape) => {
  const unlimited = new Set<TaskId>()
  const learning: DataStoreShape = {
    ...store,
    getTask: (id) =>
      Effect.tap(store.getTask(id), (task) => {
        if (task.maxRunningJobs === null) unlimited.add(task.id)
        else unlimited.delete(task.id)
      })
  }
  return { store: learning, has: (id: TaskId) => unlimited.has(id), forget: (id: TaskId) => unlimited.delete(id) }
}

/** Calls `onEvent` with each event the scheduler is concerned with: synchronously when the broker can, else from a subscription. */
const followEvents = (broker: EventBrokerShape, schedulerId: SchedulerId, onEvent: EventListener) =>
  broker.listen !== undefined
    ? broker.listen(onEvent)
    : Effect.flatMap(broker.subscribe(concerns(schedulerId)), (events) =>
      Effect.forkScoped(Stream.runForEachChunk(events, (chunk) =>
        Effect.sync(() => {
          for (const event of chunk) onEvent(event)
        }))))

export const make = Effect.fn("Scheduler.start")(function*(schedulerOptions: SchedulerOptions = {}) {
  const options = resolveSchedulerOptions(schedulerOptions)
  const unlimitedTasks = makeUnlimitedTasks(yield* DataStore)
  const store = unlimitedTasks.store
  const broker = yield* EventBroker
  const registry = yield* HandlerRegistry
  const state = yield* Ref.make<SchedulerState>("starting")
  const timestamp = Effect.map(Clock.currentTimeMillis, (ms) => new Date(ms))

  const scheduleWakeUp = makeWakeUp()
  const jobWakeUp = makeJobWakeUp()
  const waiters = makeReleaseWaiters()
  const cancelRequests = yield* Queue.unbounded<JobCancelRequested>()
  // A JobAdded wakes the job loop unless the events delivered with it say the job is
  // acquired already: a postgres schedule release leases its jobs to the scheduler that
  // released them (JobAdded then JobAcquired, one batch), so the others' job loops would
  // each spend a store round finding nothing. Checked once the batch is delivered.
  let addedPending = new Set<JobId>()
  let addedFlushQueued = false
  const flushAdded = () => {
    addedFlushQueued = false
    if (addedPending.size === 0) return
    addedPending = new Set()
    jobWakeUp.notify(Number.NEGATIVE_INFINITY)
  }
  // Followed before anything runs, so no wake-up or cancel request is missed.
  yield* followEvents(broker, options.id, (event) => {
    switch (event._tag) {
      case "ScheduleAdded":
      case "ScheduleUpdated":
        if (event.nextFireTime !== null) scheduleWakeUp.notify(event.nextFireTime.getTime())
        return
      case "JobAdded":
        addedPending.add(event.jobId)
        if (!addedFlushQueued) {
          addedFlushQueued = true
          queueMicrotask(flushAdded)
        }
        return
      case "JobAcquired":
        addedPending = withoutValue(addedPending, event.jobId)
        return
      case "JobReleased":
        // This scheduler's own releases wake its job loop directly (JobRunner).
        if (event.schedulerId !== options.id && (event.willRetry || !unlimitedTasks.has(event.taskId))) {
          jobWakeUp.notify(Number.NEGATIVE_INFINITY)
        }
        waiters.released(event)
        return
      case "TaskUpdated":
      case "TaskRemoved":
        unlimitedTasks.forget(event.taskId)
        return
      case "JobCancelRequested":
        if (event.schedulerId === options.id) Queue.unsafeOffer(cancelRequests, event)
        return
    }
  })

  yield* store.reapAbandonedJobs(options.id)
  yield* broker.publish(new SchedulerStarted({ timestamp: yield* timestamp, schedulerId: options.id }))

  const runner = yield* startJobRunner({ finished: waiters.finished, options, registry, store, wakeUp: jobWakeUp })
  const jobsAdded = () => jobWakeUp.notify(Number.NEGATIVE_INFINITY)
  const api = makeApi({
    broker,
    cancelRunning: runner.cancel,
    jobsAdded,
    options,
    registry,
    runNow: runner.runNow,
    state,
    store,
    waiters
  })
  // Another scheduler's request to cancel a job this one runs; it may have ended or moved on meanwhile.
  const cancelOnRequest = (request: JobCancelRequested) =>
    Effect.forkScoped(
      Effect.ignore(api.cancelJob(request.jobId, request.reason === null ? {} : { reason: request.reason }))
    )
  yield* Effect.forkScoped(Effect.forever(Effect.flatMap(Queue.take(cancelRequests), cancelOnRequest)))
  const scheduleFiber = yield* Effect.forkScoped(scheduleLoop({ jobsAdded, options, store, wakeUp: scheduleWakeUp }))
  const cleanupFiber = options.cleanupInterval === null
    ? null
    : yield* Effect.forkScoped(Effect.forever(Effect.zipRight(Effect.sleep(options.cleanupInterval), store.cleanup())))
  yield* Ref.set(state, "running")

  // Added last, so it runs before the scope interrupts the fibers above.
  yield* Effect.addFinalizer(() =>
    Effect.gen(function*() {
      yield* Ref.set(state, "stopping")
      yield* Fiber.interrupt(scheduleFiber)
      if (cleanupFiber !== null) yield* Fiber.interrupt(cleanupFiber)
      yield* runner.stop
      yield* broker.publish(new SchedulerStopped({ timestamp: yield* timestamp, schedulerId: options.id }))
      yield* Ref.set(state, "stopped")
      waiters.close()
    })
  )

  return api
})

/** The scheduler, running while the layer is in use. */
export const layer = (
  options: SchedulerOptions = {}
): Layer.Layer<Scheduler, never, DataStore | EventBroker | HandlerRegistry> => Layer.scoped(Scheduler, make(options))
