import { describe, expect, it } from "@effect/vitest"
import { MinHeap } from "../../../../src/components/datastore/memory/MinHeap.js"

/** A deterministic pseudo-random sequence, so a failure can be replayed. */
const numbers = (seed: number) => () => {
  seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648
  return seed % 1_000
}

describe("MinHeap", () => {
  it("pops in ascending order through interleaved pushes and pops", () => {
    const next = numbers(42)
    const heap = new MinHeap<number>((a, b) => a - b)
    const reference: Array<number> = []
    for (let step = 0; step < 5_000; step++) {
      if (step % 3 === 2) {
        reference.sort((a, b) => a - b)
        expect(heap.pop()).toBe(reference.shift())
      } else {
        const value = next()
        heap.push(value)
        reference.push(value)
      }
      expect(heap.size).toBe(reference.length)
    }
    reference.sort((a, b) => a - b)
    expect(heap.peek()).toBe(reference[0])
    const drained: Array<number> = []
    for (let value = heap.pop(); value !== undefined; value = heap.pop()) drained.push(value)
    expect(drained).toEqual(reference)
  })

  it("retain drops items in bulk and keeps the order of the rest", () => {
    const next = numbers(7)
    const heap = new MinHeap<number>((a, b) => a - b)
    const values = Array.from({ length: 2_000 }, next)
    for (const value of values) heap.push(value)
    heap.retain((value) => value % 2 === 0)
    const drained: Array<number> = []
    for (let value = heap.pop(); value !== undefined; value = heap.pop()) drained.push(value)
    expect(drained).toEqual(values.filter((value) => value % 2 === 0).sort((a, b) => a - b))
  })

  it("is empty when nothing was pushed", () => {
    const heap = new MinHeap<number>((a, b) => a - b)
    expect(heap.peek()).toBeUndefined()
    expect(heap.pop()).toBeUndefined()
    expect(heap.size).toBe(0)
  })
})
