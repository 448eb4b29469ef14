/**
 * The supervision loop under TestClock with a scripted launcher: the backoff
 * delays are checked to the millisecond without waiting for them.
 */
import { describe, expect, it } from "@effect/vitest"
import { Deferred, Duration, Effect, Fiber, Queue, Ref, TestClock } from "effect"
import type { ChildExit, Launcher } from "../../../src/components/governor/child.js"
import type { ProcessSpec } from "../../../src/components/governor/options.js"
import { initialSnapshot, type Snapshot, supervise } from "../../../src/components/governor/supervise.js"
import type { SpawnFailed } from "../../../src/components/governor/child.js"

const spec: ProcessSpec = {
  name: "worker",
  command: "worker",
  args: [],
  env: {},
  cwd: "/",
  restart: "on-failure",
  backoff: { initial: Duration.seconds(1), max: Duration.seconds(10), factor: 2 },
  maxRestarts: 3,
  window: Duration.seconds(30),
  stopGracePeriod: Duration.seconds(5)
}

/** A launcher whose children exit when the test says so; each launch is offered on `launched`. */
const scripted = Effect.gen(function* () {
  const launched = yield* Queue.unbounded<Deferred.Deferred<ChildExit>>()
  let pid = 100
  const launcher: Launcher = () =>
    Effect.gen(function* () {
      const exited = yield* Deferred.make<ChildExit>()
      yield* Queue.offer(launched, exited)
      return {
        pid: pid++,
        exit: Deferred.await(exited),
        signal: (signal) => Deferred.succeed(exited, { code: null, signal }).pipe(Effect.asVoid)
      }
    })
  return { launched, launcher }
})

const settle = (slot: Ref.Ref<Snapshot>, state: Snapshot["state"]) =>
  Ref.get(slot).pipe(
    Effect.tap(() => Effect.yieldNow()),
    Effect.repeat({ until: (snapshot) => snapshot.state === state })
  )

const start = (overrides: Partial<ProcessSpec> = {}) =>
  Effect.gen(function* () {
    const { launched, launcher } = yield* scripted
    const slot = yield* Ref.make(initialSnapshot)
    const started = yield* Deferred.make<void, SpawnFailed>()
    const fiber = yield* Effect.fork(supervise({ ...spec, ...overrides }, slot, launcher, started))
    yield* Deferred.await(started)
    return { launched, slot, fiber }
  })

describe("supervise (TestClock)", () => {
  it.effect("restarts after 1 s, 2 s, 4 s, then gives up on the next crash within the window", () =>
    Effect.gen(function* () {
      const { launched, slot, fiber } = yield* start()
      for (const delay of [1000, 2000, 4000]) {
        yield* Deferred.succeed(yield* Queue.take(launched), { code: 1, signal: null })
        yield* settle(slot, "backoff")
        yield* TestClock.adjust(delay - 1)
        expect(yield* Queue.size(launched)).toBe(0)
        yield* TestClock.adjust(1)
        yield* settle(slot, "running")
        expect(yield* Queue.size(launched)).toBe(1)
      }
      yield* Deferred.succeed(yield* Queue.take(launched), { code: 1, signal: null })
      yield* Fiber.join(fiber)
      const snapshot = yield* Ref.get(slot)
      expect(snapshot.state).toBe("gave-up")
      expect(snapshot.restarts).toBe(3)
      expect(snapshot.gaveUp).toBe("3 restarts within 30s; last: exit code 1")
      expect(snapshot.lastExit?.at.getTime()).toBe(7000)
    }))

  it.effect("a process that stays up longer than the window starts the backoff over", () =>
    Effect.gen(function* () {
      const { launched, slot } = yield* start()
      yield* Deferred.succeed(yield* Queue.take(launched), { code: 1, signal: null })
      yield* settle(slot, "backoff")
      yield* TestClock.adjust(1000)
      yield* settle(slot, "running")
      yield* TestClock.adjust(Duration.minutes(5))
      yield* Deferred.succeed(yield* Queue.take(launched), { code: null, signal: "SIGSEGV" })
      yield* settle(slot, "backoff")
      yield* TestClock.adjust(999)
      expect(yield* Queue.size(launched)).toBe(0)
      yield* TestClock.adjust(1)
      const snapshot = yield* settle(slot, "running")
      expect(snapshot.restarts).toBe(2)
      expect(snapshot.lastExit?.description).toBe("killed by SIGSEGV")
    }))

  it.effect("interrupting a running process stops it with SIGTERM and records the exit", () =>
    Effect.gen(function* () {
      const { slot, fiber } = yield* start()
      yield* Fiber.interrupt(fiber)
      const snapshot = yield* Ref.get(slot)
      expect(snapshot.state).toBe("stopped")
      expect(snapshot.pid).toBeNull()
      expect(snapshot.lastExit?.signal).toBe("SIGTERM")
    }))

  it.effect("interrupting during the backoff cancels the restart", () =>
    Effect.gen(function* () {
      const { launched, slot, fiber } = yield* start({ restart: "always" })
      yield* Deferred.succeed(yield* Queue.take(launched), { code: 0, signal: null })
      yield* settle(slot, "backoff")
      yield* Fiber.interrupt(fiber)
      yield* TestClock.adjust(Duration.minutes(1))
      expect(yield* Queue.size(launched)).toBe(0)
      expect((yield* Ref.get(slot)).state).toBe("stopped")
    }))
})
