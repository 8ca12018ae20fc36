// Codec benchmark: decode throughput of the WASM codec vs the pure-TS reference on NUL,
// 64 B, 4 KiB and 64 KiB frames and a SEQ storm, fed in 16 KiB and 64 KiB chunks; then 64 B
// again with 100,000 other sessions open (grown tables, a large channel hash).
// Target (DESIGN.md): WASM >= 2x reference at 64 B frames, same run.
import { Bench } from 'tinybench';
import { WasmCodec, RefCodec, type FrameHandler, type SessionCodec } from '../src/codec/index.js';
import { machineLine } from './machine.js';

const TOTAL = 1 << 20; // octets of stream per iteration
const enc = new TextEncoder();

/** A stream of `count` frames of `size` octets on channel 1, seqnos from 0. */
function frames(kind: 'NUL' | 'MSG', size: number): { bytes: Uint8Array; count: number } {
  const parts: Uint8Array[] = [];
  const payload = new Uint8Array(size).fill(0x61);
  let seq = 0,
    len = 0,
    count = 0,
    msgno = 0;
  while (len < TOTAL) {
    const h = enc.encode(`${kind} 1 ${msgno} . ${seq} ${size}\r\n`);
    parts.push(h, payload, enc.encode('END\r\n'));
    len += h.length + size + 5;
    seq += size;
    count++;
    msgno = (msgno + 1) & 0x7fffffff;
  }
  const bytes = new Uint8Array(len);
  let o = 0;
  for (const p of parts) {
    bytes.set(p, o);
    o += p.length;
  }
  return { bytes, count };
}

function seqStorm(): { bytes: Uint8Array; count: number } {
  const one = enc.encode('SEQ 1 0 2147483647\r\n');
  const count = Math.floor(TOTAL / one.length);
  const bytes = new Uint8Array(count * one.length);
  for (let i = 0; i < count; i++) bytes.set(one, i * one.length);
  return { bytes, count };
}

function chunks(bytes: Uint8Array, size: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let i = 0; i < bytes.length; i += size) out.push(bytes.subarray(i, i + size));
  return out;
}

// The handler touches every field so no work is optimised away.
let sink = 0;
const handler: FrameHandler = {
  onFrame(type, channel, msgno, _more, seqno, size, _ansno, _buf, offset, length) {
    sink += type + channel + msgno + seqno + size + offset + length;
  },
  onData(channel, _buf, offset, length) {
    sink += channel + offset + length;
  },
  onSeq(channel, ackno, window) {
    sink += channel + ackno + window;
  },
  onSeqHint(channel, ackno) {
    sink += channel + ackno;
  },
  onError(status) {
    throw new Error(`bench stream rejected: status ${status}`);
  },
};

function codec(impl: 'wasm' | 'ref'): SessionCodec {
  const c = impl === 'wasm' ? new WasmCodec({ maxFrame: 1 << 20 }) : new RefCodec({ maxFrame: 1 << 20 });
  c.openChannel(1);
  c.encodeSeq(1, 0, 0x7fffffff); // a window that never limits the bench
  return c;
}

/** Opens `n` idle sessions with channel 0 in both codecs, as a busy server holds them. */
function crowd(n: number): SessionCodec[] {
  const out: SessionCodec[] = [];
  for (let i = 0; i < n; i++) {
    for (const c of [new WasmCodec(), new RefCodec()]) {
      c.openChannel(0);
      out.push(c);
    }
  }
  return out;
}

const cases: { name: string; bytes: Uint8Array; count: number; crowd?: number }[] = [
  { name: 'NUL (empty)', ...frames('NUL', 0) },
  { name: '64 B', ...frames('MSG', 64) },
  { name: '4 KiB', ...frames('MSG', 4096) },
  { name: '64 KiB', ...frames('MSG', 65536) },
  { name: 'SEQ storm', ...seqStorm() },
  { name: '64 B, 100k sessions open', ...frames('MSG', 64), crowd: 100_000 },
];

console.log(machineLine());
const rows: Record<string, string | number>[] = [];
const held: SessionCodec[] = [];
for (const c of cases) {
  if (c.crowd !== undefined) for (const k of crowd(c.crowd)) held.push(k);
  for (const chunkSize of [16384, 65536]) {
    const parts = chunks(c.bytes, chunkSize);
    const bench = new Bench({ time: Number(process.env.BENCH_TIME_MS ?? 800), warmupTime: 200 });
    const hz: Record<string, number> = {};
    for (const impl of ['wasm', 'ref'] as const) {
      const k = codec(impl);
      bench.add(impl, () => {
        k.setSeqState(1, 0, 0);
        for (const p of parts) k.decode(p, handler);
      });
    }
    await bench.run();
    for (const t of bench.tasks) {
      const r = t.result;
      if (r.state !== 'completed') throw new Error(`${c.name} ${t.name}: ${r.state}`);
      hz[t.name] = r.throughput.mean;
    }
    for (const impl of ['wasm', 'ref']) {
      rows.push({
        frames: c.name,
        chunk: `${chunkSize / 1024} KiB`,
        codec: impl,
        'frames/s': Math.round(hz[impl]! * c.count).toLocaleString('en-US'),
        'MB/s': ((hz[impl]! * c.bytes.length) / 1e6).toFixed(0),
        'wasm/ref': impl === 'wasm' ? `${(hz.wasm! / hz.ref!).toFixed(2)}x` : '',
      });
    }
  }
}
console.table(rows);
for (const c of held) c.dispose();
if (sink === 42) console.log('');
