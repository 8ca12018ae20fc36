// Issue 9, TLS: a session aborted while <ready/> is being answered, bounded tuning channels,
// handshake timers on both sides (fired on a stall, cleared on success), escaped errors.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { Ctx, createListener, Connection, tls, type Listener, type BeepError } from '../../src/index.js';
import * as certs from '../../src/tls/certs.js';
import { greetingPayload } from '../session/raw.js';
import { MIME, greeted, startRaw, frameWhere, watchFaults, settle } from '../sasl/hostile.js';

let ca: certs.CertPair, leaf: certs.CertPair;
let ctx: Ctx;
let listener: Listener;
const accepted: Connection[] = [];
let watch: ReturnType<typeof watchFaults>;

before(async () => {
  watch = watchFaults();
  ca = certs.generateCa();
  leaf = certs.generateLeaf(ca, { commonName: 'localhost', dnsNames: ['localhost'] });
  ctx = new Ctx();
  // An asynchronous certificate lookup: the session can die while it runs.
  tls.acceptTls(ctx, {
    certHandler: async () => {
      await settle(1);
      return leaf.cert;
    },
    keyHandler: () => leaf.key,
    tlsHandshakeTimeout: 300,
  });
  listener = await createListener(ctx, '127.0.0.1', 0, { onAccept: (c) => accepted.push(c) });
});

after(async () => {
  await ctx.exit();
  watch.stop();
  assert.deepEqual(watch.faults, [], 'nothing escaped as an uncaught exception or unhandled rejection');
});

test('MSG <ready/> and a malformed frame in one write: the session ends, nothing escapes', async () => {
  const p = await greeted(listener.port);
  const r = await startRaw(p, 1, tls.TLS_URI);
  assert.equal(r.kw, 'RPY');
  await p.send(`${p.frame('MSG', 1, 0, `${MIME}<ready />`)}GARBAGE 1 2 3\r\n`);
  assert.ok(await p.closedWithin(3000));
  await settle(); // the certificate lookup finishes after the session is gone
  assert.deepEqual(watch.faults, []);
  assert.equal((accepted.at(-1)!.error as BeepError | undefined)?.code, 'BEEP_ERR_FRAMING');
});

test('a TLS channel message above the tuning limit ends the session before it is buffered', async () => {
  const p = await greeted(listener.port);
  await startRaw(p, 1, tls.TLS_URI);
  const conn = accepted.at(-1)!;
  await frameWhere(p, (f) => f.kw === 'SEQ' && f.ch === 1); // a window that admits the frame
  await p.send(p.frame('MSG', 1, 0, `${MIME}<ready>${'x'.repeat(3000)}</ready>`.padEnd(5000, ' ')));
  assert.ok(await p.closedWithin(3000));
  assert.equal((conn.error as BeepError | undefined)?.code, 'BEEP_ERR_MESSAGE_TOO_LARGE');
});

test('listener: a peer that stalls the handshake after <proceed/> is dropped with BEEP_ERR_TIMEOUT', async () => {
  const p = await greeted(listener.port);
  const r = await startRaw(p, 1, tls.TLS_URI, '<ready />');
  assert.match(r.payload, /<proceed \/>/);
  const conn = accepted.at(-1)!;
  // ... and never sends a ClientHello.
  assert.ok(await p.closedWithin(3000), 'dropped after tlsHandshakeTimeout (300 ms here)');
  assert.equal((conn.error as BeepError | undefined)?.code, 'BEEP_ERR_TIMEOUT');
});

test('listener: the released socket survives a reset during the handshake wait', async () => {
  const p = await greeted(listener.port);
  await startRaw(p, 1, tls.TLS_URI, '<ready />');
  p.socket.resetAndDestroy();
  await settle();
  assert.deepEqual(watch.faults, []);
});

/** A fake listener that answers the TLS start with <proceed/> and then says nothing. */
async function stallingListener(): Promise<{ port: number; close(): void }> {
  const socks = new Set<import('node:net').Socket>();
  const server = createServer((s) => {
    socks.add(s);
    s.on('error', () => undefined);
    const g = greetingPayload([tls.TLS_URI]);
    s.write(`RPY 0 0 . 0 ${g.length}\r\n${g}END\r\n`);
    let seen = '';
    s.on('data', (d) => {
      seen += d.toString('latin1');
      if (seen.includes('</start>') && !seen.includes('#done')) {
        seen += '#done';
        const r = `${MIME}<profile uri='${tls.TLS_URI}'><![CDATA[<proceed />]]></profile>`;
        s.write(`RPY 0 1 . ${g.length} ${r.length}\r\n${r}END\r\n`);
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as { port: number }).port,
    close: () => {
      for (const s of socks) s.destroy();
      server.close();
    },
  };
}

test('initiator: tlsHandshakeTimeout drops a listener that stalls after <proceed/>', async () => {
  const fake = await stallingListener();
  const conn = await Connection.connect(new Ctx(), '127.0.0.1', fake.port);
  assert.ok(conn.isOk());
  assert.equal(await tls.startTls(conn, { serverName: 'localhost', tlsHandshakeTimeout: 300 }), false);
  assert.match(conn.popChannelError()![1], /timed out/);
  assert.equal(conn.isOk(), false);
  assert.equal((conn.error as BeepError | undefined)?.code, 'BEEP_ERR_TIMEOUT', 'the session ended with the timeout');
  fake.close();
});

test('initiator: the context option tlsHandshakeTimeout is the fallback', async () => {
  const fake = await stallingListener();
  const c = new Ctx({ tlsHandshakeTimeout: 300 } as ConstructorParameters<typeof Ctx>[0]);
  const conn = await Connection.connect(c, '127.0.0.1', fake.port);
  assert.equal(await tls.startTls(conn, { serverName: 'localhost' }), false);
  assert.match(conn.popChannelError()![1], /timed out/);
  fake.close();
});

test('initiator: no timer of startTls outlives a successful upgrade', async () => {
  const timers = new Map<unknown, number>();
  const realSet = globalThis.setTimeout,
    realClear = globalThis.clearTimeout;
  // Distinct delays mark startTls's own timers among everything else the process runs.
  globalThis.setTimeout = ((fn: () => void, ms?: number, ...args: unknown[]) => {
    const t = (realSet as (f: () => void, ms?: number, ...a: unknown[]) => ReturnType<typeof setTimeout>)(fn, ms, ...args);
    if (ms === 7771 || ms === 7772) timers.set(t, ms);
    return t;
  }) as typeof setTimeout;
  globalThis.clearTimeout = ((t: Parameters<typeof clearTimeout>[0]) => {
    timers.delete(t);
    realClear(t);
  }) as typeof clearTimeout;
  try {
    const conn = await Connection.connect(new Ctx(), '127.0.0.1', listener.port);
    assert.ok(
      await tls.startTls(conn, { serverName: 'localhost', ca: ca.cert, tlsHandshakeTimeout: 7771, timeout: 7772 }),
      String(conn.popChannelError()),
    );
    assert.equal(timers.size, 0, `timers left running: ${[...timers.values()]}`);
    assert.ok(await conn.close());
  } finally {
    globalThis.setTimeout = realSet;
    globalThis.clearTimeout = realClear;
  }
});
