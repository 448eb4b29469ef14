/**
 * Test wiring for the scheduler: a memory store on a local broker, local
 * handlers, an event recorder to wait on, and a way to move the TestClock
 * until a condition holds.
 */
import { type Duration, Effect, Fiber, Layer, Option, type Scope, Stream, SubscriptionRef, TestClock } from "effect"
import * as LocalBroker from "../../../src/components/broker/Local.js"
import * as MemoryStore from "../../../src/components/datastore/Memory.js"
import * as LocalRegistry from "../../../src/components/registry/Local.js"
import type { SchedulerEvent } from "../../../src/domain/events.js"
import { DataStore } from "../../../src/services/DataStore.js"
import { EventBroker } from "../../../src/services/EventBroker.js"
import type { HandlerRegistry } from "../../../src/services/HandlerRegistry.js"
import * as SchedulerLive from "../../../src/services/scheduler/layer.js"

/** A Monday noon in UTC: the TestClock's time when a test's scheduler starts. */
export const T0 = Date.parse("2026-01-05T12:00:00Z")
export const at = (offsetMs: number): Date => new Date(T0 + offsetMs)

/**
 * Sets the TestClock to T0. Must come before any scheduler starts: moving the
 * clock by 56 years afterwards would run every periodic cleanup tick in between.
 */
export const clockAtT0 = Layer.effectDiscard(TestClock.setTime(T0))

/** Store, broker and handlers, shared by every scheduler a test starts; the clock at T0. */
export const infrastructure = (
  handlers: ReadonlyArray<LocalRegistry.LocalHandler>
): Layer.Layer<DataStore | EventBroker | HandlerRegistry | LocalRegistry.LocalHandlers> =>
  Layer.mergeAll(MemoryStore.layer.pipe(Layer.provideMerge(LocalBroker.layer)), LocalRegistry.layer(handlers)).pipe(
    Layer.provide(clockAtT0)
  )

/** One scheduler over its own infrastructure. */
export const schedulerStack = (
  handlers: ReadonlyArray<LocalRegistry.LocalHandler>,
  options: SchedulerLive.SchedulerOptions = {}
) => SchedulerLive.layer(options).pipe(Layer.provideMerge(infrastructure(handlers)))

export interface EventLog {
  readonly all: Effect.Effect<ReadonlyArray<SchedulerEvent>>
  /** Waits until the events recorded so far satisfy `done`; returns them. */
  readonly waitFor: (
    done: (events: ReadonlyArray<SchedulerEvent>) => boolean
  ) => Effect.Effect<ReadonlyArray<SchedulerEvent>>
}

/** Records every event published from now on. */
export const recordEvents: Effect.Effect<EventLog, never, EventBroker | Scope.Scope> = Effect.gen(function*() {
  const broker = yield* EventBroker
  const stream = yield* broker.subscribe()
  const log = yield* SubscriptionRef.make<ReadonlyArray<SchedulerEvent>>([])
  yield* Effect.forkScoped(Stream.runForEach(stream, (event) => SubscriptionRef.update(log, (all) => [...all, event])))
  return {
    all: SubscriptionRef.get(log),
    waitFor: (done) =>
      log.changes.pipe(
        Stream.filter(done),
        Stream.runHead,
        Effect.map(Option.getOrThrow)
      )
  }
})

export const ofTag = <T extends SchedulerEvent["_tag"]>(events: ReadonlyArray<SchedulerEvent>, tag: T) =>
  events.filter((event): event is Extract<SchedulerEvent, { _tag: T }> => event._tag === tag)

export const countOf = (tag: SchedulerEvent["_tag"], n: number) => (events: ReadonlyArray<SchedulerEvent>) =>
  ofTag(events, tag).length >= n

/**
 * Runs `effect` while moving the TestClock forward in `step`s until it completes
 * (each step also lets background fibers run); fails after `maxSteps`.
 */
export const advanceUntilDone = <A, E, R>(
  effect: Effect.Effect<A, E, R>,
  step: Duration.DurationInput = "1 second",
  maxSteps = 10_000
): Effect.Effect<A, E | Error, R> =>
  Effect.gen(function*() {
    const fiber = yield* Effect.fork(effect)
    for (let i = 0; i < maxSteps; i++) {
      yield* TestClock.adjust(0)
      if (Option.isSome(yield* Fiber.poll(fiber))) return yield* Fiber.join(fiber)
      yield* TestClock.adjust(step)
    }
    yield* Fiber.interrupt(fiber)
    return yield* Effect.fail(new Error(`not done after ${maxSteps} steps of ${step}`))
  })

/** Lets background fibers run without moving the clock. */
export const settle = Effect.zipRight(TestClock.adjust(0), TestClock.adjust(0))

/**
 * The memory store (on the local broker) with the job loop's store rounds counted: its
 * job acquisitions and next-job reads.
 */
export const countedMemoryStore = () => {
  const rounds = { acquire: 0, next: 0 }
  const counted = Layer.effect(
    DataStore,
    Effect.map(DataStore, (store) => ({
      ...store,
      acquireJobs: (...args: Parameters<typeof store.acquireJobs>) => {
        rounds.acquire++
        return store.acquireJobs(...args)
      },
      getNextJobAvailableTime: () => {
        rounds.next++
        return store.getNextJobAvailableTime()
      }
    }))
  )
  return { rounds, layer: counted.pipe(Layer.provideMerge(MemoryStore.layer), Layer.provideMerge(LocalBroker.layer)) }
}
