/**
 * A binary min-heap ordered by a comparison function. The memory store keeps
 * its time-ordered indexes (next fire times, lease expiries, retry times,
 * result expiries) in these, so finding the earliest entry is O(1) and
 * adding or taking one is O(log n) instead of a scan over everything.
 */
export class MinHeap<A> {
  private items: Array<A> = []

  constructor(private readonly compare: (a: A, b: A) => number) {}

  get size(): number {
    return this.items.length
  }

  peek(): A | undefined {
    return this.items[0]
  }

  push(item: A): void {
    const items = this.items
    items.push(item)
    let index = items.length - 1
    while (index > 0) {
      const parent = (index - 1) >> 1
      if (this.compare(items[index]!, items[parent]!) >= 0) break
      this.swap(index, parent)
      index = parent
    }
  }

  pop(): A | undefined {
    const items = this.items
    const top = items[0]
    const last = items.pop()
    if (items.length > 0 && last !== undefined) {
      items[0] = last
      this.siftDown(0)
    }
    return top
  }

  /** Keeps only the items that pass `keep`, in O(n); used to drop stale entries in bulk. */
  retain(keep: (item: A) => boolean): void {
    const kept = this.items.filter(keep)
    this.items = kept
    for (let index = (kept.length >> 1) - 1; index >= 0; index--) this.siftDown(index)
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
  }
}
