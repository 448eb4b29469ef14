/** The sqlite HandlerDirectory on a real file: records, and remote handlers surviving a server restart. */
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Fiber, Layer } from "effect"
import * as LocalBroker from "../../../../src/components/broker/Local.js"
import * as Sqlite from "../../../../src/components/datastore/Sqlite.js"
import * as Zmq from "../../../../src/components/registry/Zmq.js"
import * as SqliteDirectory from "../../../../src/components/registry/zmq/SqliteDirectory.js"
import { defineHandler, runHandler } from "../../../../src/handler/index.js"
import { DataStore } from "../../../../src/services/DataStore.js"
import { HandlerDirectory, HandlerInstanceRecord } from "../../../../src/services/HandlerDirectory.js"
import { type HandlerInfo, HandlerRegistry } from "../../../../src/services/HandlerRegistry.js"
import { job, task, token } from "./fixtures.js"

const tempDatabase = Effect.acquireRelease(
  Effect.sync(() => fs.mkdtempSync(path.join(os.tmpdir(), "sz-directory-"))),
  (dir) => Effect.sync(() => fs.rmSync(dir, { recursive: true, force: true }))
).pipe(Effect.map((dir) => path.join(dir, "data", "sz.db")))

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

/** Open file descriptors of this process on exactly `filename` (one per SQLite connection). */
const connectionsTo = (filename: string): number =>
  fs.readdirSync("/proc/self/fd").filter((fd) => {
    try {
      return fs.readlinkSync(`/proc/self/fd/${fd}`) === filename
    } catch {
      return false
    }
  }).length

/** The store, its directory and the zmq registry on one SQLite file, as a deployment builds them. */
const serverLayer = (filename: string, endpoint = "tcp://127.0.0.1:0") =>
  Layer.mergeAll(
    Sqlite.layer({ filename }).pipe(Layer.provide(LocalBroker.layer)),
    Zmq.layer({ endpoint, heartbeatInterval: "100 millis", credentials: { test: Zmq.hashToken(token) } }).pipe(
      Layer.provideMerge(SqliteDirectory.layerOnStore({ filename }))
    )
  )

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

describe("sqlite handler directory", () => {
  it.scopedLive("saves, replaces, lists in order and removes records in the file", () =>
    Effect.gen(function*() {
      const filename = yield* tempDatabase
      const directory = yield* Effect.provide(HandlerDirectory, yield* Layer.build(SqliteDirectory.layerOnStore({ filename })))
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
      const filename = yield* tempDatabase
      // What a server that crashed would leave behind: an instance still marked online.
      yield* Effect.scoped(
        Effect.flatMap(HandlerDirectory, (directory) => directory.save(record("ghost-1", "ghost"))).pipe(
          Effect.provide(SqliteDirectory.layerOnStore({ filename }))
        )
      )
      const endpoint = yield* Effect.scoped(
        Effect.gen(function*() {
          const { endpoint } = yield* Zmq.ZmqRegistry
          yield* DataStore
          // The store and the directory share one connection to the file.
          expect(connectionsTo(filename)).toBe(1)
          const fiber = yield* Effect.fork(runHandler(handler, { endpoint, credential: token, instanceId: "keeper" }))
          yield* until((info) => info?.status === "online")
          yield* Fiber.interrupt(fiber)
          return endpoint
        }).pipe(Effect.provide(serverLayer(filename)))
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
          expect((yield* registry.list()).find((h) => h.id === "ghost")).toMatchObject({ status: "offline", methods: ["purge", "render"] })

          // A job for the offline handler waits for it rather than failing.
          const waiting = yield* Effect.fork(registry.run(job({ startDeadline: new Date(Date.now() + 20_000) }), task("ping")))
          const fiber = yield* Effect.fork(runHandler(handler, { endpoint, credential: token, instanceId: "keeper" }))
          expect(yield* Fiber.join(waiting)).toBe("pong")
          expect((yield* listed)?.status).toBe("online")
          expect((yield* directory.list()).map((r) => [r.instanceId, r.status])).toEqual([
            ["ghost-1", "offline"],
            ["keeper", "online"]
          ])
          yield* Fiber.interrupt(fiber)
        }).pipe(Effect.provide(serverLayer(filename, endpoint)))
      )
    }).pipe(Effect.scoped))
})
