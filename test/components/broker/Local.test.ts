import { describe, expect, it } from "@effect/vitest"
import { Chunk, Effect, Exit, Fiber, Scope, Stream } from "effect"
import * as LocalBroker from "../../../src/components/broker/Local.js"
import { TaskAdded, TaskRemoved, type SchedulerEvent } from "../../../src/domain/events.js"
import { TaskId } from "../../../src/domain/ids.js"
import { EventBroker } from "../../../src/services/EventBroker.js"

const taskAdded = (id: string) => new TaskAdded({ timestamp: new Date(0), taskId: TaskId.make(id) })
const taskRemoved = (id: string) => new TaskRemoved({ timestamp: new Date(0), taskId: TaskId.make(id) })
const ids = (events: Chunk.Chunk<SchedulerEvent>) =>
  Chunk.toReadonlyArray(events).map((event) => `${event._tag}:${"taskId" in event ? event.taskId : ""}`)

describe("local EventBroker", () => {
  it.scoped("delivers every event published after subscribe returns, in order", () =>
    Effect.gen(function* () {
      const broker = yield* EventBroker
      const stream = yield* broker.subscribe()
      // Published before anything reads the stream: the subscription already exists.
      yield* broker.publish(taskAdded("a"))
      yield* broker.publishAll([taskRemoved("a"), taskAdded("b")])
      const received = yield* Stream.runCollect(Stream.take(stream, 3))
      expect(ids(received)).toEqual(["TaskAdded:a", "TaskRemoved:a", "TaskAdded:b"])
    }).pipe(Effect.provide(LocalBroker.layer))
  )

  it.scoped("applies the subscriber's filter and fans out to every subscriber", () =>
    Effect.gen(function* () {
      const broker = yield* EventBroker
      const all = yield* broker.subscribe()
      const removals = yield* broker.subscribe((event) => event._tag === "TaskRemoved")
      yield* broker.publishAll([taskAdded("a"), taskRemoved("a"), taskAdded("b"), taskRemoved("b")])
      expect(ids(yield* Stream.runCollect(Stream.take(all, 4)))).toEqual([
        "TaskAdded:a",
        "TaskRemoved:a",
        "TaskAdded:b",
        "TaskRemoved:b"
      ])
      expect(ids(yield* Stream.runCollect(Stream.take(removals, 2)))).toEqual(["TaskRemoved:a", "TaskRemoved:b"])
    }).pipe(Effect.provide(LocalBroker.layer))
  )

  it.scoped("publishing with no subscriber succeeds and is not replayed to later subscribers", () =>
    Effect.gen(function* () {
      const broker = yield* EventBroker
      yield* broker.publishAll(Array.from({ length: 10_000 }, (_, i) => taskAdded(`early-${i}`)))
      const stream = yield* broker.subscribe()
      yield* broker.publish(taskAdded("late"))
      expect(ids(yield* Stream.runCollect(Stream.take(stream, 1)))).toEqual(["TaskAdded:late"])
    }).pipe(Effect.provide(LocalBroker.layer))
  )

  it.scoped("a subscriber that falls more than the capacity behind loses the oldest events, not the newest", () =>
    Effect.gen(function* () {
      const broker = yield* LocalBroker.make({ capacity: 4 })
      const stream = yield* broker.subscribe()
      yield* broker.publishAll(["1", "2", "3", "4", "5", "6"].map(taskAdded))
      expect(ids(yield* Stream.runCollect(Stream.take(stream, 4)))).toEqual([
        "TaskAdded:3",
        "TaskAdded:4",
        "TaskAdded:5",
        "TaskAdded:6"
      ])
    })
  )

  it.scoped("after a subscriber leaves, later subscribers still receive what is published", () =>
    Effect.gen(function* () {
      const broker = yield* EventBroker
      yield* Effect.scoped(
        Effect.flatMap(broker.subscribe(), (stream) =>
          Effect.zipRight(broker.publish(taskAdded("first")), Stream.runCollect(Stream.take(stream, 1)))
        )
      )
      yield* broker.publish(taskAdded("unheard"))
      const stream = yield* broker.subscribe()
      yield* broker.publish(taskAdded("second"))
      expect(ids(yield* Stream.runCollect(Stream.take(stream, 1)))).toEqual(["TaskAdded:second"])
    }).pipe(Effect.provide(LocalBroker.layer))
  )

  it.scoped("a subscription ends with the subscriber's scope", () =>
    Effect.gen(function* () {
      const broker = yield* EventBroker
      const fiber = yield* Effect.scoped(
        Effect.map(broker.subscribe(), (stream) => stream)
      ).pipe(Effect.flatMap((stream) => Stream.runCollect(stream)), Effect.fork)
      const exit = yield* Fiber.await(fiber)
      // The stream's queue was shut down when the scope closed, so draining it ends at once.
      expect(exit._tag).toBe("Success")
    }).pipe(Effect.provide(LocalBroker.layer))
  )

  it.scoped("a listener is called synchronously with each event while its scope is open, beside subscribers", () =>
    Effect.gen(function* () {
      const broker = yield* EventBroker
      const heard: Array<string> = []
      const listening = yield* Scope.make()
      yield* Scope.extend(broker.listen!((event) => heard.push(`${event._tag}:${"taskId" in event ? event.taskId : ""}`)), listening)
      yield* broker.publish(taskAdded("a"))
      expect(heard).toEqual(["TaskAdded:a"])
      const stream = yield* broker.subscribe()
      yield* broker.publishAll([taskRemoved("a"), taskAdded("b")])
      expect(heard).toEqual(["TaskAdded:a", "TaskRemoved:a", "TaskAdded:b"])
      expect(ids(yield* Stream.runCollect(Stream.take(stream, 2)))).toEqual(["TaskRemoved:a", "TaskAdded:b"])
      yield* Scope.close(listening, Exit.void)
      yield* broker.publish(taskAdded("unheard"))
      expect(heard).toHaveLength(3)
    }).pipe(Effect.provide(LocalBroker.layer))
  )
})
