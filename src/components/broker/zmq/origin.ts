/**
 * Which events reached this process from a peer scheduler's stream rather
 * than happening here. Peer events go to local subscribers (the scheduler's
 * wake-up needs them) but are never published again, and subscribers that
 * act once per cluster (notifiers, counters) skip them: the peer that
 * produced the event acts on it itself.
 */
const fromPeer = new WeakSet<object>()

export const markFromPeer = (event: object): void => {
  fromPeer.add(event)
}

/** True for an event received from a peer's stream; false for one that happened in this process. */
export const isFromPeer = (event: object): boolean => fromPeer.has(event)
