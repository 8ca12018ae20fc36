// The parts of issue 10 that stand alone: the `beepwire/codec` entry and the SASL mechanisms
// (SASLprep, MD5 through node-forge's modules, Web Crypto) bundle for the browser and run in a
// context with only Web globals, with the same checks as the main entry.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import vm from 'node:vm';
import { browserBundle, assertSelfContained, assertNodeGlobalsReviewed, minifiedKiB } from './bundler.js';
import { webContext, evaluateBundle } from './web-context.js';

const CODEC = 'dist/src/codec/index.js';

test('portable: the codec entry bundles, and loads its embedded wasm with only Web globals', async (t) => {
  const b = await browserBundle(CODEC);
  assertSelfContained(b);
  await assertNodeGlobalsReviewed(b);
  t.diagnostic(`codec bundle ${Math.round(b.text.length / 1024)} KiB, minified ${await minifiedKiB(CODEC)} KiB`);
  const ctx = webContext();
  const mod = await evaluateBundle(b.text, ctx);
  // loadCodec() decodes the embedded base64 (atob) and compiles it with the context's WebAssembly.
  const usage = vm.runInContext('(m) => { const c = m.loadCodec(); return [c.exports.heapEnd() > 0, m.codecUsage().sessions]; }', ctx) as (
    m: unknown,
  ) => [boolean, number];
  assert.deepEqual([...usage(mod)], [true, 0]);
});

// The RFC vectors of src/sasl/mechanisms.test.ts and test/sasl/saslprep.test.ts, run in the context.
const SASL_ENTRY = `
export { cramMd5Client } from './dist/src/sasl/mechanisms.js';
export { digestMd5Client, parseDirectives } from './dist/src/sasl/digest-md5.js';
export { scramClient } from './dist/src/sasl/scram.js';
export { saslprep, utf8, fromUtf8 } from './dist/src/sasl/crypto.js';
`;
const SASL_RUN = `async (m) => {
  const out = [];
  out.push(m.saslprep('I\\u00ADX'), m.saslprep('\\u2168'));
  try { m.saslprep('\\u0627\\u0031'); out.push('no error'); } catch (e) { out.push(e.name); }
  const cram = m.cramMd5Client({ authId: 'tim', password: 'tanstaaftanstaaf' });
  out.push(m.fromUtf8(await cram.step(m.utf8('<1896.697170952@postoffice.reston.mci.net>'))));
  const digest = m.digestMd5Client({ authId: 'chris', password: 'secret', serverName: 'elwood.innosoft.com' }, 'OA6MHXh6VqTrRk', 'imap');
  const challenge = 'realm="elwood.innosoft.com",nonce="OA6MG9tEQGm2hh",qop="auth",algorithm=md5-sess,charset=utf-8';
  out.push(m.parseDirectives(m.fromUtf8(await digest.step(m.utf8(challenge)))).get('response'));
  const scram = m.scramClient({ authId: 'user', password: 'pencil' }, 'rOprNGfwEbeRWgbNEkqO');
  await scram.initial();
  const final = await scram.step(m.utf8('r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096'));
  out.push(m.fromUtf8(final).split(',p=')[1]);
  out.push(await scram.verify(m.utf8('v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=')));
  return out;
}`;

test('portable: the SASL mechanisms bundle and pass their RFC vectors with only Web globals', async (t) => {
  const b = await browserBundle({ contents: SASL_ENTRY });
  assertSelfContained(b);
  await assertNodeGlobalsReviewed(b);
  t.diagnostic(
    `SASL mechanisms bundle ${Math.round(b.text.length / 1024)} KiB (node-forge's MD5/HMAC modules ${Math.round(forgeBytes(b.metafile) / 1024)} KiB unminified)`,
  );
  const ctx = webContext();
  const mod = await evaluateBundle(b.text, ctx);
  const run = vm.runInContext(SASL_RUN, ctx) as (m: unknown) => Promise<unknown[]>;
  assert.deepEqual(
    [...(await run(mod))],
    [
      'IX',
      'IX',
      'RangeError',
      'tim b913a602c7eda7a495b4e6e7334d3890', // RFC 2195
      'd388dad90d4bbd760a152321f2143af7', // RFC 2831 §4
      'dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=',
      true, // RFC 7677 §3
    ],
  );
});

/** Bytes of node-forge in a bundle's output. */
function forgeBytes(metafile: { outputs: Record<string, { inputs: Record<string, { bytesInOutput: number }> }> }): number {
  const out = Object.values(metafile.outputs)[0];
  assert.ok(out, 'the bundle has an output');
  return Object.entries(out.inputs)
    .filter(([f]) => f.includes('node_modules/node-forge/'))
    .reduce((n, [, i]) => n + i.bytesInOutput, 0);
}
