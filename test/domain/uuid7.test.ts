import { describe, expect, it } from "@effect/vitest"
import { Schema } from "effect"
import { JobId } from "../../src/domain/ids.js"
import { makeUuid7, uuid7 } from "../../src/domain/uuid7.js"

const shape = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/

/** The 48-bit time field of a version-7 UUID. */
const timeOf = (id: string) => Number.parseInt(id.slice(0, 8) + id.slice(9, 13), 16)

/** A clock the test sets. */
const manualClock = (startMs: number) => {
  let ms = startMs
  return { now: () => ms, set: (to: number) => (ms = to) }
}

describe("uuid7", () => {
  it("has the version-7 layout with the variant bits set, and is a JobId", () => {
    const ids = Array.from({ length: 2_000 }, uuid7)
    for (const id of ids) expect(id).toMatch(shape)
    expect(new Set(ids).size).toBe(ids.length)
    expect(Schema.is(JobId)(ids[0])).toBe(true)
  })

  it("carries the clock's milliseconds in its first 48 bits", () => {
    const ms = Date.UTC(2026, 10, 28, 9, 30, 15, 123)
    const next = makeUuid7(() => ms)
    expect(timeOf(next())).toBe(ms)
  })

  it("sorts in the order made: within one millisecond, past 4,096 in it, and when the clock steps back", () => {
    const clock = manualClock(1_000_000)
    const next = makeUuid7(clock.now)
    const ids: Array<string> = []
    for (let i = 0; i < 5_000; i++) ids.push(next())
    clock.set(1_000_001)
    ids.push(next())
    clock.set(999_000)
    ids.push(next(), next())
    clock.set(2_000_000)
    ids.push(next())
    expect([...ids].sort()).toEqual(ids)
    expect(new Set(ids).size).toBe(ids.length)
    // 4,096 ids fit one millisecond; the 4,097th borrows the next.
    expect(timeOf(ids[4_095]!)).toBe(1_000_000)
    expect(timeOf(ids[4_096]!)).toBe(1_000_001)
    expect(timeOf(ids[ids.length - 1]!)).toBe(2_000_000)
  })

  it("takes its random bits from the generator given, drawing them in blocks", () => {
    let draws = 0
    const next = makeUuid7(
      () => 0,
      (bytes) => {
        draws += 1
        bytes.fill(0xff)
      }
    )
    const first = next()
    expect(first).toBe("00000000-0000-7000-bfff-ffffffffffff")
    for (let i = 1; i < 512; i++) next()
    expect(draws).toBe(1)
    next()
    expect(draws).toBe(2)
  })
})
