/**
 * The job loop's wake-up with held hints: a hint held back reaches the loop
 * only when the hold's read did not cover it; what the read found reaches it
 * in its place.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Fiber, Option, TestClock } from "effect"
import { makeJobWakeUp } from "../../../src/services/scheduler/JobWakeUp.js"

const settle = Effect.zipRight(TestClock.adjust(0), TestClock.adjust(0))
const asleep = (fiber: Fiber.RuntimeFiber<void>) => Effect.map(Fiber.poll(fiber), Option.isNone)
/** A wake-up and its loop, asleep until a hint. */
const sleepingLoop = Effect.gen(function*() {
  const wakeUp = makeJobWakeUp()
  const loop = yield* Effect.fork(wakeUp.sleepUntil(Number.POSITIVE_INFINITY))
  yield* settle
  return { wakeUp, loop }
})

describe("job wake-up", () => {
  it.scoped("a hint held before the hold's read is covered by it; nothing found, the loop sleeps on", () =>
    Effect.gen(function*() {
      const { loop, wakeUp } = yield* sleepingLoop
      const hold = wakeUp.hold()
      wakeUp.notify(Number.NEGATIVE_INFINITY)
      yield* settle
      expect(yield* asleep(loop)).toBe(true)
      hold.covering()
      hold.end(Number.POSITIVE_INFINITY)
      yield* settle
      expect(yield* asleep(loop)).toBe(true)
      wakeUp.notify(Number.NEGATIVE_INFINITY)
      yield* Fiber.join(loop)
    }))

  it.scoped("what the read found wakes the loop", () =>
    Effect.gen(function*() {
      const { loop, wakeUp } = yield* sleepingLoop
      const hold = wakeUp.hold()
      hold.covering()
      hold.end(0)
      yield* Fiber.join(loop)
    }))

  it.scoped("a hint after the read, or one left by a hold that ended first, waits for the last hold and then wakes the loop", () =>
    Effect.gen(function*() {
      const { loop, wakeUp } = yield* sleepingLoop
      const outer = wakeUp.hold()
      const inner = wakeUp.hold()
      inner.covering()
      wakeUp.notify(Number.NEGATIVE_INFINITY)
      inner.end(Number.POSITIVE_INFINITY)
      yield* settle
      expect(yield* asleep(loop)).toBe(true)
      // The outer hold read before that hint: it does not cover it.
      outer.end(Number.POSITIVE_INFINITY)
      yield* Fiber.join(loop)
    }))
})
