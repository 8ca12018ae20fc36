// The browser demo (examples/browser/) from Node: its server serves the page with the
// listener's URL written in and the bundled module, and the demo's client (demo.ts, what the
// page runs) passes against its listener here too, over `ws` instead of a browser's WebSocket.
// Chromium itself runs it in `npm run test:browser` (scripts/browser-test.mjs).
import { before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startDemoServer, type DemoServer } from '../examples/browser/serve.js';
import { runDemo, LARGE, PROFILE, ROUNDS } from '../examples/browser/demo.js';
import { Ctx, Connection } from '../src/index.js';
import { runtimeName } from '../src/transport/select.js';
import { testNeeding, lacks } from './runtime-limits.js';

let demo: DemoServer;
before(async () => {
  if (!lacks('ws-listener')) demo = await startDemoServer();
});
after(async () => {
  await demo?.close();
});

testNeeding('ws-listener', 'the page names the listener; /app.js is the bundled module, with no Node import', async () => {
  assert.match(demo.pageUrl, /^http:\/\/127\.0\.0\.1:\d+\/$/);
  assert.equal(demo.wsUrl, `ws://127.0.0.1:${demo.listener.port}/beep`);
  const page = await fetch(demo.pageUrl);
  assert.equal(page.status, 200);
  const html = await page.text();
  assert.ok(html.includes(`<meta name="beepwire-ws" content="${demo.wsUrl}">`), 'the listener URL is written into the page');
  assert.ok(html.includes('<script type="module" src="/app.js">'));
  const app = await fetch(new URL('/app.js', demo.pageUrl));
  assert.equal(app.status, 200);
  assert.match(app.headers.get('content-type') ?? '', /^text\/javascript/);
  const js = await app.text();
  assert.equal(js.length, demo.bundleOctets);
  assert.ok(js.includes('__beepwireResult'));
  assert.deepEqual(js.match(/(?:\bfrom\s*|\bimport\s*\(\s*)["'`]node:[^"'`]+["'`]/g) ?? [], []);
  assert.equal((await fetch(new URL('/nothing', demo.pageUrl))).status, 404);
});

testNeeding(
  'ws-listener',
  'the demo client passes against the demo listener: 64-octet round trips, 8 MiB with progress both ways',
  async () => {
    const sent: number[] = [];
    const received: number[] = [];
    let rtts = 0;
    const r = await runDemo(demo.wsUrl, {
      sent: (n) => sent.push(n),
      received: (n) => received.push(n),
      rtt: () => {
        rtts++;
      },
    });
    assert.ok(r.ok, JSON.stringify(r));
    assert.equal(r.error, undefined);
    assert.equal(r.echo64.rounds, ROUNDS);
    assert.equal(rtts, ROUNDS);
    assert.ok(r.echo64.rttMs.min > 0 && r.echo64.rttMs.min <= r.echo64.rttMs.median && r.echo64.rttMs.median <= r.echo64.rttMs.max);
    assert.equal(r.echo8MiB.octets, LARGE);
    assert.ok(r.echo8MiB.replyFrames > 1, 'the reply came frame by frame');
    for (const xs of [sent, received]) {
      assert.ok(xs.length > 1);
      assert.ok(
        xs.every((x, i) => i === 0 || x >= xs[i - 1]!),
        'progress never goes back',
      );
      assert.equal(xs.at(-1), LARGE);
    }
    assert.ok(r.echo8MiB.sentMs > 0 && r.echo8MiB.sentMs <= r.echo8MiB.ms);
  },
);

testNeeding(false, 'the demo reports a listener it cannot reach, without throwing', async () => {
  const r = await runDemo('ws://127.0.0.1:1/beep');
  assert.equal(r.ok, false);
  assert.match(r.error ?? '', /^connect ws:\/\/127\.0\.0\.1:1\/beep: /);
  assert.equal(r.echo8MiB.ok, false);
});

testNeeding('ws-listener', "plain BEEP on the demo listener's port (shared with WebSocket)", async () => {
  const conn = await Connection.connect(new Ctx(), '127.0.0.1', demo.listener.port);
  assert.ok(conn.isOk());
  assert.equal(conn.transport.kind, runtimeName() === 'deno' ? 'deno' : 'node'); // the runtime's TCP adapter, not WebSocket
  const ch = await conn.openChannel(0, PROFILE);
  assert.ok(ch);
  assert.equal((await ch.request('plain')).text, 'plain');
  assert.ok(await conn.close());
});
