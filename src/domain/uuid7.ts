/**
 * UUID version 7 (RFC 9562, section 5.7): 48 bits of Unix time in ms, the
 * version, a 12-bit counter, the variant and 62 random bits.
 *
 * Ids made one after another sort in the order they were made, so a database
 * index on them grows at its end. Random (version 4) ids land on a random
 * index page each: SQLite then rewrites a page per job inserted or deleted,
 * which was most of the store's cost per job.
 *
 * Monotonic within a process (RFC 9562 method 1): ids made in the same
 * millisecond count up; past 4,096 in one millisecond, or when the clock
 * steps back, the time field moves on from the last one used. The time only
 * orders ids (nothing reads it back), so it comes from the wall clock given,
 * not from Effect's Clock.
 */

const hex = Array.from({ length: 256 }, (_, byte) => byte.toString(16).padStart(2, "0"))

/** Random bytes are drawn in blocks: one call to the system's generator per this many ids. */
const idsPerDraw = 512

/** A generator of version-7 UUIDs reading the time from `now` (ms since the epoch). */
export const makeUuid7 = (
  now: () => number,
  fillRandom: (bytes: Uint8Array) => void = (bytes) => crypto.getRandomValues(bytes)
): (() => string) => {
  const pool = new Uint8Array(8 * idsPerDraw)
  // The first block is drawn now, not with the first id: the first draw loads the
  // generator's code (about 1 ms), which would land on a scheduler's first fire.
  fillRandom(pool)
  let offset = 0
  let lastMs = -1
  let counter = 0
  return () => {
    const ms = now()
    if (ms > lastMs) {
      lastMs = ms
      counter = 0
    } else if (++counter > 0xfff) {
      lastMs += 1
      counter = 0
    }
    if (offset === pool.length) {
      fillRandom(pool)
      offset = 0
    }
    const r = offset
    offset += 8
    const time = lastMs.toString(16).padStart(12, "0")
    // The variant (binary 10) takes the top two bits of the first random byte.
    return (
      `${time.slice(0, 8)}-${time.slice(8)}-7${counter.toString(16).padStart(3, "0")}-` +
      `${hex[(pool[r]! & 0x3f) | 0x80]}${hex[pool[r + 1]!]}-` +
      `${hex[pool[r + 2]!]}${hex[pool[r + 3]!]}${hex[pool[r + 4]!]}${hex[pool[r + 5]!]}${hex[pool[r + 6]!]}${hex[pool[r + 7]!]}`
    )
  }
}

/** Version-7 UUIDs on the wall clock. */
export const uuid7: () => string = makeUuid7(Date.now)
