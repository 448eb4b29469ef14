/**
 * IANA time zones through Intl only: wall clock <-> UTC with gaps and folds.
 *
 * Intl can only answer "what does the wall clock read at this instant", so each
 * zone's offset transitions are found once per year by sampling and bisection,
 * then cached; every later question is answered from that table without Intl.
 */
import { DAY, SECOND, wallMs } from "./calendar.js"

/** An offset change: from instant `at` on the offset is `after` (ms east of UTC) instead of `before`. */
export interface Transition {
  readonly at: number
  readonly before: number
  readonly after: number
}

/**
 * A span of constant offset starting at the asked instant and ending
 * (exclusive) at `until`: the next transition when `atTransition`, otherwise
 * a look-ahead horizon with no transition before it.
 */
export interface Segment {
  readonly offset: number
  readonly until: number
  readonly atTransition: boolean
}

interface YearRules {
  /** Offset at the first instant of the (UTC) year. */
  readonly base: number
  /** Transitions with `at` in (year start, next year start], ascending. */
  readonly transitions: ReadonlyArray<Transition>
}

/** Sampling step: no real zone has two offset changes less than a week apart. */
const WEEK = 7 * DAY

export class Zone {
  private readonly years = new Map<number, YearRules>()

  constructor(
    readonly name: string,
    /** The offset (ms east of UTC, whole seconds) at an instant, as Intl reports it. */
    private readonly rawOffset: (instant: number) => number
  ) {}

  /** Offset (ms east of UTC) in effect at an instant. */
  offsetAt(instant: number): number {
    const year = new Date(instant).getUTCFullYear()
    const rules = this.rulesFor(year)
    let offset = rules.base
    for (const t of rules.transitions) {
      if (t.at > instant) break
      offset = t.after
    }
    return offset
  }

  /** The wall-clock reading (as a wall timestamp) at an instant. */
  toWall(instant: number): number {
    return instant + this.offsetAt(instant)
  }

  /**
   * The instants whose wall clock reads `wall`, ascending: none inside a
   * spring-forward gap, two inside an autumn fold, otherwise one.
   */
  toInstants(wall: number): Array<number> {
    const offsets = new Set<number>([this.offsetAt(wall - DAY)])
    for (const t of this.transitionsBetween(wall - DAY, wall + DAY)) offsets.add(t.after)
    const instants: Array<number> = []
    for (const offset of offsets) {
      const instant = wall - offset
      if (this.offsetAt(instant) === offset && !instants.includes(instant)) instants.push(instant)
    }
    return instants.sort((a, b) => a - b)
  }

  /**
   * The span of constant offset that starts at `instant`. When no transition is
   * known within the next two calendar years the span ends there anyway, so
   * callers re-check rather than assume an offset forever.
   */
  segmentAt(instant: number): Segment {
    const year = new Date(instant).getUTCFullYear()
    const offset = this.offsetAt(instant)
    for (const y of [year, year + 1]) {
      for (const t of this.rulesFor(y).transitions) {
        if (t.at > instant) return { offset, until: t.at, atTransition: true }
      }
    }
    return { offset, until: wallMs(year + 2, 1, 1), atTransition: false }
  }

  /**
   * When `instant` lies in the second pass of a repeated (autumn) wall-clock
   * range, the instant at which the repetition ends; otherwise null.
   */
  repeatedUntil(instant: number): number | null {
    const year = new Date(instant).getUTCFullYear()
    let last: Transition | undefined
    for (const y of [year - 1, year]) {
      for (const t of this.rulesFor(y).transitions) if (t.at <= instant) last = t
    }
    if (last === undefined || last.before <= last.after) return null
    const end = last.at + (last.before - last.after)
    return instant < end ? end : null
  }

  private transitionsBetween(from: number, to: number): Array<Transition> {
    const first = new Date(from).getUTCFullYear()
    const last = new Date(to).getUTCFullYear()
    const found: Array<Transition> = []
    for (let y = first; y <= last; y++) {
      for (const t of this.rulesFor(y).transitions) if (t.at > from && t.at <= to) found.push(t)
    }
    return found
  }

  private rulesFor(year: number): YearRules {
    const cached = this.years.get(year)
    if (cached !== undefined) return cached
    const rules = this.computeRules(year)
    this.years.set(year, rules)
    return rules
  }

  private computeRules(year: number): YearRules {
    const start = wallMs(year, 1, 1)
    const end = wallMs(year + 1, 1, 1)
    const transitions: Array<Transition> = []
    let previous = start
    let previousOffset = this.rawOffset(start)
    const base = previousOffset
    while (previous < end) {
      const next = Math.min(previous + WEEK, end)
      const nextOffset = this.rawOffset(next)
      if (nextOffset !== previousOffset) this.locate(previous, next, transitions)
      previous = next
      previousOffset = nextOffset
    }
    return { base, transitions }
  }

  /** Finds the transitions in (from, to] day by day, then to the second by bisection. */
  private locate(from: number, to: number, into: Array<Transition>): void {
    let lo = from
    let loOffset = this.rawOffset(from)
    while (lo < to) {
      const hiDay = Math.min(lo + DAY, to)
      const hiDayOffset = this.rawOffset(hiDay)
      if (hiDayOffset !== loOffset) {
        let a = lo
        let b = hiDay
        while (b - a > SECOND) {
          const mid = a + Math.floor((b - a) / 2 / SECOND) * SECOND
          if (this.rawOffset(mid) === loOffset) a = mid
          else b = mid
        }
        into.push({ at: b, before: loOffset, after: this.rawOffset(b) })
      }
      lo = hiDay
      loOffset = hiDayOffset
    }
  }
}

/** The offset Intl reports at an instant (whole seconds). */
const intlOffset =
  (format: Intl.DateTimeFormat) =>
  (instant: number): number => {
    const at = Math.floor(instant / SECOND) * SECOND
    const parts: Record<string, number> = {}
    for (const part of format.formatToParts(at)) {
      if (part.type !== "literal") parts[part.type] = Number(part.value)
    }
    const wall = wallMs(parts.year!, parts.month!, parts.day!, parts.hour!, parts.minute!, parts.second!)
    return wall - at
  }

/**
 * UTC needs no Intl: its offset is 0 at every instant. (A deployment whose
 * schedules are all in UTC, the default, so never pays for Intl's time zone
 * data, some 15 ms of a start.)
 */
const utcNames: ReadonlySet<string> = new Set(["UTC", "Etc/UTC"])

/** Only known zones are cached, so user input cannot grow the cache without bound. */
const zones = new Map<string, Zone>()

/** The zone named by an IANA identifier (e.g. "Europe/Berlin", "UTC"), or undefined when unknown. */
export const zoneNamed = (name: string): Zone | undefined => {
  const cached = zones.get(name)
  if (cached !== undefined || name.trim() === "") return cached
  if (utcNames.has(name)) {
    const zone = new Zone(name, () => 0)
    zones.set(name, zone)
    return zone
  }
  try {
    const format = new Intl.DateTimeFormat("en-US", {
      timeZone: name,
      hourCycle: "h23",
      year: "numeric",
      month: "numeric",
      day: "numeric",
      hour: "numeric",
      minute: "numeric",
      second: "numeric"
    })
    const zone = new Zone(name, intlOffset(format))
    zones.set(name, zone)
    return zone
  } catch {
    return undefined
  }
}
