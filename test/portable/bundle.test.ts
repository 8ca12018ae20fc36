// Issue 10: the main entry imports with no Node compatibility layer. esbuild bundles
// dist/src/index.js for the browser (as a workerd or browser build would); the bundle must
// resolve with no Node built-in, reach Node globals only where reviewed, and load and run a
// session in a context holding only Web globals.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import vm from 'node:vm';
import { browserBundle, assertSelfContained, assertNodeGlobalsReviewed, minifiedKiB } from './bundler.js';
import { webContext, evaluateBundle } from './web-context.js';

const ENTRY = 'dist/src/index.js';

test('portable: the main entry bundles for the browser with no Node built-in and no host require', async (t) => {
  const b = await browserBundle(ENTRY);
  assertSelfContained(b);
  t.diagnostic(`bundle ${Math.round(b.text.length / 1024)} KiB, minified ${await minifiedKiB(ENTRY)} KiB, ${Object.keys(b.metafile.inputs).length} modules`);
});

test('portable: the main entry names Node globals only in typeof tests or reviewed modules', async () => {
  await assertNodeGlobalsReviewed(await browserBundle(ENTRY));
});

// Runs inside the context: two sessions back to back over timers, greetings, a channel start
// and one echo. It exercises the codec (instantiated from the embedded base64 with the
// context's own WebAssembly), channel 0's XML parser, the session and the timers.
const PAIR = `globalThis.runPair = async ({ Session }) => {
  const P = 'http://beepwire.test/portable';
  class Pipe {
    write(a, b, c) {
      const parts = [a, b, c].filter((p) => p !== undefined).map((p) => p.slice());
      setTimeout(() => { for (const p of parts) this.peer.receive(p); }, 0);
      return true;
    }
    end() {}
  }
  const ia = new Pipe(), lb = new Pipe();
  const listener = new Session(lb, {
    start: () => ({ accept: true, uri: P }),
    channelOpened: (ch) => { ch.onMessage = (m) => { if (m.type === 'MSG') listener.sendReply(ch, 'RPY', m.msgno, m.content); }; },
  }, { role: 'listener' });
  const initiator = new Session(ia, {}, { role: 'initiator' });
  ia.peer = listener;
  lb.peer = initiator;
  listener.start({ profiles: [P] });
  initiator.start({ profiles: [] });
  const { channel } = await initiator.mgmt.startChannel(1, [{ uri: P, encoding: 'none' }]);
  const reply = new Promise((resolve) => { channel.onMessage = (m) => resolve(new TextDecoder().decode(m.content)); });
  initiator.sendMsg(channel, new TextEncoder().encode('ping'));
  let timer;
  const late = new Promise((_, reject) => { timer = setTimeout(() => reject(new Error('no reply in 5 s')), 5000); });
  try { return await Promise.race([reply, late]); } finally { clearTimeout(timer); }
};`;

test('portable: the main entry loads in a context with only Web globals and runs a session pair', async () => {
  const b = await browserBundle(ENTRY);
  const ctx = webContext();
  const mod = await evaluateBundle(b.text, ctx);
  for (const name of ['Ctx', 'Connection', 'Channel', 'Session', 'BeepError', 'registerProfile', 'setCodecLimits', 'codecUsage']) {
    assert.equal(typeof mod[name], 'function', name);
  }
  for (const name of ['tls', 'sasl', 'alive', 'tunnel', 'xmlrpc']) assert.equal(typeof mod[name], 'object', name);
  vm.runInContext(PAIR, ctx);
  assert.equal(await (ctx.runPair as (m: unknown) => Promise<string>)(mod), 'ping');
});
