// Issue 10: the main entry imports with no Node compatibility layer. esbuild bundles
// dist/src/index.js for the browser (as a workerd or browser build would); the bundle must
// resolve with no Node built-in, reach Node globals only where reviewed, and load and run a
// session in a context holding only Web globals.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import vm from 'node:vm';
import { browserBundle, assertSelfContained, assertNodeGlobalsReviewed, minifiedKiB } from './bundler.js';
import { webContext, evaluateBundle } from './web-context.js';
import { PAIR } from './pair-script.js';

const ENTRY = 'dist/src/index.js';

test('portable: the main entry bundles for the browser with no Node built-in and no host require', async (t) => {
  const b = await browserBundle(ENTRY);
  assertSelfContained(b);
  t.diagnostic(
    `bundle ${Math.round(b.text.length / 1024)} KiB, minified ${await minifiedKiB(ENTRY)} KiB, ${Object.keys(b.metafile.inputs).length} modules`,
  );
});

test('portable: the main entry names Node globals only in typeof tests or reviewed modules', async () => {
  await assertNodeGlobalsReviewed(await browserBundle(ENTRY));
});

test('portable: the main entry loads in a context with only Web globals and runs a session pair', async () => {
  const b = await browserBundle(ENTRY);
  const ctx = webContext();
  const mod = await evaluateBundle(b.text, ctx);
  for (const name of ['Ctx', 'Connection', 'Channel', 'Session', 'BeepError', 'registerProfile', 'setCodecLimits', 'codecUsage']) {
    assert.equal(typeof mod[name], 'function', name);
  }
  for (const name of ['tls', 'sasl', 'alive', 'tunnel', 'xmlrpc']) assert.equal(typeof mod[name], 'object', name);
  // The codec comes from the embedded base64, compiled by the context's own WebAssembly.
  vm.runInContext(PAIR, ctx);
  assert.equal(await (ctx.runPair as (m: unknown) => Promise<string>)(mod), 'ping');
});
