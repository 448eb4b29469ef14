/** Test helper: the first N fire times of a trigger, as ISO-8601 in a zone. */
import { Either } from "effect"
import { formatInZone } from "../../../src/domain/triggers/format.js"
import type { Trigger } from "../../../src/domain/triggers/schema.js"
import { next } from "../../../src/domain/triggers/Trigger.js"

export const fireTimes = (trigger: Trigger, count: number, zone = "UTC"): Array<string | null> => {
  const out: Array<string | null> = []
  let current = trigger
  for (let i = 0; i < count; i++) {
    const step = Either.getOrThrow(next(current))
    out.push(step.fireTime === null ? null : formatInZone(step.fireTime, zone)!)
    current = step.trigger
    if (step.fireTime === null) break
  }
  return out
}
