import { getHeapCodeStatistics } from "node:v8"
import { runInNewContext } from "node:vm"
import { describe, expect, it } from "@effect/vitest"
import { Chunk, Effect, Stream } from "effect"
import * as LocalBroker from "../../src/components/broker/Local.js"
import { TaskAdded } from "../../src/domain/events.js"
import { TaskId } from "../../src/domain/ids.js"
import { autonomous } from "../../src/modes/autonomous.js"
import { full } from "../../src/modes/full.js"
import { preferSmallHeap } from "../../src/modes/memory.js"
import { minimal } from "../../src/modes/minimal.js"
import { EventBroker } from "../../src/services/EventBroker.js"

describe("small heap (autonomous mode)", () => {
  it.effect("sheds the compiled code of what ran only to start, and leaves no gc function behind", () =>
    Effect.gen(function* () {
      expect(autonomous.smallHeap).toBe(true)
      // This process has compiled its test framework's modules, most of which do not run again.
      const before = getHeapCodeStatistics().bytecode_and_metadata_size
      yield* preferSmallHeap
      const after = getHeapCodeStatistics().bytecode_and_metadata_size
      expect(after).toBeLessThan(before)
      // Code that runs again is compiled again when called.
      expect([3, 1, 2].sort((a, b) => a - b)).toEqual([1, 2, 3])
      expect("gc" in globalThis).toBe(false)
      expect(runInNewContext("typeof gc")).toBe("undefined")
    })
  )

  it.scoped("the local broker buffers 4,096 events per subscriber (65,536 in the other modes), then drops the oldest", () =>
    Effect.gen(function* () {
      expect(autonomous.defaults.eventBuffer).toBe(LocalBroker.smallHeapCapacity)
      expect(full.defaults.eventBuffer).toBe(LocalBroker.defaultCapacity)
      expect(minimal.defaults.eventBuffer).toBe(LocalBroker.defaultCapacity)
      const broker = yield* EventBroker
      const stream = yield* broker.subscribe()
      const published = LocalBroker.smallHeapCapacity + 2
      yield* broker.publishAll(
        Array.from({ length: published }, (_, i) => new TaskAdded({ timestamp: new Date(0), taskId: TaskId.make(`t${i}`) }))
      )
      const received = Chunk.toReadonlyArray(yield* Stream.runCollect(Stream.take(stream, LocalBroker.smallHeapCapacity)))
      expect(received.map((event) => ("taskId" in event ? event.taskId : ""))).toEqual(
        Array.from({ length: LocalBroker.smallHeapCapacity }, (_, i) => `t${i + 2}`)
      )
    }).pipe(Effect.provide(LocalBroker.layerWithCapacity(autonomous.defaults.eventBuffer)))
  )
})
