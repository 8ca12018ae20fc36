// AsyncQueue (PyVortex vortex.AsyncQueue, LibVortex VortexAsyncQueue): a FIFO whose pop waits
// for an item. One event loop here, so where LibVortex blocks a thread, pop() is a Promise.
import { Fifo } from '../session/fifo.js';

/** One queued item and what to call when it is taken (a channel gives back its budget). */
interface Entry<T> {
  value: T;
  taken: (() => void) | undefined;
}

/** A pop() waiting for an item. */
interface Waiter<T> {
  resolve(v: T | null): void;
  /** False once it timed out or was aborted: push() skips it. */
  live: boolean;
}

/** A queue whose pop() waits for the next item, with an optional timeout (PyVortex vortex.AsyncQueue). */
export class AsyncQueue<T = unknown> {
  readonly #items = new Fifo<Entry<T>>();
  #waiters = new Fifo<Waiter<T>>();
  #waiting = 0;
  #dead = 0; // waiters that timed out or were aborted, still in #waiters

  /** Items stored (PyVortex queue.items). */
  get items(): number {
    return this.#items.length;
  }
  /** pop() calls waiting for an item (PyVortex queue.waiters). */
  get waiters(): number {
    return this.#waiting;
  }
  /** Items minus waiters, as LibVortex vortex_async_queue_length: negative while pops wait (PyVortex queue.length). */
  get length(): number {
    return this.#items.length - this.#waiting;
  }

  /**
   * Appends an item, or hands it to the oldest waiting pop() (PyVortex queue.push). `taken`,
   * if given, is called once the item leaves the queue.
   */
  push(value: T, taken?: () => void): void {
    for (let w = this.#waiters.shift(); w !== undefined; w = this.#waiters.shift()) {
      if (!w.live) {
        this.#dead--;
        continue;
      }
      w.live = false;
      this.#waiting--;
      taken?.();
      w.resolve(value);
      return;
    }
    this.#items.push({ value, taken });
  }

  /** The oldest item without taking it, or null when the queue is empty. */
  peek(): T | null {
    const e = this.#items.peek();
    return e === undefined ? null : e.value;
  }

  /** Takes the oldest item at once, or null when the queue is empty. */
  tryPop(): T | null {
    const e = this.#items.shift();
    if (e === undefined) return null;
    e.taken?.();
    return e.value;
  }

  /** The next item; waits as long as it takes (PyVortex queue.pop). */
  pop(): Promise<T>;
  /**
   * The next item, or null after `timeout` ms (0 or undefined: no limit) or once `signal`
   * aborts (PyVortex queue.timedpop, which counts microseconds).
   */
  pop(timeout: number | undefined, signal?: AbortSignal): Promise<T | null>;
  pop(timeout?: number, signal?: AbortSignal): Promise<T | null> {
    if (timeout !== undefined && (!Number.isFinite(timeout) || timeout < 0))
      throw new RangeError('timeout must be a non-negative number of ms');
    const e = this.#items.shift();
    if (e !== undefined) {
      e.taken?.();
      return Promise.resolve(e.value);
    }
    if (signal?.aborted) return Promise.resolve(null);
    return new Promise<T | null>((resolve) => {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const w: Waiter<T> = {
        live: true,
        resolve: (v) => {
          clearTimeout(timer);
          signal?.removeEventListener('abort', onAbort);
          resolve(v);
        },
      };
      const stop = (): void => {
        if (!w.live) return;
        w.live = false;
        this.#waiting--;
        this.#dead++;
        w.resolve(null);
        this.#sweep();
      };
      const onAbort = (): void => stop();
      this.#waiters.push(w);
      this.#waiting++;
      if (timeout !== undefined && timeout > 0) timer = setTimeout(stop, timeout);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** Drops waiters that gave up once they outnumber the live ones (a loop of timed pops on an idle queue). */
  #sweep(): void {
    if (this.#dead <= 32 || this.#dead <= this.#waiting) return;
    const live = new Fifo<Waiter<T>>();
    for (const w of this.#waiters) if (w.live) live.push(w);
    this.#waiters = live;
    this.#dead = 0;
  }
}
