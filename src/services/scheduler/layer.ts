/**
 * The Scheduler's implementation as a layer: on build it reaps jobs a previous
 * run with the same id left leased, announces itself, and starts the schedule
 * loop, the job runner and periodic cleanup; closing the layer's scope stops
 * it gracefully (stop acquiring, let running jobs finish within the grace
 * period, cancel the rest, release everything, announce the stop).
 */
import { Clock, Deferred, Effect, Fiber, Layer, Ref, Stream } from "effect"
import {
  type JobCancelRequested,
  type SchedulerEvent,
  SchedulerStarted,
  SchedulerStopped
} from "../../domain/events.js"
import { DataStore } from "../DataStore.js"
import { EventBroker } from "../EventBroker.js"
import { HandlerRegistry } from "../HandlerRegistry.js"
import { Scheduler, type SchedulerState } from "../Scheduler.js"
import { makeApi } from "./Api.js"
import { startJobRunner } from "./JobRunner.js"
import { scheduleLoop } from "./ScheduleLoop.js"
import { resolveSchedulerOptions, type SchedulerOptions } from "./SchedulerOptions.js"
import { makeWakeUp } from "./WakeUp.js"

export type { SchedulerOptions } from "./SchedulerOptions.js"

const wakesALoop = (event: SchedulerEvent): boolean =>
  event._tag === "ScheduleAdded" || event._tag === "ScheduleUpdated" || event._tag === "JobAdded" ||
  event._tag === "JobReleased"

export const make = Effect.fn("Scheduler.start")(function*(schedulerOptions: SchedulerOptions = {}) {
  const options = resolveSchedulerOptions(schedulerOptions)
  const store = yield* DataStore
  const broker = yield* EventBroker
  const registry = yield* HandlerRegistry
  const state = yield* Ref.make<SchedulerState>("starting")
  const stopped = yield* Deferred.make<void>()
  const timestamp = Effect.map(Clock.currentTimeMillis, (ms) => new Date(ms))

  // Subscribed before anything runs, so no wake-up event or cancel request is missed.
  const events = yield* broker.subscribe((event) =>
    wakesALoop(event) || (event._tag === "JobCancelRequested" && event.schedulerId === options.id))
  const scheduleWakeUp = makeWakeUp()

  yield* store.reapAbandonedJobs(options.id)
  yield* broker.publish(new SchedulerStarted({ timestamp: yield* timestamp, schedulerId: options.id }))

  const runner = yield* startJobRunner({ options, registry, store })
  const jobsAdded = () => runner.wakeUp.notify(Number.NEGATIVE_INFINITY)
  const api = makeApi({ broker, cancelRunning: runner.cancel, jobsAdded, options, registry, state, stopped, store })
  const scope = yield* Effect.scope
  // Another scheduler's request to cancel a job this one runs; it may have ended or moved on meanwhile.
  const cancelOnRequest = (request: JobCancelRequested) =>
    Effect.forkIn(Effect.ignore(api.cancelJob(request.jobId, request.reason === null ? {} : { reason: request.reason })), scope)
  yield* Effect.forkScoped(Stream.runForEachChunk(events, (chunk) => {
    const requests: Array<JobCancelRequested> = []
    for (const event of chunk) {
      if (event._tag === "ScheduleAdded" || event._tag === "ScheduleUpdated") {
        if (event.nextFireTime !== null) scheduleWakeUp.notify(event.nextFireTime.getTime())
      } else if (event._tag === "JobCancelRequested") {
        requests.push(event)
      } else {
        runner.wakeUp.notify(Number.NEGATIVE_INFINITY)
      }
    }
    return requests.length === 0 ? Effect.void : Effect.forEach(requests, cancelOnRequest, { discard: true })
  }))
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
      yield* Deferred.succeed(stopped, undefined)
    })
  )

  return api
})

/** The scheduler, running while the layer is in use. */
export const layer = (
  options: SchedulerOptions = {}
): Layer.Layer<Scheduler, never, DataStore | EventBroker | HandlerRegistry> => Layer.scoped(Scheduler, make(options))
