import { describe, expect, it } from "@effect/vitest"
import { Cause, Duration, Effect, Exit, Layer } from "effect"
import * as LocalBroker from "../../../src/components/broker/Local.js"
import * as MemoryStore from "../../../src/components/datastore/Memory.js"
import { DataStore } from "../../../src/services/DataStore.js"
import { dataStoreContract, makeJob, makeTask, schedulerA } from "./contract.js"

const layer = Layer.provideMerge(MemoryStore.layer, LocalBroker.layer)

dataStoreContract("memory", layer)

describe("memory DataStore", () => {
  it.effect("addJobs with a taken or repeated job id dies and adds none of the jobs", () =>
    Effect.gen(function* () {
      const store = yield* DataStore
      yield* store.addTask(makeTask())
      const stored = makeJob(0)
      yield* store.addJob(stored)
      const fresh = makeJob(1)
      const taken = yield* Effect.exit(store.addJobs([fresh, makeJob(2), stored]))
      const repeated = yield* Effect.exit(store.addJobs([fresh, makeJob(3), fresh]))
      for (const exit of [taken, repeated]) {
        expect(Exit.isFailure(exit) && Cause.isDie(exit.cause)).toBe(true)
      }
      expect((yield* store.getJobs()).map((job) => job.id)).toEqual([stored.id])
      expect((yield* store.acquireJobs(schedulerA, Duration.seconds(30), 10)).map((job) => job.id)).toEqual([stored.id])
    }).pipe(Effect.provide(layer))
  )
})
