// Codec capacity (issue 9): tables grow with memory.grow between calls, session state survives
// a growth, process-wide limits refuse with BeepError 'BEEP_ERR_CAPACITY' (never RangeError),
// and a freed slot is reused. Each test uses its own module instance, so counts are exact.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { WasmCodec, instantiateCodec, setCodecLimits, codecUsage, type CodecModule } from '../../src/codec/index.js';
import * as L from '../../src/codec/layout.js';
import { BeepError } from '../../src/errors.js';
import { collect, latin1, type Ev } from './collect.js';
import { testNeeding } from '../runtime-limits.js';
import { runtimeName } from '../../src/transport/select.js';

const WASM = readFileSync(new URL('../../../build/codec.wasm', import.meta.url));
const fresh = (): CodecModule => instantiateCodec(WASM);

/** True for the capacity refusal the session layer maps to 421 / 550. */
const isCapacity = (e: unknown): boolean => e instanceof BeepError && e.code === 'BEEP_ERR_CAPACITY' && !(e instanceof RangeError);

test('100,000 codec sessions (each with channel 0) open in one process, then close', () => {
  const m = fresh();
  const start = codecUsage(m);
  assert.equal(start.sessions, 0);
  assert.equal(start.memoryBytes, L.MEMORY_INITIAL_PAGES * 65536);
  const codecs: WasmCodec[] = [];
  for (let i = 0; i < 100_000; i++) {
    const c = new WasmCodec({}, m);
    c.openChannel(0);
    codecs.push(c);
  }
  const full = codecUsage(m);
  assert.equal(full.sessions, 100_000);
  assert.equal(full.channels, 100_000);
  // Tables grew: about 100 chunks of each kind, a hash at <= 50 % load.
  assert.ok(full.memoryBytes > start.memoryBytes);
  assert.ok(full.hashEntries >= 2 * full.channels);
  // Records, hash and leaked hash regions: at most SESSION_BYTES + CHANNEL_BYTES + 32 per session,
  // plus one partly used chunk of each kind.
  const perSession = (full.tableBytes - start.tableBytes - L.SESSION_CHUNK * L.SESSION_BYTES - L.CHANNEL_CHUNK * L.CHANNEL_BYTES) / 100_000;
  assert.ok(perSession <= L.SESSION_BYTES + L.CHANNEL_BYTES + 32, `table bytes per session: ${perSession}`);
  // Every session still finds its channel after all the growth.
  for (const i of [0, 1, 1023, 1024, 50_000, 99_999]) assert.ok(codecs[i]?.hasChannel(0));
  for (const c of codecs) c.dispose();
  const end = codecUsage(m);
  assert.equal(end.sessions, 0);
  assert.equal(end.channels, 0);
  // Reopening reuses freed slots: no new memory.
  const again = Array.from({ length: 1000 }, () => new WasmCodec({}, m));
  assert.equal(codecUsage(m).tableBytes, full.tableBytes);
  for (const c of again) c.dispose();
});

test('200,000 channels across 2,000 sessions; closing them frees every slot', () => {
  const m = fresh();
  const codecs = Array.from({ length: 2000 }, () => new WasmCodec({}, m));
  codecs.forEach((c, i) => {
    for (let ch = 0; ch < 100; ch++) c.openChannel(ch * 2 + (i & 1));
  });
  assert.equal(codecUsage(m).channels, 200_000);
  assert.ok(codecUsage(m).hashEntries >= 400_000);
  codecs.forEach((c, i) => {
    assert.equal(c.hasChannel(198 + (i & 1)), true);
    assert.equal(c.hasChannel(1 - (i & 1)), false);
  });
  // Channels close one by one (hash removal) and in bulk (dispose).
  for (const c of codecs.slice(0, 1000)) for (let ch = 0; ch < 200; ch++) if (c.hasChannel(ch)) c.closeChannel(ch);
  assert.equal(codecUsage(m).channels, 100_000);
  for (const c of codecs.slice(1000)) assert.equal(c.hasChannel(150 + (codecs.indexOf(c) & 1)), true);
  for (const c of codecs) c.dispose();
  assert.deepEqual([codecUsage(m).sessions, codecUsage(m).channels], [0, 0]);
});

test('state of a session survives table growth between two decode calls', () => {
  const m = fresh();
  const a = new WasmCodec({}, m);
  a.openChannel(0);
  a.openChannel(5);
  a.setSeqState(5, 1000, 77);
  a.encodeSeq(5, 1000, 65536);
  const payload = 'x'.repeat(300);
  const wire = latin1(`MSG 5 9 . 1000 300\r\n${payload}END\r\nMSG 0 1 * 0 3\r\nabcEND\r\n`);
  const evs: Ev[] = [];
  // Stop inside the second header: a partial header is carried in the input window.
  const cut = wire.length - 10;
  evs.push(...collect(a, [wire.subarray(0, cut)]));
  const before = codecUsage(m);
  const header = a.encodeFrame(L.T_RPY, 5, 3, false, 10, 0); // a cached header view, detached by the growth
  assert.equal(Buffer.from(header).toString('latin1'), 'RPY 5 3 . 77 10\r\n');
  const others: WasmCodec[] = [];
  for (let i = 0; i < 5000; i++) {
    const c = new WasmCodec({}, m);
    c.openChannel(0);
    others.push(c);
  }
  const after = codecUsage(m);
  assert.ok(after.memoryBytes > before.memoryBytes, 'memory grew');
  assert.ok(after.hashEntries > before.hashEntries, 'the hash was rehashed');
  assert.equal(header.length, 0, 'the old buffer is detached');
  evs.push(...collect(a, [wire.subarray(cut)]));
  assert.deepEqual(
    evs.filter((e) => e.kind === 'frame').map((e) => e.kind === 'frame' && [e.channel, e.msgno, e.more, e.seqno, e.size, e.end, e.payload]),
    [
      [5, 9, false, 1000, 300, true, Buffer.from(payload).toString('hex')],
      [0, 1, true, 0, 3, true, Buffer.from('abc').toString('hex')],
    ],
  );
  assert.deepEqual(a.recvState(5), { next: 1300, ackno: 1000, window: 65536 });
  assert.deepEqual(a.sendState(5), { next: 87, limit: 4096 + 77 });
  // The continuation state ("*" on channel 0) survived: a different msgno is refused.
  assert.deepEqual(
    collect(a, [latin1('MSG 0 2 . 3 0\r\nEND\r\n')]).map((e) => e.kind === 'error' && e.status),
    [L.S_CONTINUATION],
  );
  // Header views are re-made from the grown memory.
  assert.equal(Buffer.from(others[0]!.encodeFrame(L.T_MSG, 0, 0, false, 1, 0)).toString('latin1'), 'MSG 0 0 . 0 1\r\n');
  for (const c of [a, ...others]) c.dispose();
});

test('a payload split across calls survives growth, and so does growth from inside a handler', () => {
  const m = fresh();
  const a = new WasmCodec({}, m);
  a.openChannel(1);
  const frames = Array.from({ length: 40 }, (_, i) => `MSG 1 ${i} . ${50 + i * 4} 4\r\np${String(i).padStart(3, '0')}END\r\n`).join('');
  const wire = latin1(`MSG 1 100 . 0 50\r\n${'y'.repeat(50)}END\r\n${frames}`);
  const grown: WasmCodec[] = [];
  const seen: string[] = [];
  let octets = 0;
  const handler = {
    onFrame(
      _t: number,
      _c: number,
      msgno: number,
      _m: boolean,
      _s: number,
      _z: number,
      _a: number,
      buf: Uint8Array,
      off: number,
      len: number,
    ) {
      seen.push(`${msgno}:${Buffer.from(buf.subarray(off, off + len)).toString('latin1')}`);
      octets += len;
      // Opening sessions here grows memory while this decode call still has events to hand over.
      if (msgno === 0)
        for (let i = 0; i < 3000; i++) {
          const c = new WasmCodec({}, m);
          c.openChannel(0);
          grown.push(c);
        }
    },
    onData(_c: number, buf: Uint8Array, off: number, len: number) {
      seen.push(`+${Buffer.from(buf.subarray(off, off + len)).toString('latin1')}`);
      octets += len;
    },
    onSeq() {},
    onSeqHint() {},
    onError(status: number) {
      throw new Error(`status ${status}`);
    },
  };
  const mem0 = codecUsage(m).memoryBytes;
  assert.equal(a.decode(wire.subarray(0, 40), handler), true); // inside the first payload
  for (let i = 0; i < 2000; i++) grown.push(new WasmCodec({}, m));
  assert.equal(a.decode(wire.subarray(40), handler), true);
  assert.ok(codecUsage(m).memoryBytes > mem0);
  assert.equal(octets, 50 + 40 * 4);
  assert.equal(
    seen
      .filter((s) => s.startsWith('100:') || s.startsWith('+'))
      .map((s) => s.replace(/^\+|^100:/, ''))
      .join(''),
    'y'.repeat(50),
  );
  assert.deepEqual(
    seen.filter((s) => /^\d+:p/.test(s)),
    Array.from({ length: 40 }, (_, i) => `${i}:p${String(i).padStart(3, '0')}`),
  );
  for (const c of [a, ...grown]) c.dispose();
});

test('the session limit refuses with BEEP_ERR_CAPACITY; a freed slot is reused', () => {
  const m = fresh();
  setCodecLimits({ maxSessions: 3 }, m);
  assert.deepEqual([codecUsage(m).maxSessions, codecUsage(m).maxChannels], [3, L.DEFAULT_MAX_CHANNELS]);
  const held = [new WasmCodec({}, m), new WasmCodec({}, m), new WasmCodec({}, m)];
  assert.throws(() => new WasmCodec({}, m), isCapacity);
  held[1]!.dispose();
  const again = new WasmCodec({}, m);
  again.openChannel(0);
  assert.ok(again.hasChannel(0));
  assert.throws(() => new WasmCodec({}, m), isCapacity);
  // Lowering below what is open keeps it open; raising lets new sessions in.
  setCodecLimits({ maxSessions: 1 }, m);
  assert.ok(again.hasChannel(0));
  setCodecLimits({ maxSessions: 4 }, m);
  held.push(new WasmCodec({}, m));
  for (const c of [...held, again]) c.dispose();
  assert.equal(codecUsage(m).sessions, 0);
});

test('the channel limit (over all sessions) refuses with BEEP_ERR_CAPACITY; a freed channel is reused', () => {
  const m = fresh();
  setCodecLimits({ maxChannels: 5 }, m);
  const a = new WasmCodec({}, m),
    b = new WasmCodec({}, m);
  for (const ch of [0, 1, 2]) a.openChannel(ch);
  b.openChannel(0);
  b.openChannel(7);
  assert.throws(() => b.openChannel(8), isCapacity);
  assert.throws(() => a.openChannel(3), isCapacity);
  a.closeChannel(1);
  b.openChannel(8);
  assert.ok(b.hasChannel(8));
  assert.throws(() => a.openChannel(1), isCapacity);
  a.reset(); // tuning reset frees a's channels
  a.openChannel(0);
  a.openChannel(1);
  assert.equal(codecUsage(m).channels, 5);
  a.dispose();
  b.dispose();
  assert.equal(codecUsage(m).channels, 0);
});

test('misuse stays RangeError: bad limits, bad or duplicate channel numbers', () => {
  const m = fresh();
  for (const bad of [{ maxSessions: 0 }, { maxSessions: L.MAX_SESSIONS + 1 }, { maxChannels: 1.5 }, { maxChannels: -1 }]) {
    assert.throws(() => setCodecLimits(bad, m), RangeError);
  }
  assert.equal(codecUsage(m).maxSessions, L.DEFAULT_MAX_SESSIONS);
  const c = new WasmCodec({}, m);
  assert.throws(() => c.openChannel(-1), RangeError);
  c.openChannel(1);
  assert.throws(() => c.openChannel(1), RangeError);
  assert.throws(() => new WasmCodec({ maxHeader: 8 }, m), RangeError);
  c.dispose();
  assert.throws(() => c.openChannel(2), RangeError);
  // Disposed from inside its own handler, a codec stays failed.
  const d = new WasmCodec({}, m);
  d.openChannel(1);
  const quiet = {
    onFrame() {
      d.dispose();
    },
    onData() {},
    onSeq() {},
    onSeqHint() {},
    onError() {},
  };
  d.decode(latin1('MSG 1 0 . 0 0\r\nEND\r\n'), quiet);
  assert.equal(d.failed, true);
  assert.equal(codecUsage(m).sessions, 0);
  // A disposed codec decodes nothing and touches no table.
  assert.equal(
    c.decode(latin1('MSG 1 0 . 0 0\r\nEND\r\n'), {
      onFrame() {
        throw new Error('no');
      },
      onData() {},
      onSeq() {},
      onSeqHint() {},
      onError() {},
    }),
    false,
  );
});

testNeeding(
  'wasm-memory-cap',
  'memory.grow failing (V8 capped at 8 pages) refuses sessions and channels with BEEP_ERR_CAPACITY; tables stay usable',
  () => {
    // A child process, since the cap is a V8 flag; the script stops at the first refusal of each kind.
    const index = new URL('../../src/codec/index.js', import.meta.url).href;
    const script = `
    import { WasmCodec, codecUsage } from ${JSON.stringify(index)};
    const held = [], out = {};
    try { for (;;) { const c = new WasmCodec(); try { c.openChannel(0); } catch (e) { c.dispose(); throw e; } held.push(c); } }
    catch (e) { out.session = [e.name, e.code, e.message, held.length, codecUsage().sessions]; }
    const a = held[0];
    let ch = 1;
    try { for (;; ch++) a.openChannel(ch); }
    catch (e) { out.channel = [e.name, e.code, e.message]; }
    out.allThere = held.every((c) => c.hasChannel(0)) && a.hasChannel(ch - 1) && !a.hasChannel(ch);
    held.pop().dispose();
    const again = new WasmCodec();
    out.reused = codecUsage().sessions === held.length + 1;
    console.log(JSON.stringify(out));`;
    // A file, not -e: Deno runs a module file but not node's --input-type=module -e.
    const dir = mkdtempSync(join(tmpdir(), 'beepwire-grow-'));
    const file = join(dir, 'grow.mjs');
    writeFileSync(file, script);
    const cap = '--wasm-max-mem-pages=8';
    const argv = runtimeName() === 'deno' ? ['run', '-A', `--v8-flags=${cap}`, file] : [cap, file];
    const r = spawnSync(process.execPath, argv, { encoding: 'utf8', timeout: 60_000 });
    rmSync(dir, { recursive: true, force: true });
    assert.equal(r.status, 0, r.stderr);
    const out = JSON.parse(r.stdout);
    const [name, code, message, held, sessions] = out.session;
    assert.deepEqual([name, code], ['BeepError', 'BEEP_ERR_CAPACITY']);
    assert.match(message, /memory cannot grow/);
    assert.ok(held > 1000 && sessions === held, `${held} sessions held`);
    assert.deepEqual(out.channel.slice(0, 2), ['BeepError', 'BEEP_ERR_CAPACITY']);
    assert.equal(out.allThere, true);
    assert.equal(out.reused, true);
  },
);
