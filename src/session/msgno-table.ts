// A map from message numbers (0..2147483647, RFC 3080 §2.2.1) to values, for the per-channel
// bookkeeping touched on every message: our MSGs awaiting replies and peer MSGs awaiting ours.
// Message numbers in flight on a channel are nearly always a short run of consecutive numbers
// (each side allocates them in order), so they live in a ring indexed by number; a number far
// from the run goes to a Map. A Map alone cost ~60-110 ns per set/get/delete cycle with
// entries coming and going (its table is rebuilt as deleted entries pile up); the ring ~2-6 ns.

/** Numbers within this distance of the oldest one held go in the ring. */
const RING_MAX = 1 << 16;
/**
 * The ring spans at most this many slots per entry held (plus a floor): a peer holding two
 * MSGs numbered 0 and 65535 must not cost a 65,536-slot ring per channel.
 */
const SLOTS_PER_ENTRY = 8;
const RING_FLOOR = 64;
const MASK31 = 0x7fffffff;

/** Map-like table keyed by message number (the subset of Map the session uses). */
export class MsgnoTable<V> {
  #ring: Array<V | undefined> | undefined; // made on first use; length a power of two
  #lo = 0; // every ring key k satisfies (k - #lo) & MASK31 < ring length
  #count = 0; // entries in the ring
  #far: Map<number, V> | undefined; // entries outside the ring's span

  /** Entries held. */
  get size(): number {
    return this.#count + (this.#far?.size ?? 0);
  }

  /** The value for `k`, if any. */
  get(k: number): V | undefined {
    const r = this.#ring;
    if (r !== undefined && this.#count > 0 && ((k - this.#lo) & MASK31) < r.length) {
      const v = r[k & (r.length - 1)];
      if (v !== undefined) return v;
    }
    return this.#far === undefined ? undefined : this.#far.get(k);
  }

  /** True when `k` is held. */
  has(k: number): boolean {
    return this.get(k) !== undefined;
  }

  /** Sets `k` (values are never undefined). */
  set(k: number, v: V): this {
    const far = this.#far;
    if (far?.has(k)) {
      far.set(k, v);
      return this;
    }
    let r = this.#ring;
    if (this.#count === 0) {
      this.#lo = k;
      if (r === undefined) r = this.#ring = new Array<V | undefined>(8).fill(undefined);
    } else if (((k - this.#lo) & MASK31) >= r!.length) {
      const d = (k - this.#lo) & MASK31;
      if (d >= RING_MAX || d >= Math.max(RING_FLOOR, (this.#count + 1) * SLOTS_PER_ENTRY)) {
        (this.#far ??= new Map()).set(k, v);
        return this;
      }
      r = this.#grow(d + 1);
    }
    const i = k & (r!.length - 1);
    if (r![i] === undefined) this.#count++;
    r![i] = v;
    return this;
  }

  /** Removes `k`; true when it was held. */
  delete(k: number): boolean {
    const r = this.#ring;
    if (r !== undefined && this.#count > 0 && ((k - this.#lo) & MASK31) < r.length) {
      const i = k & (r.length - 1);
      if (r[i] !== undefined) {
        r[i] = undefined;
        if (--this.#count === 0) {
          if (r.length > RING_FLOOR) this.#ring = undefined;
        } // a burst is over: give its ring back
        else if (k === this.#lo) {
          // The oldest went (the usual case): move the start to the next held number.
          let lo = (k + 1) & MASK31;
          while (r[lo & (r.length - 1)] === undefined) lo = (lo + 1) & MASK31;
          this.#lo = lo;
        }
        return true;
      }
    }
    return this.#far?.delete(k) ?? false;
  }

  /** Drops every entry. */
  clear(): void {
    this.#ring = undefined;
    this.#count = 0;
    this.#far = undefined;
  }

  /** Values, ring first (in number order from the oldest), then far ones. */
  *values(): IterableIterator<V> {
    const r = this.#ring;
    if (r !== undefined && this.#count > 0) {
      const lo = this.#lo;
      for (let d = 0; d < r.length; d++) {
        const v = r[(lo + d) & (r.length - 1)];
        if (v !== undefined) yield v;
      }
    }
    if (this.#far !== undefined) yield* this.#far.values();
  }

  /** A ring of at least `span` slots holding the current entries (span <= RING_MAX). */
  #grow(span: number): Array<V | undefined> {
    const old = this.#ring!;
    let n = old.length;
    while (n < span) n <<= 1;
    const r = new Array<V | undefined>(n).fill(undefined);
    for (let d = 0; d < old.length; d++) {
      const k = (this.#lo + d) & MASK31;
      const v = old[k & (old.length - 1)];
      if (v !== undefined) r[k & (n - 1)] = v;
    }
    this.#ring = r;
    return r;
  }
}
