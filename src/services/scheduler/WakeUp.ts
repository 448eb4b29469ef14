/**
 * How a loop sleeps without polling: until a target time read from the store,
 * or earlier when an event hints that something is due sooner. Hints that
 * arrive while the loop is busy are kept, so a change committed between the
 * loop's store read and its sleep is never missed.
 */
import { Clock, Deferred, Duration, Effect } from "effect"

export interface WakeUp {
  /** Something is due at `atMs` (epoch ms; -Infinity = now): wakes the loop if it sleeps past that. */
  readonly notify: (atMs: number) => void
  /** Sleeps until `targetMs` (Infinity = until notified) or an earlier hint; returns at once if that has passed. */
  readonly sleepUntil: (targetMs: number) => Effect.Effect<void>
}

// Timers longer than ~24.8 days never fire in Node; waking once a day and re-reading is enough.
const maxSleepMs = 24 * 60 * 60 * 1000

/**
 * Sleeps until the clock reads `untilMs`. The delay is taken from the clock when the
 * timer is armed, not when the wait was planned: racing forks this into a fiber of
 * its own, which may start tens of milliseconds later on a busy process, and a delay
 * computed earlier would make the wake-up late by that much.
 */
const sleepTo = (untilMs: number): Effect.Effect<void> =>
  Effect.clockWith((clock) => {
    const delayMs = untilMs - clock.unsafeCurrentTimeMillis()
    return delayMs <= 0 ? Effect.void : clock.sleep(Duration.millis(Math.min(delayMs, maxSleepMs)))
  })

export const makeWakeUp = (): WakeUp => {
  let earliestHint = Number.POSITIVE_INFINITY
  let sleeping: { readonly until: number; readonly wake: Deferred.Deferred<void> } | null = null

  const notify = (atMs: number): void => {
    if (sleeping === null) {
      if (atMs < earliestHint) earliestHint = atMs
    } else if (atMs < sleeping.until) {
      Deferred.unsafeDone(sleeping.wake, Effect.void)
    }
  }

  const sleepUntil = (targetMs: number): Effect.Effect<void> =>
    Effect.flatMap(Clock.currentTimeMillis, (now) =>
      // Synchronous from reading the hints to publishing `sleeping`, so no hint falls in between.
      Effect.withFiberRuntime<void>((fiber) => {
        const until = Math.min(targetMs, earliestHint)
        earliestHint = Number.POSITIVE_INFINITY
        if (until <= now) return Effect.void
        const wake = Deferred.unsafeMake<void>(fiber.id())
        sleeping = { until, wake }
        // Without a target only a hint can wake the loop: no timer to race.
        const wait = until === Number.POSITIVE_INFINITY
          ? Deferred.await(wake)
          : Effect.race(Deferred.await(wake), sleepTo(until))
        return wait.pipe(
          Effect.ensuring(Effect.sync(() => {
            sleeping = null
          }))
        )
      }))

  return { notify, sleepUntil }
}
