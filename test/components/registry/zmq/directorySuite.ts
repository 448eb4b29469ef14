/**
 * What every SQL HandlerDirectory must do, run against each store: records
 * saved, replaced, listed in order and removed; and remote handlers with their
 * methods surviving a server restart, offline until they reconnect.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Fiber, Layer, type Scope } from "effect"
import * as Zmq from "../../../../src/components/registry/Zmq.js"
import { defineHandler, runHandler } from "../../../../src/handler/index.js"
import { DataStore } from "../../../../src/services/DataStore.js"
import { HandlerDirectory, HandlerInstanceRecord } from "../../../../src/services/HandlerDirectory.js"
import { type HandlerInfo, HandlerRegistry } from "../../../../src/services/HandlerRegistry.js"
import { job, task, token } from "./fixtures.js"

export interface DirectoryStore<L> {
  /** A fresh, empty store location for one test (a file, a schema). */
  readonly fresh: Effect.Effect<L, never, Scope.Scope>
  /** The directory alone, on the store at `location`. */
  readonly directory: (location: L) => Layer.Layer<HandlerDirectory, unknown>
  /** The store itself, built beside the directory as a deployment does. */
  readonly store: (location: L) => Layer.Layer<DataStore, unknown>
  /** Checked while a server runs: the store and the directory share their connections. */
  readonly sharesConnection?: (location: L) => void
}

const record = (instanceId: string, handlerId: string, status: "online" | "offline" = "online") =>
  new HandlerInstanceRecord({
    handlerId,
    instanceId,
    methods: [{ name: "render", params: { type: "object" } }, { name: "purge", params: null }],
    capacity: 4,
    status,
    registeredAt: new Date(1_700_000_000_000),
    lastSeenAt: new Date(1_700_000_005_000)
  })

const handler = defineHandler({ id: "test", concurrency: 2, methods: { echo: ({ args }) => args, ping: () => "pong" } })

const listed = Effect.flatMap(HandlerRegistry, (registry) => registry.list()).pipe(
  Effect.map((list) => list.find((h) => h.id === "test"))
)

const until = (done: (info: HandlerInfo | undefined) => boolean) =>
  Effect.gen(function*() {
    for (let i = 0; i < 500; i++) {
      const info = yield* listed
      if (done(info)) return info
      yield* Effect.sleep("10 millis")
    }
    return yield* Effect.dieMessage("timed out waiting for the handler listing")
  })

export const directorySuite = <L>(name: string, sql: DirectoryStore<L>) => {
  /** The store, its directory and the zmq registry, as a deployment builds them. */
  const serverLayer = (location: L, endpoint = "tcp://127.0.0.1:0") =>
    Layer.mergeAll(
      sql.store(location),
      Zmq.layer({ endpoint, heartbeatInterval: "100 millis", credentials: { test: Zmq.hashToken(token) } }).pipe(
        Layer.provideMerge(sql.directory(location))
      )
    )

  describe(`${name} handler directory`, () => {
    it.scopedLive("saves, replaces, lists in order and removes records", () =>
      Effect.gen(function*() {
        const location = yield* sql.fresh
        const directory = yield* Effect.provide(HandlerDirectory, yield* Layer.build(sql.directory(location)))
        yield* directory.save(record("b-1", "beta"))
        yield* directory.save(record("a-2", "alpha"))
        yield* directory.save(record("a-1", "alpha"))
        yield* directory.save(record("a-2", "alpha", "offline"))
        const all = yield* directory.list()
        expect(all.map((r) => [r.handlerId, r.instanceId, r.status])).toEqual([
          ["alpha", "a-1", "online"],
          ["alpha", "a-2", "offline"],
          ["beta", "b-1", "online"]
        ])
        expect(all[0]).toEqual(record("a-1", "alpha"))
        yield* directory.remove("a-1")
        expect((yield* directory.list()).map((r) => r.instanceId)).toEqual(["a-2", "b-1"])
      }))

    it.live("remote handlers and their methods survive a server restart, offline until they reconnect", () =>
      Effect.gen(function*() {
        const location = yield* sql.fresh
        // What a server that crashed would leave behind: an instance still marked online.
        yield* Effect.scoped(
          Effect.flatMap(HandlerDirectory, (directory) => directory.save(record("ghost-1", "ghost"))).pipe(
            Effect.provide(sql.directory(location))
          )
        )
        const endpoint = yield* Effect.scoped(
          Effect.gen(function*() {
            const { endpoint } = yield* Zmq.ZmqRegistry
            yield* DataStore
            sql.sharesConnection?.(location)
            const fiber = yield* Effect.fork(runHandler(handler, { endpoint, credential: token, instanceId: "keeper" }))
            yield* until((info) => info?.status === "online")
            yield* Fiber.interrupt(fiber)
            return endpoint
          }).pipe(Effect.provide(serverLayer(location)))
        )

        yield* Effect.scoped(
          Effect.gen(function*() {
            const registry = yield* HandlerRegistry
            const known = yield* listed
            expect(known).toMatchObject({ id: "test", kind: "remote", status: "offline", methods: ["echo", "ping"] })
            expect(known?.instances).toMatchObject([{ instanceId: "keeper", status: "offline", capacity: 2, lastHeartbeat: null }])
            yield* registry.validate("test", "ping")
            expect((yield* Effect.flip(registry.validate("test", "nope")))._tag).toBe("MethodNotFound")
            const directory = yield* HandlerDirectory
            expect((yield* directory.list()).map((r) => [r.instanceId, r.status])).toEqual([
              ["ghost-1", "offline"],
              ["keeper", "offline"]
            ])
            expect((yield* registry.list()).find((h) => h.id === "ghost")).toMatchObject({
              status: "offline",
              methods: ["purge", "render"]
            })

            // A job for the offline handler waits for it rather than failing.
            const waiting = yield* Effect.fork(registry.run(job({ startDeadline: new Date(Date.now() + 20_000) }), task("ping")))
            const fiber = yield* Effect.fork(runHandler(handler, { endpoint, credential: token, instanceId: "keeper" }))
            expect(yield* Fiber.join(waiting)).toBe("pong")
            expect((yield* listed)?.status).toBe("online")
            // The registry writes the record after it answers the register: wait for the write.
            const statuses = Effect.map(directory.list(), (records) => records.map((r) => [r.instanceId, r.status]))
            for (let i = 0; i < 500 && (yield* statuses)[1]?.[1] !== "online"; i++) yield* Effect.sleep("10 millis")
            expect(yield* statuses).toEqual([
              ["ghost-1", "offline"],
              ["keeper", "online"]
            ])
            yield* Fiber.interrupt(fiber)
          }).pipe(Effect.provide(serverLayer(location, endpoint)))
        )
      }).pipe(Effect.scoped))
  })
}
