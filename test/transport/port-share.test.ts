// Port sharing: plain BEEP, BEEP over WebSocket and BEEP over WebSocket over TLS on one port,
// told apart per connection by the first octets (or the client's silence: a BEEP client that
// waits for our greeting is greeted after detectDelay).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Ctx, registerProfile, createListener, Connection, tls, classifyFirstOctets, type Listener } from '../../src/index.js';
import * as certs from '../../src/tls/certs.js';
import { RawPeer, greetingPayload } from '../session/raw.js';
import { testNeeding } from '../runtime-limits.js';
import { trusting } from './ws-peer.js';

const ECHO = 'http://beepwire.test/echo';
const DELAY = 300;
let ca: certs.CertPair, leaf: certs.CertPair;
let ctx: Ctx;
let shared: Listener;
const kinds: string[] = [];

before(async () => {
  ca = certs.generateCa({ commonName: 'beepwire share CA' });
  leaf = certs.generateLeaf(ca, { commonName: 'localhost', dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'] });
  ctx = new Ctx();
  registerProfile(ctx, ECHO, {
    frameReceived: (c, ch, f) => {
      if (f.type === 'MSG') ch.sendRpy(`${c.transport.kind}:${tls.isEnabled(c) ? 'tls' : 'clear'}:${f.text}`, undefined, f.msgNo);
    },
  });
  tls.acceptTls(ctx, { certHandler: () => leaf.cert, keyHandler: () => leaf.key });
  shared = await createListener(ctx, '127.0.0.1', 0, {
    websocket: { share: true, detectDelay: DELAY, tls: { cert: leaf.cert, key: leaf.key } },
    onAccept: (c) => kinds.push(c.transport.kind),
  });
  assert.ok(shared.isOk(), shared.errorMsg);
});

after(async () => {
  await ctx.exit();
});

const b = (s: string): Uint8Array => new TextEncoder().encode(s);

test('classifyFirstOctets: "GET " is WebSocket, 0x16 0x03 is TLS, the rest BEEP; prefixes wait, or decide when final', () => {
  assert.equal(classifyFirstOctets(b('GET / HTTP/1.1')), 'websocket');
  assert.equal(classifyFirstOctets(b('RPY 0 0 . 0 10')), 'beep');
  assert.equal(classifyFirstOctets(Uint8Array.of(0x16, 0x03, 0x01, 0x02, 0x00)), 'tls');
  assert.equal(classifyFirstOctets(Uint8Array.of(0x16, 0x04)), 'beep');
  assert.equal(classifyFirstOctets(b('GE')), 'more');
  assert.equal(classifyFirstOctets(b('GE'), true), 'websocket');
  assert.equal(classifyFirstOctets(b('GEX ')), 'beep');
  assert.equal(classifyFirstOctets(Uint8Array.of(0x16)), 'more');
  assert.equal(classifyFirstOctets(Uint8Array.of(0x16), true), 'beep');
  assert.equal(classifyFirstOctets(b('POST /')), 'beep');
  assert.equal(classifyFirstOctets(new Uint8Array(0), true), 'beep');
});

test('shared port: a beepwire client (it greets at once) is BEEP, detected from its greeting without waiting', async () => {
  const t0 = Date.now();
  const conn = await Connection.connect(new Ctx(), '127.0.0.1', shared.port);
  assert.ok(conn.isOk(), JSON.stringify(conn.popChannelError()));
  assert.ok(Date.now() - t0 < DELAY, `greeted in ${Date.now() - t0} ms`);
  const ch = (await conn.openChannel(0, ECHO))!;
  assert.equal((await ch.request('a')).text, 'node:clear:a');
  assert.ok(await tls.startTls(conn, { serverName: 'localhost', ca: ca.cert }), JSON.stringify(conn.popChannelError()));
  const ch2 = (await conn.openChannel(0, ECHO))!;
  assert.equal((await ch2.request('b')).text, 'node:tls:b', 'the TLS profile on a plain BEEP connection of the shared port');
  await conn.close();
});

test('shared port: a BEEP client that waits for our greeting is greeted after detectDelay', async () => {
  const t0 = Date.now();
  const raw = await RawPeer.connect(shared.port);
  await raw.waitFor('</greeting>', 5000);
  const waited = Date.now() - t0;
  assert.ok(waited >= DELAY - 20, `greeted after ${waited} ms`);
  await raw.send(raw.frame('RPY', 0, 0, greetingPayload()));
  await raw.send(raw.frame('MSG', 0, 1, `Content-Type: application/beep+xml\r\n\r\n<start number='1'><profile uri='${ECHO}'/></start>`));
  await raw.waitFor('RPY 0 1 ');
  await raw.send(raw.frame('MSG', 1, 0, 'Content-Type: text/plain\r\n\r\nsilent'));
  await raw.waitFor('node:clear:silent');
  raw.socket.destroy();
});

testNeeding('ws-client-tls-in-place', 'shared port: ws:// is detected from "GET "; the TLS profile works inside it', async () => {
  const conn = await Connection.connect(new Ctx(), `ws://127.0.0.1:${shared.port}/beep`);
  assert.ok(conn.isOk(), JSON.stringify(conn.popChannelError()));
  const ch = (await conn.openChannel(0, ECHO))!;
  assert.equal((await ch.request('c')).text, 'websocket:clear:c');
  assert.ok(await tls.startTls(conn, { serverName: 'localhost', ca: ca.cert }), JSON.stringify(conn.popChannelError()));
  const ch2 = (await conn.openChannel(0, ECHO))!;
  assert.equal((await ch2.request('d')).text, 'websocket:tls:d');
  await conn.close();
});

test('shared port: wss:// is detected from the TLS ClientHello', async () => {
  const conn = await Connection.connect(new Ctx(), `wss://127.0.0.1:${shared.port}/`, { websocket: trusting(ca.cert) });
  assert.ok(conn.isOk(), JSON.stringify(conn.popChannelError()));
  const ch = (await conn.openChannel(0, ECHO))!;
  assert.equal((await ch.request('e')).text, 'websocket:clear:e');
  await conn.close();
});

test('shared port: all three at once, each detected', async () => {
  kinds.length = 0;
  const conns = await Promise.all([
    Connection.connect(new Ctx(), '127.0.0.1', shared.port),
    Connection.connect(new Ctx(), `ws://127.0.0.1:${shared.port}/`),
    Connection.connect(new Ctx(), `wss://127.0.0.1:${shared.port}/`, { websocket: trusting(ca.cert) }),
  ]);
  const texts = await Promise.all(conns.map(async (c) => (await (await c.openChannel(0, ECHO))!.request('f')).text));
  assert.deepEqual(texts, ['node:clear:f', 'websocket:clear:f', 'websocket:clear:f']);
  assert.deepEqual([...kinds].sort(), ['node', 'websocket', 'websocket']);
  await Promise.all(conns.map((c) => c.close()));
});

test('shared port without `tls`: a TLS ClientHello is taken for BEEP and refused by its framing; the port goes on', async () => {
  const c2 = new Ctx();
  registerProfile(c2, ECHO, {
    frameReceived: (_c, ch, f) => {
      if (f.type === 'MSG') ch.sendRpy(f.text, undefined, f.msgNo);
    },
  });
  const l = await createListener(c2, '127.0.0.1', 0, { websocket: { share: true, detectDelay: DELAY } });
  const bad = await Connection.connect(new Ctx(), `wss://127.0.0.1:${l.port}/`, { websocket: { rejectUnauthorized: false } });
  assert.equal(bad.isOk(), false);
  const ok = await Connection.connect(new Ctx(), `ws://127.0.0.1:${l.port}/`);
  assert.ok(ok.isOk());
  await ok.close();
  await c2.exit();
});
