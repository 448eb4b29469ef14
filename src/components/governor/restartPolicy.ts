/**
 * What to do when a governed process exits (pure). Restarts are counted over
 * a sliding window: the n-th restart within it waits `initial * factor^(n-1)`
 * (at most `max`), and an exit after `maxRestarts` restarts in the window
 * gives up, so a crash loop ends instead of spinning forever while a process
 * that crashes now and then is always brought back quickly.
 */
import { Duration } from "effect"
import type { ProcessExit } from "../../services/Governor.js"
import type { Backoff, RestartRules } from "./options.js"

export type Decision =
  | { readonly _tag: "Stay"; readonly reason: string }
  | { readonly _tag: "Restart"; readonly delay: Duration.Duration; readonly recent: ReadonlyArray<number> }
  | { readonly _tag: "GiveUp"; readonly reason: string }

/** Whether the policy restarts after `exit` at all (before counting restarts). */
export const wantsRestart = (rules: RestartRules, exit: ProcessExit): boolean =>
  rules.restart === "always" || (rules.restart === "on-failure" && !exit.succeeded)

/** The delay before the restart that follows `previous` restarts within the window. */
export const backoffDelay = (backoff: Backoff, previous: number): Duration.Duration => {
  const millis = Duration.toMillis(backoff.initial) * backoff.factor ** previous
  return Duration.min(Duration.millis(millis), backoff.max)
}

/**
 * Decides after `exit` at `now` (epoch ms), given the times of the restarts
 * so far (`restarts`, epoch ms). A restart returns the restart times still in
 * the window plus this one, to pass in next time.
 */
export const decide = (
  rules: RestartRules,
  restarts: ReadonlyArray<number>,
  exit: ProcessExit,
  now: number
): Decision => {
  if (!wantsRestart(rules, exit)) {
    return { _tag: "Stay", reason: `restart policy ${rules.restart} after ${exit.description}` }
  }
  const windowStart = now - Duration.toMillis(rules.window)
  const recent = restarts.filter((at) => at > windowStart)
  if (recent.length >= rules.maxRestarts) {
    return {
      _tag: "GiveUp",
      reason: `${recent.length} restart${recent.length === 1 ? "" : "s"} within ${Duration.format(rules.window)}; last: ${exit.description}`
    }
  }
  return { _tag: "Restart", delay: backoffDelay(rules.backoff, recent.length), recent: [...recent, now] }
}
