// Differential test: the WASM codec and the pure-TS reference must produce identical
// normalized events for random and mutated streams under random chunkings, and the WASM
// codec must never trap. BEEPWIRE_DIFF_RUNS overrides the case count (default 100,000).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { WasmCodec, RefCodec } from '../../src/codec/index.js';
import type { SessionCodec } from '../../src/codec/types.js';
import { collect, latin1 } from './collect.js';

const RUNS = Number(process.env.BEEPWIRE_DIFF_RUNS ?? 100_000);
const KW = ['MSG', 'RPY', 'ERR', 'ANS', 'NUL', 'SEQ'];

interface FrameSpec {
  kw: number;
  channel: number;
  msgno: number;
  more: boolean;
  seqnoDelta: number;
  payload: Uint8Array;
  ansno: number;
  window: number;
}

const frameSpec: fc.Arbitrary<FrameSpec> = fc.record({
  kw: fc.nat(5),
  channel: fc.oneof({ weight: 6, arbitrary: fc.constantFrom(0, 1, 1, 1) }, { weight: 1, arbitrary: fc.constantFrom(2, 2147483647) }),
  msgno: fc.oneof(fc.nat(3), fc.constant(2147483647)),
  more: fc.boolean(),
  seqnoDelta: fc.oneof({ weight: 8, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.integer({ min: -3, max: 3 }) }),
  payload: fc.oneof(
    { weight: 5, arbitrary: fc.uint8Array({ maxLength: 40 }) },
    { weight: 1, arbitrary: fc.uint8Array({ minLength: 1000, maxLength: 5000 }) },
  ),
  ansno: fc.oneof(fc.nat(3), fc.constant(4294967295)),
  window: fc.oneof(fc.constantFrom(0, 4096, 8192, 2147483647), fc.nat()),
});

const mutation = fc.record({
  at: fc.nat(),
  op: fc.nat(3),
  byte: fc.constantFrom(0x20, 0x0d, 0x0a, 0x2a, 0x2e, 0x30, 0x39, 0x41, 0x45, 0x4e, 0x44, 0x00, 0xff),
});

/** Builds a stream that follows each channel's seqno (so frames go deep), then mutates it. */
function build(specs: FrameSpec[], base: number, sendNext: number): Uint8Array {
  const next = new Map<number, number>();
  const parts: Uint8Array[] = [];
  for (const f of specs) {
    const kw = KW[f.kw];
    if (kw === 'SEQ') {
      parts.push(latin1(`SEQ ${f.channel} ${(sendNext + f.seqnoDelta) >>> 0} ${f.window}\r\n`));
      continue;
    }
    const seq = ((next.get(f.channel) ?? base) + f.seqnoDelta) >>> 0;
    next.set(f.channel, (seq + f.payload.length) >>> 0);
    const more = f.more && kw !== 'NUL' ? '*' : '.';
    const ans = kw === 'ANS' ? ` ${f.ansno}` : '';
    parts.push(latin1(`${kw} ${f.channel} ${f.msgno} ${more} ${seq} ${f.payload.length}${ans}\r\n`), f.payload, latin1('END\r\n'));
  }
  return Buffer.concat(parts);
}

function mutate(bytes: Uint8Array, muts: ReadonlyArray<{ at: number; op: number; byte: number }>): Uint8Array {
  let b = Array.from(bytes);
  for (const m of muts) {
    if (b.length === 0) break;
    const i = m.at % b.length;
    if (m.op === 0) b[i] = m.byte;
    else if (m.op === 1) b.splice(i, 1);
    else if (m.op === 2) b.splice(i, 0, m.byte);
    else b = b.slice(0, i);
  }
  return Uint8Array.from(b);
}

function chunk(bytes: Uint8Array, cuts: number[]): Uint8Array[] {
  const pts = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  const out: Uint8Array[] = [];
  let prev = 0;
  for (const p of pts) {
    out.push(bytes.subarray(prev, p));
    prev = p;
  }
  out.push(bytes.subarray(prev));
  return out;
}

function codecPair(maxHeader: number, maxFrame: number, base: number, sendNext: number): [SessionCodec, SessionCodec] {
  const pair: [SessionCodec, SessionCodec] = [new WasmCodec({ maxHeader, maxFrame }), new RefCodec({ maxHeader, maxFrame })];
  for (const c of pair) {
    for (const ch of [0, 1, 2147483647]) {
      c.openChannel(ch);
      c.setSeqState(ch, base, sendNext);
    }
  }
  return pair;
}

const scenario = fc.record({
  specs: fc.array(frameSpec, { minLength: 1, maxLength: 8 }),
  muts: fc.oneof(fc.constant([] as { at: number; op: number; byte: number }[]), fc.array(mutation, { minLength: 1, maxLength: 3 })),
  random: fc.oneof(
    { weight: 1, arbitrary: fc.uint8Array({ maxLength: 200 }) },
    { weight: 1, arbitrary: fc.constant(null) },
    { weight: 1, arbitrary: fc.constant(null) },
    { weight: 1, arbitrary: fc.constant(null) },
    { weight: 1, arbitrary: fc.constant(null) },
    { weight: 1, arbitrary: fc.constant(null) },
  ),
  cutsA: fc.array(fc.nat(), { maxLength: 6 }),
  cutsB: fc.array(fc.nat(), { maxLength: 6 }),
  maxHeader: fc.constantFrom(16, 24, 40, 64, 1024, 4096),
  maxFrame: fc.constantFrom(0, 10, 100, 4096, 1 << 20),
  base: fc.constantFrom(0, 0, 4294967290, 2147483647),
  sendNext: fc.constantFrom(0, 100, 4294967295),
});

test(`differential: WASM == reference on ${RUNS} random/mutated streams, no trap`, () => {
  let errors = 0,
    frames = 0;
  fc.assert(
    fc.property(scenario, (s) => {
      const bytes = s.random ?? mutate(build(s.specs, s.base, s.sendNext), s.muts);
      const [w, r] = codecPair(s.maxHeader, s.maxFrame, s.base, s.sendNext);
      try {
        const a = collect(w, chunk(bytes, s.cutsA));
        const b = collect(r, chunk(bytes, s.cutsB));
        assert.deepEqual(a, b);
        if (a.some((e) => e.kind === 'error')) errors++;
        frames += a.filter((e) => e.kind === 'frame').length;
      } finally {
        w.dispose();
        r.dispose();
      }
    }),
    { numRuns: RUNS, seed: Number(process.env.BEEPWIRE_DIFF_SEED ?? 3080) },
  );
  console.log(`differential: ${RUNS} cases, ${frames} frames, ${errors} cases ending in a codec error`);
  assert.ok(
    errors > RUNS / 20 && frames > RUNS / 2,
    `generator must reach both valid frames and errors (${frames} frames, ${errors} errors)`,
  );
});
