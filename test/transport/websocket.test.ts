// BEEP over WebSocket on 127.0.0.1: the ws:// client (ws on Node, and the WHATWG adapter driven
// by ws's WHATWG-shaped class), the listener, the TLS profile and SASL inside a ws:// session,
// a wss:// listener, and the wire rules (one BEEP frame per WebSocket message sent; any split
// received, TEXT frames as octets; ping/pong/close never reach the session).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { WebSocket as WsClient } from 'ws';
import {
  Ctx,
  registerProfile,
  createListener,
  Connection,
  tls,
  sasl,
  websocketTransport,
  webSocketUrl,
  WebSocketTransport,
  type Listener,
  type WebSocketConstructor,
} from '../../src/index.js';
import * as certs from '../../src/tls/certs.js';
import { runtimeName } from '../../src/transport/select.js';
import { testNeeding, lacks } from '../runtime-limits.js';
import { trusting } from './ws-peer.js';

const ECHO = 'http://beepwire.test/echo';
let ca: certs.CertPair, leaf: certs.CertPair;
let ctx: Ctx;
let listener: Listener;
let wssListener: Listener;

before(async () => {
  if (lacks('ws-listener')) return;
  ca = certs.generateCa({ commonName: 'beepwire ws test CA' });
  leaf = certs.generateLeaf(ca, { commonName: 'localhost', dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'] });
  ctx = new Ctx();
  registerProfile(ctx, ECHO, {
    start: () => ({ maxMessage: 16 << 20 }),
    frameReceived: (c, ch, f) => {
      if (f.type !== 'MSG') return;
      const who = sasl.authId(c);
      if (f.payload.length > 64) ch.sendRpy(f.payload, undefined, f.msgNo);
      else ch.sendRpy(`${tls.isEnabled(c) ? 'tls' : 'clear'}:${who ?? '-'}:${f.text}`, undefined, f.msgNo);
    },
  });
  tls.acceptTls(ctx, { certHandler: () => leaf.cert, keyHandler: () => leaf.key });
  sasl.acceptMech(ctx, 'SCRAM-SHA-256', (_c, p) => (p.authId === 'bob' ? 'secret' : null));
  sasl.acceptMech(ctx, 'PLAIN', (_c, p) => p.authId === 'bob' && p.password === 'secret');
  listener = await createListener(ctx, '127.0.0.1', 0, { websocket: true });
  assert.ok(listener.isOk(), listener.errorMsg);
  wssListener = await createListener(ctx, '127.0.0.1', 0, { websocket: { tls: { cert: leaf.cert, key: leaf.key } } });
  assert.ok(wssListener.isOk(), wssListener.errorMsg);
});

after(async () => {
  await ctx?.exit();
});

const url = (path = '/beep'): string => `ws://127.0.0.1:${listener.port}${path}`;

test('webSocketUrl: ws:// and wss:// URLs, default ports, IPv6 literals; host names pass through', () => {
  assert.deepEqual(webSocketUrl('ws://127.0.0.1:8080/beep?x=1'), { host: '127.0.0.1', port: 8080, path: '/beep?x=1', secure: false });
  assert.deepEqual(webSocketUrl('wss://example.org'), { host: 'example.org', port: 443, path: '/', secure: true });
  assert.deepEqual(webSocketUrl('WS://[::1]/'), { host: '::1', port: 80, path: '/', secure: false });
  assert.equal(webSocketUrl('127.0.0.1'), undefined);
  assert.throws(() => webSocketUrl(new URL('http://x/')), TypeError);
});

testNeeding('ws-listener', 'ws://: greetings, an echo and an orderly release; the URL form of Connection.connect', async () => {
  const conn = await Connection.connect(new Ctx(), url());
  assert.ok(conn.isOk(), JSON.stringify(conn.popChannelError()));
  assert.equal(conn.transport.kind, 'websocket');
  assert.equal(conn.host, '127.0.0.1');
  assert.equal(conn.port, listener.port);
  assert.ok(conn.remoteProfiles.includes(ECHO));
  const ch = (await conn.openChannel(0, ECHO))!;
  assert.equal((await ch.request('over websocket')).text, 'clear:-:over websocket');
  assert.equal(await conn.close(), true);
});

testNeeding('ws-listener', 'ws://: an 8 MiB message both ways, intact', async () => {
  const conn = await Connection.connect(new Ctx({ maxMessage: 16 << 20 }), url(), { connectTimeout: 5000 });
  const ch = (await conn.openChannel(0, ECHO, { maxMessage: 16 << 20 }))!;
  const big = new Uint8Array(8 << 20);
  for (let i = 0; i < big.length; i++) big[i] = (i * 31 + (i >>> 11)) & 0xff;
  const reply = await ch.request(big, { timeout: 60_000 });
  assert.equal(reply.payload.length, big.length);
  assert.ok(Buffer.compare(Buffer.from(reply.payload), Buffer.from(big)) === 0, 'octets in order');
  assert.ok(await conn.close());
});

testNeeding('ws-listener', 'ws://: a port passed with a URL must agree with it; a URL excludes `transport`', async () => {
  await assert.rejects(Connection.connect(new Ctx(), url(), listener.port + 1), RangeError);
  await assert.rejects(Connection.connect(new Ctx(), url(), { transport: websocketTransport() }), TypeError);
  const conn = await Connection.connect(new Ctx(), url(), listener.port);
  assert.ok(conn.isOk());
  await conn.close();
});

testNeeding('ws-listener', 'ws://: the factory as the context transport, host and port as usual', async () => {
  const c = new Ctx({ transport: websocketTransport({ path: '/any/path' }) });
  const conn = await Connection.connect(c, '127.0.0.1', listener.port);
  assert.ok(conn.isOk());
  const ch = (await conn.openChannel(0, ECHO))!;
  assert.equal((await ch.request('ctx')).text, 'clear:-:ctx');
  await conn.close();
});

testNeeding(
  lacks('ws-listener') ? 'ws-listener' : 'ws-client-tls-in-place',
  'ws://: the TLS profile inside the WebSocket session (node:tls over the messages), then data and SASL PLAIN',
  async () => {
    const conn = await Connection.connect(new Ctx(), url());
    assert.ok(conn.isOk());
    const before1 = (await conn.openChannel(0, ECHO))!;
    assert.equal((await before1.request('a')).text, 'clear:-:a');
    assert.ok(await tls.startTls(conn, { serverName: 'localhost', ca: ca.cert }), JSON.stringify(conn.popChannelError()));
    assert.ok(tls.isEnabled(conn));
    assert.equal(tls.peerCertificateDigest(conn), certs.fingerprint256(leaf.cert));
    assert.ok(await sasl.startAuth(conn, 'PLAIN', { authId: 'bob', password: 'secret' }), JSON.stringify(conn.popChannelError()));
    const ch = (await conn.openChannel(0, ECHO))!;
    assert.equal((await ch.request('b')).text, 'tls:bob:b');
    const big = new Uint8Array(3 << 20).fill(7);
    const r = await ch.request(big, { timeout: 30_000 });
    assert.equal(r.payload.length, big.length);
    assert.ok(r.payload.every((b) => b === 7));
    assert.ok(await conn.close());
  },
);

testNeeding('ws-listener', 'ws://: SASL SCRAM-SHA-256 in clear over WebSocket', async () => {
  const conn = await Connection.connect(new Ctx(), url());
  assert.ok(await sasl.startAuth(conn, 'SCRAM-SHA-256', { authId: 'bob', password: 'secret' }), JSON.stringify(conn.popChannelError()));
  const ch = (await conn.openChannel(0, ECHO))!;
  assert.equal((await ch.request('c')).text, 'clear:bob:c');
  const bad = await Connection.connect(new Ctx(), url());
  assert.equal(await sasl.startAuth(bad, 'SCRAM-SHA-256', { authId: 'bob', password: 'wrong' }), false);
  assert.equal(bad.popChannelError()?.[0], 535);
  await conn.close();
  await bad.close();
});

testNeeding(
  'ws-listener',
  'wss://: the listener speaks TLS (ws verifies the certificate against the CA given; untrusted: not OK)',
  async () => {
    const conn = await Connection.connect(new Ctx(), `wss://127.0.0.1:${wssListener.port}/`, { websocket: trusting(ca.cert) });
    assert.ok(conn.isOk(), JSON.stringify(conn.popChannelError()));
    const ch = (await conn.openChannel(0, ECHO))!;
    assert.equal((await ch.request('w')).text, 'clear:-:w');
    await conn.close();
    const untrusted = await Connection.connect(new Ctx(), `wss://127.0.0.1:${wssListener.port}/`);
    assert.equal(untrusted.isOk(), false);
    // The WHATWG WebSocket (the client on Bun and Deno) says no more than a close code (0 or 1006).
    if (runtimeName() === 'node') assert.match(untrusted.popChannelError()?.[1] ?? '', /certificate/i);
  },
);

testNeeding(
  'ws-listener',
  "WHATWG adapter (ws's WHATWG-shaped class as the constructor): echo, 3 MiB under bufferedAmount backpressure, no in-place TLS",
  async () => {
    const WHATWG = WsClient as unknown as WebSocketConstructor;
    const conn = await Connection.connect(new Ctx(), url(), { websocket: { WebSocket: WHATWG } });
    assert.ok(conn.isOk(), JSON.stringify(conn.popChannelError()));
    assert.equal(conn.transport.upgradeTls, undefined);
    const ch = (await conn.openChannel(0, ECHO))!;
    assert.equal((await ch.request('whatwg')).text, 'clear:-:whatwg');
    const big = new Uint8Array(3 << 20);
    for (let i = 0; i < big.length; i++) big[i] = i & 0xff;
    const r = await ch.request(big, { timeout: 30_000 });
    assert.ok(Buffer.compare(Buffer.from(r.payload), Buffer.from(big)) === 0);
    assert.equal(await tls.startTls(conn, { serverName: 'localhost', ca: ca.cert }), false);
    assert.match(conn.popChannelError()?.[1] ?? '', /cannot start TLS in place/);
  },
);

testNeeding('ws-listener', 'a plain HTTP request to the WebSocket listener is answered 426 and the listener goes on', async () => {
  const res = await fetch(`http://127.0.0.1:${listener.port}/`);
  assert.equal(res.status, 426);
  await res.text();
  const conn = await Connection.connect(new Ctx(), url());
  assert.ok(conn.isOk());
  await conn.close();
});

testNeeding(
  'ws-listener',
  'ws://: block() stops delivery (ws pauses the socket) and unblocking delivers what waited, in order',
  async () => {
    const conn = await Connection.connect(new Ctx(), url());
    const ch = (await conn.openChannel(0, ECHO))!;
    conn.block(true);
    const got: string[] = [];
    const replies = Promise.all(
      ['one', 'two', 'three'].map(async (w) => {
        const r = await ch.request(w);
        got.push(r.text);
      }),
    );
    await new Promise((r) => setTimeout(r, 200));
    assert.deepEqual(got, [], 'nothing delivered while blocked');
    conn.block(false);
    await replies;
    assert.deepEqual(got, ['clear:-:one', 'clear:-:two', 'clear:-:three']);
    await conn.close();
  },
);

testNeeding(
  'ws-listener',
  'WHATWG adapter: it cannot stop reading, so input held past maxPausedInput fails the transport (BEEP_ERR_BUDGET, 550)',
  async () => {
    const conn = await Connection.connect(new Ctx(), url(), { websocket: { WebSocket: WsClient as unknown as WebSocketConstructor } });
    assert.ok(conn.transport instanceof WebSocketTransport);
    conn.transport.maxPausedInput = 10_000;
    const ch = (await conn.openChannel(0, ECHO))!;
    // The listener grants its 256 KiB window (SEQ) after the start: a round trip first, so that
    // grant is read before reading is blocked (else only 4096 octets of the MSG go out, no reply comes).
    assert.equal((await ch.request('x')).text, 'clear:-:x');
    conn.block(true);
    const r = ch.request(new Uint8Array(20_000).fill(1), { timeout: 5000 }).then(
      () => 'reply',
      () => 'failed',
    );
    assert.equal(await r, 'failed');
    assert.equal(conn.isOk(), false);
    const errs = [conn.popChannelError(), conn.popChannelError()].filter((e) => e !== null);
    assert.ok(
      errs.some((e) => e![0] === 550 && /while reading was paused/.test(e![1])),
      JSON.stringify(errs),
    );
  },
);

testNeeding(
  'ws-listener',
  'WHATWG adapter: a listener that stops reading fills bufferedAmount; the session waits (full) and resumes once it drains, octets intact',
  async () => {
    const big = { window: 8 << 20, maxWindow: 8 << 20, maxFrame: 8 << 20, maxMessage: 16 << 20 };
    const slow = new Ctx(big);
    registerProfile(slow, ECHO, {
      // The channel starts, its window is granted, then the listener stops reading for 500 ms.
      start: ({ conn: c }) => {
        setTimeout(() => {
          c.block(true);
          setTimeout(() => c.block(false), 500);
        }, 0);
        return { maxMessage: 16 << 20 };
      },
      frameReceived: (_c, ch, f) => {
        if (f.type === 'MSG') ch.sendRpy(String(f.payload.length), undefined, f.msgNo);
      },
    });
    const l = await createListener(slow, '127.0.0.1', 0, { websocket: true });
    try {
      const conn = await Connection.connect(new Ctx(big), `ws://127.0.0.1:${l.port}/`, {
        websocket: { WebSocket: WsClient as unknown as WebSocketConstructor },
      });
      assert.ok(conn.isOk(), JSON.stringify(conn.popChannelError()));
      const ch = (await conn.openChannel(0, ECHO, { maxMessage: 16 << 20 }))!;
      let sawFull = false;
      const probe = setInterval(() => {
        sawFull ||= conn.transport.full;
      }, 1);
      const payload = new Uint8Array(12 << 20).fill(3);
      const r = await ch.request(payload, { timeout: 30_000 });
      clearInterval(probe);
      assert.equal(r.text, String(payload.length));
      assert.ok(sawFull, 'write() asked the session to wait while bufferedAmount was over the mark');
      assert.equal(conn.transport.full, false, 'and let it go on once drained');
      await conn.close();
    } finally {
      await slow.exit();
    }
  },
);
