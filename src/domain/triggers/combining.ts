/**
 * And/or triggers (APScheduler 4). The children's fire times are kept in
 * `currentFireTimes` (null until the first call) so the combination resumes
 * exactly where it stopped after a JSON round-trip.
 */
import { Either } from "effect"
import { MaxIterationsReached } from "../errors.js"
import { AndTrigger, OrTrigger, type Trigger } from "./schema.js"

export interface NextFire {
  readonly fireTime: Date | null
  readonly trigger: Trigger
}

export type Step = (trigger: Trigger) => Either.Either<NextFire, MaxIterationsReached>

interface Progress {
  readonly children: Array<Trigger>
  readonly times: Array<Date | null>
}

/** Advances child `i`, recording its new state and fire time. */
const advanceChild = (progress: Progress, i: number, step: Step): Either.Either<void, MaxIterationsReached> =>
  Either.map(step(progress.children[i]!), (next) => {
    progress.children[i] = next.trigger
    progress.times[i] = next.fireTime
  })

/** The children and their pending fire times; on the first call every child is asked once. */
const resume = (
  trigger: AndTrigger | OrTrigger,
  step: Step
): Either.Either<Progress, MaxIterationsReached> => {
  const progress: Progress = { children: [...trigger.triggers], times: [...(trigger.currentFireTimes ?? [])] }
  if (trigger.currentFireTimes !== null) return Either.right(progress)
  for (let i = 0; i < progress.children.length; i++) {
    const advanced = advanceChild(progress, i, step)
    if (Either.isLeft(advanced)) return Either.left(advanced.left)
  }
  return Either.right(progress)
}

/**
 * Fires when all children's next fire times lie within `threshold` seconds:
 * the earliest of them is returned and every child is advanced. Otherwise the
 * children within the threshold of the earliest are advanced and it tries
 * again, up to `maxIterations` times. Finished when any child is finished.
 */
export const nextAnd = (trigger: AndTrigger, step: Step): Either.Either<NextFire, MaxIterationsReached> =>
  Either.flatMap(resume(trigger, step), (progress) => {
    const thresholdMs = trigger.threshold * 1000
    const done = (fireTime: Date | null): NextFire => ({
      fireTime,
      trigger: new AndTrigger(
        { ...trigger, triggers: progress.children, currentFireTimes: progress.times },
        true
      )
    })
    for (let iteration = 0; iteration < trigger.maxIterations; iteration++) {
      if (progress.times.some((time) => time === null)) return Either.right(done(null))
      const millis = progress.times.map((time) => time!.getTime())
      const earliest = Math.min(...millis)
      const latest = Math.max(...millis)
      for (let i = 0; i < millis.length; i++) {
        if (millis[i]! - earliest <= thresholdMs) {
          const advanced = advanceChild(progress, i, step)
          if (Either.isLeft(advanced)) return Either.left(advanced.left)
        }
      }
      if (latest - earliest <= thresholdMs) return Either.right(done(new Date(earliest)))
    }
    return Either.left(new MaxIterationsReached({ maxIterations: trigger.maxIterations }))
  })

/** Fires at every child's fire times in order; children firing at the same instant give one fire time. */
export const nextOr = (trigger: OrTrigger, step: Step): Either.Either<NextFire, MaxIterationsReached> =>
  Either.flatMap(resume(trigger, step), (progress) => {
    const pending = progress.times.flatMap((time) => (time === null ? [] : [time.getTime()]))
    const earliest = pending.length === 0 ? null : Math.min(...pending)
    if (earliest !== null) {
      for (let i = 0; i < progress.times.length; i++) {
        if (progress.times[i]?.getTime() === earliest) {
          const advanced = advanceChild(progress, i, step)
          if (Either.isLeft(advanced)) return Either.left(advanced.left)
        }
      }
    }
    return Either.right({
      fireTime: earliest === null ? null : new Date(earliest),
      trigger: new OrTrigger({ ...trigger, triggers: progress.children, currentFireTimes: progress.times }, true)
    })
  })
