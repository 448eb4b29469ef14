/**
 * A first-in first-out queue with O(1) push and shift (Array.prototype.shift
 * is O(n)). Taken slots are reclaimed in bulk once they make up half the array.
 */
export class Fifo<A> {
  private items: Array<A | undefined> = []
  private head = 0

  get size(): number {
    return this.items.length - this.head
  }

  peek(): A | undefined {
    return this.items[this.head]
  }

  /** The most recently pushed item still queued. */
  peekLast(): A | undefined {
    return this.size > 0 ? this.items[this.items.length - 1] : undefined
  }

  push(item: A): void {
    this.items.push(item)
  }

  shift(): A | undefined {
    if (this.head >= this.items.length) return undefined
    const item = this.items[this.head]
    this.items[this.head] = undefined
    this.head++
    if (this.head === this.items.length) {
      this.items = []
      this.head = 0
    } else if (this.head >= 1024 && this.head * 2 >= this.items.length) {
      this.items = this.items.slice(this.head)
      this.head = 0
    }
    return item
  }
}
