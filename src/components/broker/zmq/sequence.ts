/**
 * Gap detection on the receiving side. A PUB socket drops messages for a
 * subscriber that falls a high-water mark behind, silently; the counters in
 * each message make that loss visible. A listener that takes everything
 * follows `seq`; one that filters by prefix follows `topicSeq` per topic (its
 * `seq` skips the topics it does not take). The first message of a run sets
 * the baseline: joining mid-run is not a gap.
 */
export interface Observed {
  /** Messages missed just before this one (0 = none). */
  readonly missed: number
  /** This is the first message seen from a run of this instance other than the first one seen. */
  readonly restarted: boolean
}

interface RunState {
  run: string
  seq: number
  readonly topicSeqs: Map<string, number>
}

export interface SequenceTracker {
  readonly observe: (
    topic: string,
    header: { readonly instance: string; readonly run: string; readonly seq: number; readonly topicSeq: number }
  ) => Observed
}

/** `byTopic`: follow topicSeq (the listener filters); otherwise seq. */
export const makeSequenceTracker = (byTopic: boolean): SequenceTracker => {
  const instances = new Map<string, RunState>()
  return {
    observe: (topic, { instance, run, seq, topicSeq }) => {
      let state = instances.get(instance)
      let restarted = false
      if (state === undefined || state.run !== run) {
        restarted = state !== undefined
        state = { run, seq: 0, topicSeqs: new Map() }
        instances.set(instance, state)
      }
      let missed = 0
      if (byTopic) {
        const last = state.topicSeqs.get(topic)
        if (last !== undefined && topicSeq > last + 1) missed = topicSeq - last - 1
        state.topicSeqs.set(topic, topicSeq)
      } else {
        if (state.seq > 0 && seq > state.seq + 1) missed = seq - state.seq - 1
        state.seq = seq
      }
      return { missed, restarted }
    }
  }
}
