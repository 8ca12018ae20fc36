// Diagnostic events (docs/diagnostics.md): what a Ctx logger and diagnostics_channel
// subscribers see for a session's life, refusals, a malformed frame, TLS, SASL and faults; a
// logger that throws; no secret in any event.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import dc from 'node:diagnostics_channel';
import {
  Ctx,
  Connection,
  registerProfile,
  createListener,
  consoleLogger,
  formatEvent,
  eventRecord,
  diagnosticsAvailable,
  EVENT_TYPES,
  tls,
  sasl,
  type BeepEvent,
  type Listener,
} from '../src/index.js';
import * as certs from '../src/tls/certs.js';
import { wants } from '../src/api/diagnostics.js';
import { RawPeer, greetingPayload } from './session/raw.js';

const ECHO = 'http://beepwire.test/echo';
const REFUSING = 'http://beepwire.test/refusing';
const SECRET = 'S3cr3t-pass-4711';
const WRONG = 'Wr0ng-pass-0815';

/** A context whose logger records every event. */
function recording(): { ctx: Ctx; events: BeepEvent[] } {
  const events: BeepEvent[] = [];
  const ctx = new Ctx({ logger: (e) => events.push(e) });
  return { ctx, events };
}

const types = (events: BeepEvent[]): string[] => events.map((e) => e.type);
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Waits until `pred` holds (bounded). */
async function until(pred: () => boolean, what: string, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
}

let server: { ctx: Ctx; events: BeepEvent[] };
let listener: Listener;
let ca: certs.CertPair, leaf: certs.CertPair, other: certs.CertPair;

before(async () => {
  ca = certs.generateCa({ commonName: 'diag CA' });
  other = certs.generateCa({ commonName: 'untrusted CA' });
  leaf = certs.generateLeaf(ca, { commonName: 'localhost', dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'] });
  server = recording();
  registerProfile(server.ctx, ECHO, {
    frameReceived: (_c, ch, f) => {
      if (f.text === 'throw') throw new Error('handler bug');
      if (f.type === 'MSG') ch.sendRpy(f.payload, f.payloadSize, f.msgNo);
    },
  });
  registerProfile(server.ctx, REFUSING, { start: () => ({ code: 550, text: 'not today' }) });
  tls.acceptTls(server.ctx, { certHandler: () => leaf.cert, keyHandler: () => leaf.key });
  sasl.acceptMech(server.ctx, 'PLAIN', (_c, p) => p.authId === 'bob' && p.password === SECRET, { allowPlainInClear: true });
  sasl.acceptMech(server.ctx, 'SCRAM-SHA-256', (_c, p) => (p.authId === 'bob' ? SECRET : null));
  listener = await createListener(server.ctx, '127.0.0.1', 0);
  assert.ok(listener.isOk(), listener.errorMsg);
});

after(async () => {
  await server.ctx.exit();
});

/** The listener's events of the session from our local `port`. */
function serverEventsOf(port: number | undefined): BeepEvent[] {
  const mine = server.events.find((e) => e.type === 'connection:open' && e.conn.port === port);
  assert.ok(mine !== undefined && 'conn' in mine, 'the listener reported the connection');
  return server.events.filter((e) => 'conn' in e && e.conn === mine.conn);
}

test('a session from open to close: connection and channel events on both sides, in order', async () => {
  const client = recording();
  const conn = await Connection.connect(client.ctx, '127.0.0.1', listener.port);
  assert.ok(conn.isOk());
  const port = conn.localPort;
  const ch = (await conn.openChannel(0, ECHO))!;
  assert.equal((await ch.request('hi')).text, 'hi');
  assert.ok(await ch.close());
  assert.ok(await conn.close());
  await until(() => conn.closed, 'the transport to close after the release');
  assert.deepEqual(types(client.events), ['connection:open', 'connection:ready', 'channel:start', 'channel:close', 'connection:close']);
  const [open, ready, start, , close] = client.events;
  assert.ok(open?.type === 'connection:open' && open.role === 'initiator' && open.port === listener.port && open.conn === conn);
  assert.ok(ready?.type === 'connection:ready' && ready.profiles.includes(ECHO) && !ready.reset);
  assert.ok(start?.type === 'channel:start' && start.number === 1 && start.profile === ECHO && start.by === 'local');
  assert.ok(close?.type === 'connection:close' && close.error === undefined, 'an orderly release carries no error');
  await until(() => serverEventsOf(port).some((e) => e.type === 'connection:close'), 'the listener side to close');
  const theirs = serverEventsOf(port);
  assert.deepEqual(types(theirs), ['connection:open', 'connection:ready', 'channel:start', 'channel:close', 'connection:close']);
  const s = theirs[2]!;
  assert.ok(s.type === 'channel:start' && s.by === 'peer' && s.number === 1);
  assert.equal(theirs[0]!.type === 'connection:open' && theirs[0]!.role, 'listener');
});

test('refused channels: 550 from the start handler and 501 for the wrong parity, seen by both sides', async () => {
  const client = recording();
  const conn = await Connection.connect(client.ctx, '127.0.0.1', listener.port);
  const port = conn.localPort;
  assert.equal(await conn.openChannel(0, REFUSING), null);
  assert.equal(await conn.openChannel(2, ECHO), null, 'an initiator may not use an even number');
  const refused = client.events.filter((e) => e.type === 'channel:refused');
  assert.deepEqual(
    refused.map((e) => e.type === 'channel:refused' && [e.number, e.request, e.code, e.by, e.profiles.join()]),
    [
      [1, 'start', 550, 'peer', REFUSING],
      [2, 'start', 501, 'peer', ECHO],
    ],
  );
  assert.ok(refused[0]?.type === 'channel:refused' && refused[0].text === 'not today');
  const theirs = serverEventsOf(port).filter((e) => e.type === 'channel:refused');
  assert.deepEqual(
    theirs.map((e) => e.type === 'channel:refused' && [e.number, e.request, e.code, e.by, e.profiles.join()]),
    [
      [1, 'start', 550, 'local', REFUSING],
      [2, 'start', 501, 'local', ECHO],
    ],
  );
  assert.ok(await conn.close());
});

test('a malformed frame from a raw socket: session:error BEEP_ERR_FRAMING (500), then connection:close with it', async () => {
  const p = await RawPeer.connect(listener.port);
  const port = p.socket.localPort;
  await p.waitFor('</greeting>');
  await p.send(p.frame('RPY', 0, 0, greetingPayload()));
  await p.send('MSG 0 one . 0 5\r\nhelloEND\r\n'); // a msgno that is not a number
  assert.ok(await p.closedWithin(2000));
  await until(() => server.events.some((e) => e.type === 'connection:close' && e.conn.port === port), 'the session to end');
  const mine = server.events.filter((e) => 'conn' in e && e.conn?.port === port);
  assert.deepEqual(types(mine), ['connection:open', 'connection:ready', 'session:error', 'connection:close']);
  const err = mine[2]!;
  assert.ok(err.type === 'session:error');
  assert.equal(err.code, 'BEEP_ERR_FRAMING');
  assert.equal(err.replyCode, 500);
  assert.equal(err.error.name, 'BeepFramingError');
  const close = mine[3]!;
  assert.ok(close.type === 'connection:close' && close.error === err.error);
});

test('TLS: tls:ok on both sides with the verification result; an untrusted certificate gives tls:fail', async () => {
  const client = recording();
  const conn = await Connection.connect(client.ctx, '127.0.0.1', listener.port);
  const port = conn.localPort;
  assert.ok(await tls.startTls(conn, { ca: ca.cert }), String(conn.popChannelError()));
  const ok = client.events.find((e) => e.type === 'tls:ok');
  assert.ok(ok?.type === 'tls:ok' && ok.role === 'initiator' && ok.verified === true);
  assert.ok(
    client.events.some((e) => e.type === 'connection:ready' && e.reset),
    'the greeting after the tuning reset is reported as such',
  );
  await until(() => serverEventsOf(port).some((e) => e.type === 'tls:ok'), 'the listener tls:ok');
  const theirs = serverEventsOf(port).find((e) => e.type === 'tls:ok');
  assert.ok(theirs?.type === 'tls:ok' && theirs.role === 'listener');
  assert.equal(theirs.verified, false, 'no client certificate was asked for');
  assert.equal(theirs.verifyError, 'the peer sent no certificate');
  assert.ok(await conn.close());

  const bad = recording();
  const c2 = await Connection.connect(bad.ctx, '127.0.0.1', listener.port);
  const port2 = c2.localPort;
  assert.equal(await tls.startTls(c2, { ca: other.cert }), false);
  const fail = bad.events.find((e) => e.type === 'tls:fail');
  assert.ok(fail?.type === 'tls:fail' && fail.role === 'initiator', JSON.stringify(types(bad.events)));
  assert.equal(fail.code, 421);
  assert.match(fail.text, /certificate|verify|issuer/i);
  // The handshake's failure closes the transport, so connection:close (with the TLS error) may come first.
  assert.deepEqual(types(bad.events).sort(), [
    'channel:close',
    'channel:start',
    'connection:close',
    'connection:open',
    'connection:ready',
    'tls:fail',
  ]);
  await until(() => serverEventsOf(port2).some((e) => e.type === 'connection:close'), 'the listener side to end');
  const failed = serverEventsOf(port2).find((e) => e.type === 'tls:fail');
  assert.ok(failed?.type === 'tls:fail' && failed.role === 'listener', JSON.stringify(types(serverEventsOf(port2))));
});

test('SASL: sasl:ok and sasl:fail on both sides name mechanism and identity; no event carries a secret', async () => {
  const client = recording();
  const from = server.events.length;
  const conn = await Connection.connect(client.ctx, '127.0.0.1', listener.port);
  assert.equal(await sasl.startAuth(conn, 'PLAIN', { authId: 'bob', password: WRONG }), false);
  assert.equal(await sasl.startAuth(conn, 'SCRAM-SHA-256', { authId: 'bob', password: WRONG }), false);
  assert.ok(await sasl.startAuth(conn, 'SCRAM-SHA-256', { authId: 'bob', password: SECRET }), String(conn.popChannelError()));
  const c2 = await Connection.connect(client.ctx, '127.0.0.1', listener.port);
  assert.ok(await sasl.startAuth(c2, 'PLAIN', { authId: 'bob', password: SECRET }));
  const mine = client.events.filter((e) => e.type === 'sasl:ok' || e.type === 'sasl:fail');
  assert.deepEqual(
    mine.map((e) => (e.type === 'sasl:ok' || e.type === 'sasl:fail') && [e.type, e.role, e.mechanism, e.authId]),
    [
      ['sasl:fail', 'initiator', 'PLAIN', 'bob'],
      ['sasl:fail', 'initiator', 'SCRAM-SHA-256', 'bob'],
      ['sasl:ok', 'initiator', 'SCRAM-SHA-256', 'bob'],
      ['sasl:ok', 'initiator', 'PLAIN', 'bob'],
    ],
  );
  assert.ok(mine[0]?.type === 'sasl:fail' && mine[0].code === 535);
  await until(() => server.events.slice(from).filter((e) => e.type === 'sasl:ok').length === 2, 'the listener sasl:ok events');
  const theirs = server.events.slice(from).filter((e) => e.type === 'sasl:ok' || e.type === 'sasl:fail');
  assert.deepEqual(
    theirs.map((e) => (e.type === 'sasl:ok' || e.type === 'sasl:fail') && [e.type, e.role, e.mechanism, e.authId]),
    [
      ['sasl:fail', 'listener', 'PLAIN', 'bob'],
      ['sasl:fail', 'listener', 'SCRAM-SHA-256', 'bob'],
      ['sasl:ok', 'listener', 'SCRAM-SHA-256', 'bob'],
      ['sasl:ok', 'listener', 'PLAIN', 'bob'],
    ],
  );
  // No secret in any event, as data or as a log line, in clear or base64 (PLAIN sends authzid\0authcid\0passwd).
  const b64 = (s: string): string => btoa(s);
  const forbidden = [SECRET, WRONG, b64(SECRET), b64(WRONG), b64(`\0bob\0${SECRET}`), b64(`\0bob\0${WRONG}`)];
  for (const e of [...client.events, ...server.events]) {
    const text = `${JSON.stringify(eventRecord(e))}\n${formatEvent(e)}`;
    for (const f of forbidden) assert.ok(!text.includes(f), `${e.type} carries a secret: ${text}`);
    for (const [k, v] of Object.entries(e)) {
      if (typeof v === 'string') for (const f of forbidden) assert.ok(!v.includes(f), `${e.type}.${k} carries a secret`);
    }
  }
  await conn.close();
  await c2.close();
});

test('a logger that throws (or rejects) breaks nothing and is not called about itself', async () => {
  let calls = 0;
  const ctx = new Ctx({
    logger: () => {
      calls++;
      throw new Error('logger bug');
    },
  });
  const rejections: unknown[] = [];
  const onRejection = (e: unknown): void => {
    rejections.push(e);
  };
  process.on('unhandledRejection', onRejection);
  try {
    const conn = await Connection.connect(ctx, '127.0.0.1', listener.port);
    const ch = (await conn.openChannel(0, ECHO))!;
    assert.equal((await ch.request('x')).text, 'x');
    assert.ok(await conn.close());
    await until(() => conn.closed, 'the transport to close after the release');
    assert.equal(calls, 5, 'open, ready, start, close of the channel, close: once each');
    ctx.setLogger(async () => {
      throw new Error('async logger bug');
    });
    const c2 = await Connection.connect(ctx, '127.0.0.1', listener.port);
    assert.ok(await c2.close());
    await sleep(50);
    assert.deepEqual(rejections, []);
  } finally {
    process.off('unhandledRejection', onRejection);
  }
});

test('handler:error carries the fault; the listener logger gets it once', async () => {
  const from = server.events.length;
  const conn = await Connection.connect(new Ctx(), '127.0.0.1', listener.port);
  const ch = (await conn.openChannel(0, ECHO))!;
  const r = await ch.request('throw');
  assert.equal(r.type, 'ERR');
  const faults = server.events.slice(from).filter((e) => e.type === 'handler:error');
  assert.equal(faults.length, 1);
  const f = faults[0]!;
  assert.ok(f.type === 'handler:error' && f.error.code === 'BEEP_ERR_HANDLER' && f.channel?.number === ch.number);
  assert.match(
    formatEvent(f),
    /^beepwire handler:error conn=\d+ channel=1 error=BeepError\[BEEP_ERR_HANDLER\]: "handler failed: handler bug"$/,
  );
  assert.ok(await conn.close());
});

test('listener:refused for a connection over maxConnections', async () => {
  const l = recording();
  const full = await createListener(l.ctx, '127.0.0.1', 0, { maxConnections: 0 });
  const conn = await Connection.connect(new Ctx(), '127.0.0.1', full.port);
  assert.equal(conn.isOk(), false);
  await until(() => l.events.length > 0, 'the refusal');
  const e = l.events[0]!;
  assert.ok(e.type === 'listener:refused' && e.code === 421 && e.listener === full && e.remote?.host === '127.0.0.1');
  assert.deepEqual(types(l.events), ['listener:refused'], 'no session was made');
  await l.ctx.exit();
});

test('diagnostics_channel: every event type on beepwire:<type>, nothing built while nobody listens', async (t) => {
  if (!diagnosticsAvailable) return t.skip('this runtime has no process.getBuiltinModule');
  const ctx = new Ctx(); // no logger
  assert.equal(wants(ctx, 'connection:open'), false, 'no receiver: the event is not built');
  const seen: Array<[string, BeepEvent]> = [];
  const subs = EVENT_TYPES.map((type) => {
    const name = `beepwire:${type}`;
    const f = (m: unknown): void => {
      seen.push([name, m as BeepEvent]);
    };
    dc.subscribe(name, f);
    return [name, f] as const;
  });
  try {
    assert.equal(wants(ctx, 'connection:open'), true);
    const conn = await Connection.connect(ctx, '127.0.0.1', listener.port);
    const ch = (await conn.openChannel(0, ECHO))!;
    await ch.close();
    await conn.close();
    await until(() => conn.closed, 'the transport to close after the release');
    const ours = seen.filter(([, e]) => e.ctx === ctx);
    assert.deepEqual(
      ours.map(([n]) => n),
      [
        'beepwire:connection:open',
        'beepwire:connection:ready',
        'beepwire:channel:start',
        'beepwire:channel:close',
        'beepwire:connection:close',
      ],
    );
    for (const [n, e] of ours) assert.equal(`beepwire:${e.type}`, n);
    await until(() => seen.some(([n, e]) => n === 'beepwire:connection:close' && e.ctx === server.ctx), 'the listener side');
  } finally {
    for (const [n, f] of subs) dc.unsubscribe(n, f);
  }
  assert.equal(wants(ctx, 'connection:open'), false);
});

test('consoleLogger prints one line per event, coloured on request, filtered by type', () => {
  const lines: string[] = [];
  const ctx = new Ctx();
  const ev: BeepEvent = {
    type: 'channel:refused',
    ctx,
    conn: { id: 7 } as Connection,
    number: 3,
    request: 'start',
    code: 550,
    text: 'not today',
    by: 'peer',
    profiles: ['a', 'b'],
  };
  consoleLogger({ write: (l) => lines.push(l), time: false })(ev);
  consoleLogger({ write: (l) => lines.push(l), time: false, color: true })(ev);
  consoleLogger({ write: (l) => lines.push(l), types: ['connection:open'] })(ev);
  consoleLogger({ write: (l) => lines.push(l) })(ev);
  assert.equal(lines.length, 3);
  assert.equal(lines[0], 'beepwire channel:refused conn=7 number=3 request=start code=550 text="not today" by=peer profiles=a,b');
  assert.equal(lines[1], `\x1b[33m${lines[0]}\x1b[0m`);
  assert.match(lines[2]!, /^\d\d:\d\d:\d\d\.\d{3} beepwire channel:refused conn=7 /);
});
