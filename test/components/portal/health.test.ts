/** Health reports real state: a store that does not answer makes it 503 Degraded. */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import * as LocalBroker from "../../../src/components/broker/Local.js"
import * as MemoryStore from "../../../src/components/datastore/Memory.js"
import * as Portal from "../../../src/components/portal/Portal.js"
import * as LocalRegistry from "../../../src/components/registry/Local.js"
import { DataStore } from "../../../src/services/DataStore.js"
import * as SchedulerLive from "../../../src/services/scheduler/layer.js"
import { call, probe } from "./harness.js"

/** The memory store, except that the health probe's query never answers (a hung database). */
const hungStore = Layer.effect(
  DataStore,
  Effect.map(DataStore, (store) => ({ ...store, getNextScheduleRunTime: () => Effect.never }))
).pipe(Layer.provide(MemoryStore.layer))

const broker = LocalBroker.layer
const store = hungStore.pipe(Layer.provide(broker))
const registry = LocalRegistry.layer([probe])
const scheduler = SchedulerLive.layer({ cleanupInterval: null }).pipe(Layer.provide(Layer.mergeAll(store, registry, broker)))
const stack = Portal.layer({ port: 0 }).pipe(Layer.provideMerge(Layer.mergeAll(scheduler, store, registry, broker)))

describe("GET /api/health", () => {
  it.live("answers 503 Degraded with the report when the store does not answer", () =>
    Effect.gen(function* () {
      const { url } = yield* Portal.PortalServer
      const reply = yield* call(url, "GET", "/api/health")
      expect(reply.status).toBe(503)
      expect(reply.body.error).toMatchObject({
        tag: "Degraded",
        message: "degraded: store unreachable",
        details: { status: "degraded", store: { reachable: false, error: "did not answer within 2s" } }
      })
    }).pipe(Effect.provide(stack))
  )
})
