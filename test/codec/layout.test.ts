// The compiled module's shape: no imports, the expected exports, and layout globals that
// match the TS mirror in src/codec/layout.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as L from '../../src/codec/layout.js';

const FUNCTIONS = [
  'init',
  'sessionOpen',
  'sessionAddress',
  'sessionClose',
  'sessionReset',
  'channelOpen',
  'channelClose',
  'channelFind',
  'channelGet',
  'channelSetSeq',
  'decode',
  'skip',
  'encodeFrame',
  'encodeFit',
  'encodeSeq',
  'sendWindow',
  'setLimits',
  'sessionLimit',
  'channelLimit',
  'sessionCount',
  'channelCount',
  'heapEnd',
  'hashCapacity',
];

for (const build of ['codec.wasm', 'codec.debug.wasm']) {
  const module = new WebAssembly.Module(readFileSync(new URL(`../../../build/${build}`, import.meta.url)));
  test(`${build}: no imports`, () => {
    assert.deepEqual(WebAssembly.Module.imports(module), []);
  });
  test(`${build}: exports are the expected functions, layout globals and memory`, () => {
    const exports = WebAssembly.Module.exports(module);
    const fns = exports
      .filter((e) => e.kind === 'function')
      .map((e) => e.name)
      .sort();
    assert.deepEqual(fns, [...FUNCTIONS].sort());
    const globals = exports
      .filter((e) => e.kind === 'global')
      .map((e) => e.name)
      .sort();
    assert.deepEqual(globals, Object.keys(L).sort());
    assert.deepEqual(
      exports.filter((e) => e.kind === 'memory').map((e) => e.name),
      ['memory'],
    );
  });
  test(`${build}: layout globals equal the TS mirror; memory starts small, holds the layout, grows to its maximum`, () => {
    const inst = new WebAssembly.Instance(module, {});
    for (const [k, v] of Object.entries(L)) {
      assert.equal((inst.exports[k] as WebAssembly.Global).value, v, k);
    }
    const ex = inst.exports as unknown as { memory: WebAssembly.Memory; init(): number; heapEnd(): number };
    const mem = ex.memory;
    assert.equal(mem.buffer.byteLength, L.MEMORY_INITIAL_PAGES * 65536);
    // Fixed regions in order, then static data, then the heap; directories cover the hard ceilings.
    assert.ok(L.OUTPUT_OFFSET + L.OUTPUT_SIZE <= L.INPUT_OFFSET);
    assert.equal(L.SESSION_DIR_OFFSET, L.EVENTS_OFFSET + L.EVENT_WORDS * 4 * L.EVENT_CAPACITY);
    assert.equal(L.MAX_SESSIONS, L.SESSION_DIR_ENTRIES * L.SESSION_CHUNK);
    assert.equal(L.MAX_CHANNELS, L.CHANNEL_DIR_ENTRIES * L.CHANNEL_CHUNK);
    assert.ok(L.LAYOUT_END < L.HEAP_OFFSET && L.HEAP_OFFSET % 64 === 0);
    assert.ok(L.DEFAULT_MAX_SESSIONS <= L.MAX_SESSIONS && L.DEFAULT_MAX_CHANNELS <= L.MAX_CHANNELS);
    // init() places the first hash table in the initial memory: an idle instance never grows.
    assert.equal(ex.init(), 0);
    assert.equal(ex.heapEnd(), L.HEAP_OFFSET + 4 * L.HASH_INITIAL);
    assert.ok(ex.heapEnd() <= mem.buffer.byteLength);
    // Every byte address stays a positive int32; beyond the maximum, grow fails.
    assert.ok(L.MEMORY_MAX_PAGES * 65536 <= 2 ** 31);
    assert.throws(() => mem.grow(L.MEMORY_MAX_PAGES - L.MEMORY_INITIAL_PAGES + 1), RangeError);
    assert.equal(mem.grow(1), L.MEMORY_INITIAL_PAGES);
  });
}
