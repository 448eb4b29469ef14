/** The zmq registry publishes handler.online / handler.offline on the deployment's EventBroker. */
import { describe, expect, it } from "@effect/vitest"
import { Chunk, Effect, Fiber, Layer, Stream } from "effect"
import * as LocalBroker from "../../../../src/components/broker/Local.js"
import { ZmqRegistry } from "../../../../src/components/registry/Zmq.js"
import { defineHandler, runHandler } from "../../../../src/handler/index.js"
import { EventBroker } from "../../../../src/services/EventBroker.js"
import { registryLayer, token } from "./fixtures.js"

const handler = defineHandler({ id: "test", concurrency: 1, methods: { echo: ({ args }) => args } })

describe("zmq registry: handler events", () => {
  it.live("an instance registering publishes HandlerOnline; one leaving publishes HandlerOffline with the count left", () =>
    Effect.scoped(Effect.gen(function*() {
      const { endpoint } = yield* ZmqRegistry
      const broker = yield* EventBroker
      const events = yield* broker.subscribe((event) => event._tag === "HandlerOnline" || event._tag === "HandlerOffline")
      const first = yield* Effect.fork(runHandler(handler, { endpoint, credential: token, instanceId: "h-1" }))
      const second = yield* Effect.fork(runHandler(handler, { endpoint, credential: token, instanceId: "h-2" }))
      const online = Chunk.toReadonlyArray(yield* Stream.runCollect(Stream.take(events, 2)))
      expect(online.map((event) => event._tag)).toEqual(["HandlerOnline", "HandlerOnline"])
      expect(online).toEqual([expect.objectContaining({ handlerId: "test" }), expect.objectContaining({ handlerId: "test" })])
      expect(online.map((event) => (event._tag === "HandlerOnline" ? event.instancesOnline : -1)).sort()).toEqual([1, 2])
      yield* Fiber.interrupt(first)
      const [offline] = Chunk.toReadonlyArray(yield* Stream.runCollect(Stream.take(events, 1)))
      expect(offline).toMatchObject({ _tag: "HandlerOffline", handlerId: "test", instanceId: "h-1", instancesOnline: 1 })
      expect(offline).toMatchObject({ reason: "drained" })
      yield* Fiber.interrupt(second)
      const [last] = Chunk.toReadonlyArray(yield* Stream.runCollect(Stream.take(events, 1)))
      expect(last).toMatchObject({ _tag: "HandlerOffline", instanceId: "h-2", instancesOnline: 0 })
    })).pipe(Effect.provide(registryLayer().pipe(Layer.provideMerge(LocalBroker.layer)))))
})
