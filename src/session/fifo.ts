// A first-in first-out queue with a moving head: shift() is O(1) at any length. Array#shift
// copies the array once it is large, and a peer can make queues long (100,000 queued replies
// drained with Array#shift blocked the event loop for seconds). The array is kept when the queue
// drains and filled again from its start: a new one per drain grew its backing store anew each
// time (garbage per message, and stores that outlived scavenges and grew V8's young generation).

/** Keeps its array across drains up to this many slots; a queue that was longer starts afresh. */
const KEEP = 4096;

/** FIFO queue of T. */
export class Fifo<T> {
  #items: Array<T | undefined> = [];
  #head = 0;
  #tail = 0;

  /** Items queued. */
  get length(): number {
    return this.#tail - this.#head;
  }

  /** Appends an item. */
  push(v: T): void {
    if (this.#tail < this.#items.length) this.#items[this.#tail] = v;
    else this.#items.push(v);
    this.#tail++;
  }

  /** The oldest item, left in place. */
  peek(): T | undefined {
    return this.#head < this.#tail ? this.#items[this.#head] : undefined;
  }

  /** Removes and returns the oldest item. */
  shift(): T | undefined {
    if (this.#head >= this.#tail) return undefined;
    const items = this.#items;
    const v = items[this.#head];
    items[this.#head++] = undefined; // let it be collected
    if (this.#head === this.#tail) {
      this.#head = this.#tail = 0;
      if (items.length > KEEP) this.#items = [];
    } else if (this.#head > 1024 && this.#head * 2 > this.#tail) {
      // Mostly consumed: move the rest to the front, clearing the slots it left.
      const n = this.#tail - this.#head;
      items.copyWithin(0, this.#head, this.#tail);
      items.fill(undefined, n, this.#tail);
      this.#head = 0;
      this.#tail = n;
    }
    return v;
  }

  /** Drops every item. */
  clear(): void {
    this.#items = [];
    this.#head = this.#tail = 0;
  }

  /** Iterates from the oldest. */
  *[Symbol.iterator](): IterableIterator<T> {
    for (let i = this.#head; i < this.#tail; i++) yield this.#items[i] as T;
  }
}
