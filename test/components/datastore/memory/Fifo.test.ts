import { describe, expect, it } from "@effect/vitest"
import { Fifo } from "../../../../src/components/datastore/memory/Fifo.js"

describe("Fifo", () => {
  it("keeps first-in first-out order across its storage compactions", () => {
    const fifo = new Fifo<number>()
    const taken: Array<number> = []
    let pushed = 0
    // Pushes 3, takes 2, so the queue grows while taken slots pile up and get reclaimed.
    for (let round = 0; round < 3_000; round++) {
      for (let i = 0; i < 3; i++) fifo.push(pushed++)
      for (let i = 0; i < 2; i++) taken.push(fifo.shift()!)
      expect(fifo.size).toBe(pushed - taken.length)
      expect(fifo.peek()).toBe(taken.length)
      expect(fifo.peekLast()).toBe(pushed - 1)
    }
    for (let value = fifo.shift(); value !== undefined; value = fifo.shift()) taken.push(value)
    expect(taken).toEqual(Array.from({ length: pushed }, (_, i) => i))
    expect(fifo.size).toBe(0)
    expect(fifo.peekLast()).toBeUndefined()
  })
})
