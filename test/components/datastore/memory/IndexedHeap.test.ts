import { describe, expect, it } from "@effect/vitest"
import { IndexedHeap } from "../../../../src/components/datastore/memory/IndexedHeap.js"

interface Item {
  key: number
  heapIndex: number
}

/** A deterministic pseudo-random sequence, so a failure can be replayed. */
const numbers = (seed: number) => () => {
  seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648
  return seed % 1_000
}

describe("IndexedHeap", () => {
  it("keeps heap order through pushes, pops, removals and re-keying anywhere in it", () => {
    const next = numbers(11)
    const heap = new IndexedHeap<Item>((a, b) => a.key - b.key)
    const inHeap = new Set<Item>()
    for (let step = 0; step < 6_000; step++) {
      const members = Array.from(inHeap)
      const pick = members[next() % Math.max(1, members.length)]
      switch (step % 4) {
        case 0:
        case 1: {
          const item = { key: next(), heapIndex: -1 }
          heap.push(item)
          inHeap.add(item)
          break
        }
        case 2:
          if (pick !== undefined) {
            heap.remove(pick)
            expect(pick.heapIndex).toBe(-1)
            pick.key = next()
            heap.push(pick)
          }
          break
        case 3: {
          const top = heap.pop()
          if (top !== undefined) {
            expect(Math.min(...members.map((item) => item.key))).toBe(top.key)
            inHeap.delete(top)
          }
        }
      }
      expect(heap.size).toBe(inHeap.size)
    }
    const drained: Array<number> = []
    for (let item = heap.pop(); item !== undefined; item = heap.pop()) drained.push(item.key)
    expect(drained).toEqual(Array.from(inHeap, (item) => item.key).sort((a, b) => a - b))
  })
})
