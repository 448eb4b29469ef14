import { describe, expect, it } from "@effect/vitest"
import { Duration } from "effect"
import type { RestartRules } from "../../../src/components/governor/options.js"
import { backoffDelay, decide } from "../../../src/components/governor/restartPolicy.js"
import { ProcessExit } from "../../../src/services/Governor.js"

const rules = (overrides: Partial<RestartRules> = {}): RestartRules => ({
  restart: "on-failure",
  backoff: { initial: Duration.seconds(1), max: Duration.seconds(10), factor: 2 },
  maxRestarts: 3,
  window: Duration.minutes(1),
  ...overrides
})

const exit = (code: number | null, signal: string | null = null) =>
  ProcessExit.make({ code, signal, error: null, at: new Date(0) })
const spawnError = ProcessExit.make({ code: null, signal: null, error: "spawn ./worker ENOENT", at: new Date(0) })

describe("restart policy", () => {
  it("backs off exponentially up to the cap", () => {
    const delays = [0, 1, 2, 3, 4, 5].map((n) => Duration.toMillis(backoffDelay(rules().backoff, n)))
    expect(delays).toEqual([1000, 2000, 4000, 8000, 10_000, 10_000])
  })

  it("on-failure restarts after a failure, a signal or a spawn error, and leaves a clean exit down", () => {
    expect(decide(rules(), [], exit(1), 0)._tag).toBe("Restart")
    expect(decide(rules(), [], exit(null, "SIGSEGV"), 0)._tag).toBe("Restart")
    expect(decide(rules(), [], spawnError, 0)._tag).toBe("Restart")
    expect(decide(rules(), [], exit(0), 0)).toEqual({ _tag: "Stay", reason: "restart policy on-failure after exit code 0" })
  })

  it("never leaves every exit down; always restarts even a clean exit", () => {
    expect(decide(rules({ restart: "never" }), [], exit(1), 0)._tag).toBe("Stay")
    expect(decide(rules({ restart: "always" }), [], exit(0), 0)._tag).toBe("Restart")
  })

  it("the n-th restart within the window waits longer; restarts older than the window are forgotten", () => {
    const first = decide(rules(), [], exit(1), 100_000)
    expect(first).toEqual({ _tag: "Restart", delay: Duration.millis(1000), recent: [100_000] })
    const third = decide(rules(), [100_000, 101_000], exit(1), 104_000)
    expect(third).toEqual({ _tag: "Restart", delay: Duration.millis(4000), recent: [100_000, 101_000, 104_000] })
    // 61 s later the first two fell out of the window: the backoff starts over.
    const later = decide(rules(), [100_000, 101_000, 104_000], exit(1), 162_000)
    expect(later).toEqual({ _tag: "Restart", delay: Duration.millis(2000), recent: [104_000, 162_000] })
  })

  it("gives up after max_restarts within the window, saying why", () => {
    expect(decide(rules(), [1000, 2000, 3000], exit(3), 4000)).toEqual({
      _tag: "GiveUp",
      reason: "3 restarts within 1m; last: exit code 3"
    })
    expect(decide(rules({ maxRestarts: 0 }), [], exit(null, "SIGKILL"), 0)).toEqual({
      _tag: "GiveUp",
      reason: "0 restarts within 1m; last: killed by SIGKILL"
    })
  })
})
