/**
 * The `local` EventBroker: an in-process PubSub.
 *
 * The buffer is a large *sliding* one rather than unbounded. The scheduler
 * publishes about three events per job at 50,000 jobs/s; with an unbounded
 * buffer one stalled subscriber (a slow SSE client, a stream nobody drains)
 * would grow the heap without limit until the process dies. A sliding buffer
 * bounds memory: a subscriber that falls more than `capacity` events behind
 * loses its oldest events, while subscribers that keep up lose nothing and the
 * publisher never waits. Events are notifications; the store stays the source
 * of truth.
 *
 * Listeners (EventBroker.listen) are called synchronously at publication. With
 * nobody subscribed, publishing enters no PubSub and, without listeners either,
 * returns at once without building an effect chain (the scheduler's store
 * publishes for every job).
 */
import { Effect, Layer, PubSub, Stream } from "effect"
import type { SchedulerEvent } from "../../domain/events.js"
import { EventBroker, type EventBrokerShape, type EventListener } from "../../services/EventBroker.js"

/** Events a subscriber may fall behind before it loses the oldest (a power of two, for PubSub's fast path). */
export const defaultCapacity = 65_536

/**
 * The buffer of a small-heap mode (autonomous, on edge boxes): PubSub
 * allocates its buffer whole at start, and 65,536 slots (twice: events and
 * their subscriber counts) are 1 MB of heap an edge box that runs a few
 * schedules never fills.
 */
export const smallHeapCapacity = 4_096

export const make = (options?: { readonly capacity?: number }): Effect.Effect<EventBrokerShape> =>
  Effect.map(PubSub.sliding<SchedulerEvent>(options?.capacity ?? defaultCapacity), (pubsub) => {
    // Counted here so that publishing to nobody returns without entering PubSub at all.
    let subscribers = 0
    const subscription = Effect.acquireRelease(
      Effect.tap(PubSub.subscribe(pubsub), () => {
        subscribers++
      }),
      () =>
        Effect.sync(() => {
          subscribers--
        })
    )
    const listeners = new Set<EventListener>()
    const toSubscribers = (event: SchedulerEvent) =>
      subscribers === 0 ? Effect.void : Effect.asVoid(PubSub.publish(pubsub, event))
    const allToSubscribers = (events: ReadonlyArray<SchedulerEvent>) =>
      subscribers === 0 ? Effect.void : Effect.asVoid(PubSub.publishAll(pubsub, events))
    return {
      publish: (event) =>
        listeners.size === 0
          ? toSubscribers(event)
          : Effect.suspend(() => {
            for (const listener of listeners) listener(event)
            return toSubscribers(event)
          }),
      publishAll: (events) =>
        events.length === 0
          ? Effect.void
          : listeners.size === 0
          ? allToSubscribers(events)
          : Effect.suspend(() => {
            for (const listener of listeners) for (const event of events) listener(event)
            return allToSubscribers(events)
          }),
      listen: (listener) =>
        Effect.acquireRelease(
          Effect.sync(() => {
            listeners.add(listener)
          }),
          () =>
            Effect.sync(() => {
              listeners.delete(listener)
            })
        ),
      // PubSub.subscribe registers the subscription in the caller's scope right
      // away; Stream.fromPubSub would only subscribe once the stream is run.
      subscribe: (filter) =>
        Effect.map(subscription, (dequeue) => {
          const stream = Stream.fromQueue(dequeue)
          return filter === undefined ? stream : Stream.filter(stream, filter)
        })
    }
  })

export const layerWithCapacity = (capacity: number): Layer.Layer<EventBroker> =>
  Layer.effect(EventBroker, make({ capacity }))

export const layer: Layer.Layer<EventBroker> = layerWithCapacity(defaultCapacity)
