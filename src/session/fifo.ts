// A first-in first-out queue with a moving head: shift() is O(1) at any length. Array#shift
// copies the array once it is large, and a peer can make queues long (100,000 queued replies
// drained with Array#shift blocked the event loop for seconds).

/** FIFO queue of T. */
export class Fifo<T> {
  #items: T[] = [];
  #head = 0;

  /** Items queued. */
  get length(): number {
    return this.#items.length - this.#head;
  }

  /** Appends an item. */
  push(v: T): void {
    this.#items.push(v);
  }

  /** The oldest item, left in place. */
  peek(): T | undefined {
    return this.#items[this.#head];
  }

  /** Removes and returns the oldest item. */
  shift(): T | undefined {
    if (this.#head >= this.#items.length) return undefined;
    const v = this.#items[this.#head];
    (this.#items as Array<T | undefined>)[this.#head++] = undefined; // let it be collected
    if (this.#head === this.#items.length) {
      this.#items = [];
      this.#head = 0;
    } else if (this.#head > 1024 && this.#head * 2 > this.#items.length) {
      this.#items = this.#items.slice(this.#head);
      this.#head = 0;
    }
    return v;
  }

  /** Drops every item. */
  clear(): void {
    this.#items = [];
    this.#head = 0;
  }

  /** Iterates from the oldest. */
  *[Symbol.iterator](): IterableIterator<T> {
    for (let i = this.#head; i < this.#items.length; i++) yield this.#items[i] as T;
  }
}
