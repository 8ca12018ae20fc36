// loadCodec(module) as workerd uses it (issue 10): the module passed first is the process-wide
// instance, and the later calls without a source (sessions, limits, usage) return it. Each test
// file runs in its own process, so this file's first loadCodec call is the process's first.
// (test/portable/workerd.test.ts checks the same where compiling bytes throws, as on workerd.)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { loadCodec, createCodec, codecUsage } from '../../src/codec/index.js';

const BYTES = readFileSync(new URL('../../../build/codec.wasm', import.meta.url));

test('loadCodec(new WebAssembly.Module(build/codec.wasm)) first; loadCodec() then returns that instance', () => {
  const first = loadCodec(new WebAssembly.Module(BYTES));
  assert.equal(loadCodec(), first);
  assert.equal(loadCodec(BYTES), first, 'a source after the first load is ignored');
  // A session's codec and the usage report use the same instance.
  const codec = createCodec();
  assert.equal(first.exports.sessionCount(), 1);
  assert.equal(codecUsage().sessions, 1);
  codec.dispose();
  assert.equal(first.exports.sessionCount(), 0);
});
