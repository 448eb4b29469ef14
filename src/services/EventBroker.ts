/**
 * Publishes scheduler events to subscribers. Implementations: local (PubSub),
 * zmq (PUB socket), postgres (LISTEN/NOTIFY).
 */
import { Context, type Effect, type Scope, type Stream } from "effect"
import type { SchedulerEvent } from "../domain/events.js"

/** Called synchronously with each event; must be cheap and must not throw. */
export type EventListener = (event: SchedulerEvent) => void

export interface EventBrokerShape {
  readonly publish: (event: SchedulerEvent) => Effect.Effect<void>
  readonly publishAll: (events: ReadonlyArray<SchedulerEvent>) => Effect.Effect<void>
  /**
   * Subscribes now (in the caller's scope), so no event published after this
   * effect completes is missed; the stream yields the events that pass `filter`.
   */
  readonly subscribe: (
    filter?: (event: SchedulerEvent) => boolean
  ) => Effect.Effect<Stream.Stream<SchedulerEvent>, never, Scope.Scope>
  /**
   * Optional fast path: from now until the scope closes, `listener` is called
   * synchronously with every event `subscribe` would yield (other processes' events
   * included), as it is published — no queue, no stream step per event. The
   * scheduler wakes its loops this way; a broker without it is subscribed to.
   */
  readonly listen?: (listener: EventListener) => Effect.Effect<void, never, Scope.Scope>
}

export class EventBroker extends Context.Tag("schedulezero/EventBroker")<EventBroker, EventBrokerShape>() {}
