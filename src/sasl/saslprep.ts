// SASLprep (RFC 4013), the stringprep (RFC 3454) profile for user names and passwords, in plain
// JS so it runs anywhere: the npm implementations decode their tables with Buffer at load time.
// The tables are generated (scripts/gen-stringprep.py); NFKC is the engine's String.normalize,
// whose newer Unicode differs from 3.2 only on characters 3.2 left unassigned and on a few
// corrigenda.
import { A_1, B_1, C_1_2, C_2_1, C_2_2, C_3, C_4, C_5, C_6, C_7, C_8, C_9, D_1, D_2 } from './stringprep-tables.js';

/** Options of `saslprep`. */
export interface SaslprepOptions {
  /** Treat the string as a "query" and allow unassigned code points (RFC 3454 §7); default false ("stored string"). */
  allowUnassigned?: boolean;
}

/** Whether `cp` lies in a flat list of sorted inclusive ranges (binary search over range starts). */
function inTable(table: readonly number[], cp: number): boolean {
  let lo = 0;
  let hi = table.length / 2 - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    // 0 <= mid <= table.length / 2 - 1: both ends of range `mid` exist.
    if (cp < table[2 * mid]!) hi = mid - 1;
    else if (cp > table[2 * mid + 1]!) lo = mid + 1;
    else return true;
  }
  return false;
}

// RFC 4013 §2.3: C.1.2 and C.2.1 to C.9.
const PROHIBITED = [C_1_2, C_2_1, C_2_2, C_3, C_4, C_5, C_6, C_7, C_8, C_9];

/** Code points of a string; a lone surrogate stays one code point (C.5 then rejects it). */
const codePoints = (s: string): number[] => Array.from(s, (c) => c.codePointAt(0)!);

/** SASLprep (RFC 4013): maps, NFKC-normalizes and checks `s`; throws `RangeError` on a prohibited string. */
export function saslprep(s: string, options: SaslprepOptions = {}): string {
  const input = codePoints(s);
  // RFC 3454 §7: a stored string may not contain unassigned code points. Checked on the input:
  // normalization under a newer Unicode could otherwise turn one into assigned characters.
  if (options.allowUnassigned !== true && input.some((cp) => inTable(A_1, cp))) {
    throw new RangeError('SASLprep: unassigned code point (RFC 4013 §2.5)');
  }
  // §2.1: non-ASCII space to SPACE, "commonly mapped to nothing" removed.
  const mapped = input.filter((cp) => !inTable(B_1, cp)).map((cp) => (inTable(C_1_2, cp) ? 0x20 : cp));
  // §2.2: NFKC. A lone surrogate survives normalize() unchanged. (No spread: a long password
  // would exceed the engine's argument limit.)
  const out = mapped
    .map((cp) => String.fromCodePoint(cp))
    .join('')
    .normalize('NFKC');
  const cps = codePoints(out);
  if (cps.some((cp) => PROHIBITED.some((t) => inTable(t, cp)))) {
    throw new RangeError('SASLprep: prohibited character (RFC 4013 §2.3)');
  }
  // §2.4, RFC 3454 §6: with any RandALCat there is no LCat, and the first and last are RandALCat.
  if (cps.some((cp) => inTable(D_1, cp))) {
    // cps is not empty: some() just found a RandALCat in it.
    if (cps.some((cp) => inTable(D_2, cp)) || !inTable(D_1, cps[0]!) || !inTable(D_1, cps[cps.length - 1]!)) {
      throw new RangeError('SASLprep: bidirectional rule violated (RFC 3454 §6)');
    }
  }
  return out;
}
