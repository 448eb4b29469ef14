/**
 * The job loop's wake-up, with hints that can be held back. A caller that
 * acquires jobs itself (runJob's fast path, see JobRunner.runNow) holds the
 * hints its own work causes (the JobAdded of its job, its release) and then
 * tells the loop only what the store says comes next: woken by those hints,
 * the loop would spend a turn (a fiber hop and two store calls) finding
 * nothing to do.
 */
import { makeWakeUp, type WakeUp } from "./WakeUp.js"

export interface HintHold {
  /**
   * Ends the hold with what the store said is next (epoch ms; -Infinity = now,
   * Infinity = nothing), read after `covering()`: the hints held before that
   * read are covered by it; later ones still reach the loop.
   */
  readonly end: (nextMs: number) => void
  /** Call just before reading what is next, so it covers the hints held so far. */
  readonly covering: () => void
}

export interface JobWakeUp extends WakeUp {
  /** Holds hints back until the hold ends. */
  readonly hold: () => HintHold
}

interface Held {
  readonly seq: number
  readonly atMs: number
}

export const makeJobWakeUp = (): JobWakeUp => {
  const inner = makeWakeUp()
  let holds = 0
  // Every hint is numbered, so a hold's read covers exactly those that came before it.
  let seq = 0
  let held: Array<Held> = []

  const notify = (atMs: number): void => {
    seq++
    if (holds === 0) inner.notify(atMs)
    else held.push({ seq, atMs })
  }

  const hold = (): HintHold => {
    holds++
    let coveredUpTo = 0
    let ended = false
    return {
      covering: () => {
        coveredUpTo = seq
      },
      end: (nextMs) => {
        if (ended) return
        ended = true
        holds--
        if (held.length > 0) held = held.filter((hint) => hint.seq > coveredUpTo)
        if (holds > 0) {
          // Another hold is still open: this one's finding waits with the other hints.
          if (nextMs !== Number.POSITIVE_INFINITY) held.push({ seq: ++seq, atMs: nextMs })
          return
        }
        let earliest = nextMs
        for (const hint of held) if (hint.atMs < earliest) earliest = hint.atMs
        held = []
        if (earliest !== Number.POSITIVE_INFINITY) inner.notify(earliest)
      }
    }
  }

  return { notify, sleepUntil: inner.sleepUntil, hold }
}
