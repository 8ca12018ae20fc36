// A payload held as pieces in order (views of the socket chunks a large message arrived in),
// framed and written without being joined: an echo of a large message copies nothing.

/** Octets held as pieces in order; `length` and `subarray` as on a Uint8Array. */
export class Pieces {
  /** The pieces, in order (none empty). */
  readonly parts: readonly Uint8Array[];
  /** Octets in all. */
  readonly length: number;

  /** Wraps `parts` (kept, not copied; empty ones are dropped). */
  constructor(parts: readonly Uint8Array[]) {
    const kept = parts.some((p) => p.length === 0) ? parts.filter((p) => p.length > 0) : parts;
    let n = 0;
    for (const p of kept) n += p.length;
    this.parts = kept;
    this.length = n;
  }

  /** Octets [from, to): a view of one piece when they lie in one, else the pieces that cover them. */
  subarray(from: number, to: number): Uint8Array | Pieces {
    const out: Uint8Array[] = [];
    let at = 0;
    for (const p of this.parts) {
      const end = at + p.length;
      if (end > from && at < to) {
        const a = Math.max(from, at) - at,
          b = Math.min(to, end) - at;
        out.push(a === 0 && b === p.length ? p : p.subarray(a, b));
      }
      if (end >= to) break;
      at = end;
    }
    return out.length === 1 ? out[0]! : new Pieces(out);
  }

  /** The octets joined into one new array (for a transport that takes whole frames only). */
  join(): Uint8Array {
    const out = new Uint8Array(this.length);
    let o = 0;
    for (const p of this.parts) {
      out.set(p, o);
      o += p.length;
    }
    return out;
  }
}

/** A body to send: one array, or pieces. */
export type Body = Uint8Array | Pieces;
