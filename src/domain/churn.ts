/**
 * Deleting from the long-lived maps and sets of per-job paths. A Map or Set
 * never reuses a deleted slot: every few deletes it rehashes into a new table,
 * and V8 allocates that table in the old generation once the current one is
 * old. A collection emptied and refilled for every job (runJob, one at a time)
 * then leaves old garbage every few jobs, which only a full GC reclaims: in
 * remote-latency's scheduler, some 1.5 KB a job from the eight such
 * collections on its path (sampled allocations that no scavenge collected:
 * 107 -> 78 MB over 20,000 jobs). Taking the last entry out by starting a new
 * collection keeps the tables young.
 */

/** `map` without `key`: a new empty Map when `key` was its only entry. */
export const withoutKey = <K, V>(map: Map<K, V>, key: K): Map<K, V> => {
  if (map.size === 1 && map.has(key)) return new Map()
  map.delete(key)
  return map
}

/** `set` without `value`: a new empty Set when `value` was its only member. */
export const withoutValue = <A>(set: Set<A>, value: A): Set<A> => {
  if (set.size === 1 && set.has(value)) return new Set()
  set.delete(value)
  return set
}
