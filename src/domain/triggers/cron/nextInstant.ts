/**
 * Turns wall-clock matches into instants in a zone, following absolute time:
 * the search walks spans of constant UTC offset, so a wall time inside a
 * spring-forward gap is never produced (it belongs to no span), and the
 * repeated hour of an autumn fold is visited twice, in order. A job pinned to
 * fixed hours fires only in the first pass of a repeated hour.
 */
import { DAY, SECOND } from "../calendar.js"
import type { Zone } from "../zone.js"
import type { CompiledCron } from "./compile.js"
import { nextMatchingWall } from "./search.js"

/** The first matching instant >= `from` (rounded up to a whole second) and <= `end`, or null. */
export const nextCronInstant = (cron: CompiledCron, zone: Zone, from: number, end: number | null): number | null => {
  let t = Math.ceil(from / SECOND) * SECOND
  const maxYear = end === null ? Number.POSITIVE_INFINITY : new Date(end).getUTCFullYear() + 1
  for (;;) {
    if (end !== null && t > end) return null
    const segment = zone.segmentAt(t)
    const match = nextMatchingWall(cron, t + segment.offset, maxYear)
    if (match === undefined) return null
    const candidate = match - segment.offset
    if (candidate >= segment.until) {
      // The match lies beyond this span. Every instant up to three days before
      // it reads a wall time in [w, match), none of which matches (a zone's
      // offsets differ by far less than three days), unless a fold soon after
      // t revisits wall times before w: only then must the search step to the
      // span's end instead of jumping.
      const foldMayRevisit = segment.atTransition && segment.until - t < 3 * DAY
      t = foldMayRevisit ? segment.until : Math.max(segment.until, candidate - 3 * DAY)
      continue
    }
    if (!cron.firesInRepeatedHour) {
      const repeatedUntil = zone.repeatedUntil(candidate)
      if (repeatedUntil !== null) {
        t = repeatedUntil
        continue
      }
    }
    return end !== null && candidate > end ? null : candidate
  }
}
