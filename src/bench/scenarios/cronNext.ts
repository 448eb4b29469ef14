/**
 * cron-next: how fast the next 1,000 fire times of a cron trigger are found,
 * ours next to croner in the same process. Each round parses the expression
 * and walks 1,000 fire times; rounds repeat until a time budget is spent.
 * The two sequences are also compared: `mismatches.*` counts the instants only
 * one of them produces, up to where both end. Differences are expected where
 * the rules differ: on a spring-forward day we skip a wall time that does not
 * exist (as APScheduler does) where croner moves it an hour later.
 */
import { Cron } from "croner"
import { Effect, Either } from "effect"
import { fromSpec, next } from "../../domain/triggers/Trigger.js"
import { monotonicMs } from "../measure.js"
import type { Metrics } from "../report.js"

const count = 1_000
const timezone = "Europe/Stockholm"
/** Just before a spring-forward night in Stockholm, so the every-5-seconds walk crosses the gap. */
const start = new Date("2026-03-29T00:50:00.500+01:00")
const budgetMs = 1_000

interface Expression {
  readonly label: string
  /** Six fields, seconds first (both engines read it that way). */
  readonly crontab: string
}

const expressions: ReadonlyArray<Expression> = [
  { label: "every_5s", crontab: "*/5 * * * * *" },
  { label: "daily_0230", crontab: "0 30 2 * * *" }
]

const ours = (expression: Expression): Array<number> => {
  let trigger = Either.getOrThrow(fromSpec({ type: "cron", expr: expression.crontab, timezone }, start))
  const times: Array<number> = []
  while (times.length < count) {
    const fired = Either.getOrThrow(next(trigger))
    if (fired.fireTime === null) break
    times.push(fired.fireTime.getTime())
    trigger = fired.trigger
  }
  return times
}

const croner = (expression: Expression): Array<number> => {
  const cron = new Cron(expression.crontab, { timezone })
  const times: Array<number> = []
  let previous: Date | null = start
  while (times.length < count) {
    previous = cron.nextRun(previous)
    if (previous === null) break
    times.push(previous.getTime())
  }
  return times
}

/** Fire times per second, after one warm-up round, over whole rounds lasting at least `budgetMs`. */
const opsPerSecond = (walk: () => Array<number>): number => {
  walk()
  let produced = 0
  const began = monotonicMs()
  let elapsed = 0
  while (elapsed < budgetMs) {
    produced += walk().length
    elapsed = monotonicMs() - began
  }
  return produced / (elapsed / 1000)
}

/** Instants in only one of the two sequences, up to the earlier of their last instants. */
const mismatches = (a: ReadonlyArray<number>, b: ReadonlyArray<number>): number => {
  const until = Math.min(a.at(-1) ?? Number.NEGATIVE_INFINITY, b.at(-1) ?? Number.NEGATIVE_INFINITY)
  const inA = new Set(a.filter((t) => t <= until))
  const inB = new Set(b.filter((t) => t <= until))
  let differing = 0
  for (const t of inA) if (!inB.has(t)) differing++
  for (const t of inB) if (!inA.has(t)) differing++
  return differing
}

export const cronNext = (): Effect.Effect<Metrics, unknown> =>
  Effect.sync(() => {
    const metrics: Record<string, number> = {}
    for (const expression of expressions) {
      metrics[`ops_per_s.${expression.label}`] = opsPerSecond(() => ours(expression))
      metrics[`croner_ops_per_s.${expression.label}`] = opsPerSecond(() => croner(expression))
      metrics[`mismatches.${expression.label}`] = mismatches(ours(expression), croner(expression))
    }
    return metrics
  })
