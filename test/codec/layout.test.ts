// The compiled module's shape: no imports, the expected exports, and layout globals that
// match the TS mirror in src/codec/layout.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as L from '../../src/codec/layout.js';

const FUNCTIONS = ['init', 'sessionOpen', 'sessionClose', 'sessionReset', 'channelOpen', 'channelClose',
  'channelFind', 'channelGet', 'channelSetSeq', 'decode', 'skip', 'encodeFrame', 'encodeFit', 'encodeSeq', 'sendWindow'];

for (const build of ['codec.wasm', 'codec.debug.wasm']) {
  const module = new WebAssembly.Module(readFileSync(new URL(`../../../build/${build}`, import.meta.url)));
  test(`${build}: no imports`, () => {
    assert.deepEqual(WebAssembly.Module.imports(module), []);
  });
  test(`${build}: exports are the expected functions, layout globals and memory`, () => {
    const exports = WebAssembly.Module.exports(module);
    const fns = exports.filter((e) => e.kind === 'function').map((e) => e.name).sort();
    assert.deepEqual(fns, [...FUNCTIONS].sort());
    const globals = exports.filter((e) => e.kind === 'global').map((e) => e.name).sort();
    assert.deepEqual(globals, Object.keys(L).sort());
    assert.deepEqual(exports.filter((e) => e.kind === 'memory').map((e) => e.name), ['memory']);
  });
  test(`${build}: layout globals equal the TS mirror; memory is fixed-size and holds the layout`, () => {
    const inst = new WebAssembly.Instance(module, {});
    for (const [k, v] of Object.entries(L)) {
      assert.equal((inst.exports[k] as WebAssembly.Global).value, v, k);
    }
    const mem = inst.exports.memory as WebAssembly.Memory;
    assert.equal(mem.buffer.byteLength, L.MEMORY_PAGES * 65536);
    assert.ok(L.LAYOUT_END <= mem.buffer.byteLength);
    assert.throws(() => mem.grow(1), RangeError);
  });
}
