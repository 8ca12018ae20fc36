// Seeded randomness and mutation operators for the soak tests (mqtt-packet style: bounded,
// reproducible; the seed is printed so a failure can be replayed with SOAK_SEED=<n>).

/** mulberry32: a small, fast, seeded PRNG. */
export class Rng {
  #s: number;
  constructor(seed: number) {
    this.#s = seed >>> 0;
  }
  /** Uniform in [0, 1). */
  next(): number {
    let t = (this.#s = (this.#s + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  /** Integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  /** One of the items (not empty). */
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)]!;
  }
  /** True with probability p. */
  chance(p: number): boolean {
    return this.next() < p;
  }
  /** Random octets. */
  bytes(n: number): Uint8Array {
    const b = new Uint8Array(n);
    for (let i = 0; i < n; i++) b[i] = this.int(256);
    return b;
  }
}

/** Seed from SOAK_SEED, else a fixed default (the suite is deterministic unless asked otherwise). */
export function seed(fallback: number): number {
  const v = Number(process.env.SOAK_SEED);
  return Number.isInteger(v) ? v : fallback;
}

/** Fragments that matter to BEEP and XML parsers, spliced in by mutations. */
const TOKENS = [
  '\r\n',
  'END\r\n',
  ' ',
  '.',
  '*',
  '0',
  '1',
  '4294967295',
  '2147483647',
  '2147483648',
  '-1',
  'MSG ',
  'RPY ',
  'ERR ',
  'ANS ',
  'NUL ',
  'SEQ ',
  '<',
  '>',
  '/>',
  '</',
  "'",
  '"',
  '&',
  '&amp;',
  '&#0;',
  '&#x110000;',
  '&lol;',
  '<![CDATA[',
  ']]>',
  '<!DOCTYPE x [<!ENTITY lol "lol">]>',
  '<?xml version="1.0"?>',
  '<!--',
  '-->',
  '=',
  'xmlns:a="b"',
  '\u0000',
  '\uffff',
  '\ud800',
  'é',
  "<profile uri='x'/>",
  "<start number='1'>",
  '</start>',
  '<tunnel>',
  '</tunnel>',
  '<value>',
  '</value>',
  '<struct>',
  '<member>',
  '<name>',
  '__proto__',
  '<array><data>',
  '</data></array>',
  '<base64>',
  '=====',
];

/** Applies 1..max random byte-level mutations. */
export function mutateBytes(r: Rng, b: Uint8Array, max = 3): Uint8Array {
  let out = Buffer.from(b);
  const n = 1 + r.int(max);
  for (let i = 0; i < n; i++) {
    const at = out.length === 0 ? 0 : r.int(out.length);
    switch (r.int(7)) {
      case 0:
        if (out.length > 0) out[at] = r.int(256);
        break; // flip
      case 1:
        out = Buffer.concat([out.subarray(0, at), r.bytes(1 + r.int(8)), out.subarray(at)]);
        break; // insert noise
      case 2:
        out = Buffer.concat([out.subarray(0, at), out.subarray(Math.min(out.length, at + 1 + r.int(16)))]);
        break; // delete
      case 3: {
        const len = 1 + r.int(32);
        out = Buffer.concat([out.subarray(0, at), out.subarray(at, at + len), out.subarray(at)]);
        break;
      } // duplicate
      case 4:
        out = Buffer.concat([out.subarray(0, at), Buffer.from(r.pick(TOKENS)), out.subarray(at)]);
        break; // splice a token
      case 5:
        out = out.subarray(0, at);
        break; // truncate
      default: {
        // change a digit (numbers in headers)
        const digits: number[] = [];
        for (const [k, b] of out.entries()) if (b >= 0x30 && b <= 0x39) digits.push(k);
        if (digits.length > 0) out[r.pick(digits)] = 0x30 + r.int(10);
      }
    }
  }
  return out;
}

/** Applies mutations to a string through its UTF-8 bytes, decoded back leniently. */
export function mutateText(r: Rng, s: string, max = 3): string {
  return Buffer.from(mutateBytes(r, Buffer.from(s, 'utf8'), max)).toString('utf8');
}

/** Splits bytes into 1..maxPieces chunks at random points. */
export function split(r: Rng, b: Uint8Array, maxPieces = 8): Uint8Array[] {
  const cuts = new Set<number>();
  const n = r.int(maxPieces);
  for (let i = 0; i < n && b.length > 1; i++) cuts.add(1 + r.int(b.length - 1));
  const sorted = [...cuts].sort((x, y) => x - y);
  const out: Uint8Array[] = [];
  let prev = 0;
  for (const c of sorted) {
    out.push(b.subarray(prev, c));
    prev = c;
  }
  out.push(b.subarray(prev));
  return out;
}
