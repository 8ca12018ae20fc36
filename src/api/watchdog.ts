// Session timers without a timer per session: one sweep per context visits its connections
// and compares activity counters with what it saw last time. A session costs a few numbers, not
// a Timeout object, and the hot path pays nothing (the session already counts its octets).
// Timers live here, in the adapter layer; the sans-I/O session has none (DESIGN.md).

/** Something the sweep visits. */
export interface Watched {
  /** Checks deadlines; `now` is Date.now() at the sweep. */
  sweep(now: number): void;
}

/** A periodic sweep over a set of watched objects; stops itself when the set is empty. */
export class Watchdog {
  readonly #set = new Set<Watched>();
  #timer: ReturnType<typeof setInterval> | undefined;
  #period: number;

  /** `period` ms between sweeps (deadlines are met to within one period). */
  constructor(period: number) {
    this.#period = period;
  }

  /** Sweep period for a set of timeouts: a quarter of the shortest, between 20 ms and 1 s. */
  static periodFor(timeouts: Array<number | undefined>): number {
    const on = timeouts.filter((t): t is number => t !== undefined && t > 0);
    if (on.length === 0) return 1000;
    return Math.max(20, Math.min(1000, Math.floor(Math.min(...on) / 4)));
  }

  /** Starts watching `w`. */
  add(w: Watched): void {
    this.#set.add(w);
    if (this.#timer === undefined) {
      this.#timer = setInterval(() => this.#run(), this.#period);
      // A sweep never keeps the process alive on its own (Node, Bun, Deno; no-op elsewhere).
      (this.#timer as { unref?: () => void }).unref?.();
    }
  }

  /** Stops watching `w`. */
  delete(w: Watched): void {
    this.#set.delete(w);
    if (this.#set.size === 0 && this.#timer !== undefined) {
      clearInterval(this.#timer);
      this.#timer = undefined;
    }
  }

  #run(): void {
    const now = Date.now();
    for (const w of this.#set) {
      try {
        w.sweep(now);
      } catch {
        // A sweep ends sessions; a fault in one must not stop the others' deadlines.
      }
    }
  }
}
