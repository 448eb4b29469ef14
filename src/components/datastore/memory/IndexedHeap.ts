/**
 * A binary min-heap whose items know their position, so one can be removed
 * or re-keyed in O(log n) where it sits. Unlike a heap with lazily dropped
 * entries, it holds each item once: nothing stale to skip or compact, and no
 * entry object beside the item (the memory store keeps 100,000s of schedules).
 */

/** What an item carries for the heap: its position, -1 while it is in no heap. */
export interface HeapSlot {
  heapIndex: number
}

export class IndexedHeap<A extends HeapSlot> {
  private readonly items: Array<A> = []

  constructor(private readonly compare: (a: A, b: A) => number) {}

  get size(): number {
    return this.items.length
  }

  peek(): A | undefined {
    return this.items[0]
  }

  /** Adds an item that is in no heap. */
  push(item: A): void {
    item.heapIndex = this.items.length
    this.items.push(item)
    this.siftUp(item.heapIndex)
  }

  pop(): A | undefined {
    const top = this.items[0]
    if (top !== undefined) this.remove(top)
    return top
  }

  /** Takes the item out of this heap (it must be in it). */
  remove(item: A): void {
    const index = item.heapIndex
    const last = this.items.pop()!
    item.heapIndex = -1
    if (last === item) return
    this.items[index] = last
    last.heapIndex = index
    this.restore(index)
  }

  private restore(index: number): void {
    if (index > 0 && this.compare(this.items[index]!, this.items[(index - 1) >> 1]!) < 0) this.siftUp(index)
    else this.siftDown(index)
  }

  private siftUp(start: number): void {
    const items = this.items
    let index = start
    while (index > 0) {
      const parent = (index - 1) >> 1
      if (this.compare(items[index]!, items[parent]!) >= 0) return
      this.swap(index, parent)
      index = parent
    }
  }

  private siftDown(start: number): void {
    const items = this.items
    const length = items.length
    let index = start
    for (;;) {
      const left = 2 * index + 1
      if (left >= length) return
      const right = left + 1
      const child = right < length && this.compare(items[right]!, items[left]!) < 0 ? right : left
      if (this.compare(items[child]!, items[index]!) >= 0) return
      this.swap(index, child)
      index = child
    }
  }

  private swap(a: number, b: number): void {
    const items = this.items
    const item = items[a]!
    items[a] = items[b]!
    items[b] = item
    items[a]!.heapIndex = a
    item.heapIndex = b
  }
}
