// Issue 9, SASL: hostile client input and faulty password lookups never escape the session;
// every failure is an escaped <error> reply with an RFC 3080 §8 code; bounded blobs; a start
// without an initial response gets an empty challenge; failed attempts are throttled.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Ctx, createListener, Connection, sasl, type Listener, type BeepError } from '../../src/index.js';
import { parseMgmt } from '../../src/session/mgmt.js';
import { MIME, greeted, startRaw, ask, stillUp, watchFaults, frameWhere, settle, b64 } from './hostile.js';

const MECHS = ['ANONYMOUS', 'PLAIN', 'CRAM-MD5', 'DIGEST-MD5', 'EXTERNAL', 'SCRAM-SHA-256', 'OTP'];
const uri = (m: string): string => `http://iana.org/beep/SASL/${m}`;

let ctx: Ctx;
let listener: Listener;
const accepted: Connection[] = [];
const reported: Array<{ err: BeepError; conn?: Connection | undefined }> = [];
let watch: ReturnType<typeof watchFaults>;

/** OTP users: bob's pass phrase is 'secret', enough one-time passwords for every test here. */
const otpStore = new sasl.OtpMemoryStore();
otpStore.set('bob', sasl.otpInit('md5', 'secret', 'hostile1', 500));

/** PyVortex-style handler; 'boom' throws and 'reject' rejects, as a broken user database would. */
const handler = (_c: Connection, p: sasl.AuthProps): sasl.AuthResult | Promise<string> => {
  const who = [p.authId, p.anonymousToken, p.authorizationId];
  if (who.includes('boom')) throw new Error('user database is down');
  if (who.includes('reject')) return Promise.reject(new Error('user database went away'));
  switch (p.mech) {
    case 'ANONYMOUS':
      return p.anonymousToken === 'guest';
    case 'PLAIN':
      return p.authId === 'bob' && p.password === 'secret';
    case 'EXTERNAL':
      return p.authId === 'ext';
    case 'OTP':
      return otpStore.entry(p.authId);
    default:
      return p.authId === 'bob' ? 'secret' : null;
  }
};

before(async () => {
  watch = watchFaults();
  ctx = new Ctx();
  // The coordinator's ctx.setOnError is not on this branch yet: reportHandlerFault calls this.
  (ctx as unknown as { reportError: (e: BeepError, w: { conn?: Connection }) => void }).reportError = (err, w) => {
    reported.push({ err, conn: w.conn });
  };
  for (const m of MECHS) {
    sasl.acceptMech(ctx, m, handler, { allowPlainInClear: true, realm: 'aspl.es', externalIdentity: () => 'ext', maxFailures: 1000 });
  }
  listener = await createListener(ctx, '127.0.0.1', 0, { onAccept: (c) => accepted.push(c) });
});

after(async () => {
  await ctx.exit();
  watch.stop();
  assert.deepEqual(watch.faults, [], 'nothing escaped as an uncaught exception or unhandled rejection');
});

/** Client responses no mechanism can accept. */
const BAD: Record<string, string> = {
  'invalid UTF-8': `<blob>${b64(new Uint8Array([0xff, 0xfe, 0x20, ...Buffer.from('0123456789abcdef0123456789abcdef')]))}</blob>`,
  'invalid UTF-8, no space': `<blob>${b64(new Uint8Array([0xc3, 0x28, 0xa0, 0xa1]))}</blob>`,
  'bad base64': '<blob>@@not base64@@</blob>',
  'another element': '<foo />',
  'malformed XML': "<blob status='continue'>AAAA",
  'bad status': "<blob status='maybe'>AAAA</blob>",
  'oversized fields': `<blob>${b64(`a=${'u'.repeat(3000)},\0${'u'.repeat(3000)}\0${'p'.repeat(3000)} ${'0'.repeat(32)}`)}</blob>`,
  'bad directives': `<blob>${b64('username="bob,realm=,,,=="x"\\')}</blob>`,
};

test('malformed client input on every mechanism: an <error> reply (501/535/538), the session stays up', async () => {
  for (const mech of MECHS) {
    // A peer per mechanism: a raw peer grants no SEQ, so channel 0 replies must fit 4096 octets.
    const p = await greeted(listener.port);
    let ch = 1;
    for (const [what, blob] of Object.entries(BAD)) {
      if (mech === 'EXTERNAL' && what === 'bad directives') continue; // any UTF-8 text is a valid authzid
      const start = await startRaw(p, ch, uri(mech));
      assert.equal(start.kw, 'RPY', `${mech}: start accepted`);
      assert.doesNotMatch(start.payload, /status='complete'/, `${mech}: no authentication without a client message`);
      const r = await ask(p, ch, 0, `${MIME}${blob}`);
      assert.equal(r.kw, 'ERR', `${mech} / ${what}: ERR, got ${r.payload}`);
      const e = parseMgmt(r.payload.slice(MIME.length));
      assert.equal(e.kind, 'error', `${mech} / ${what}: a well-formed <error>`);
      assert.ok(e.kind === 'error' && [501, 535, 538].includes(e.code), `${mech} / ${what}: code ${e.kind === 'error' ? e.code : ''}`);
      ch += 2;
    }
    await stillUp(p, ch);
    assert.equal(accepted.at(-1)!.isOk(), true);
    p.socket.destroy();
  }
});

test('malformed initial responses piggybacked in the start are refused with 501, not 550', async () => {
  const p = await greeted(listener.port);
  let ch = 1;
  for (const mech of ['ANONYMOUS', 'PLAIN', 'EXTERNAL', 'SCRAM-SHA-256', 'OTP']) {
    const r = await startRaw(p, ch, uri(mech), `<blob>${b64(new Uint8Array([0xff, 0xfe, 0xfd]))}</blob>`);
    assert.equal(r.kw, 'ERR', mech);
    const e = parseMgmt(r.payload.slice(MIME.length));
    assert.ok(e.kind === 'error' && e.code === 501, `${mech}: ${r.payload}`);
    ch += 2;
  }
  await stillUp(p, ch);
  p.socket.destroy();
});

test('error replies are escaped XML: <foo> comes back as &lt;foo&gt;', async () => {
  const p = await greeted(listener.port);
  await startRaw(p, 1, uri('PLAIN'));
  const r = await ask(p, 1, 0, `${MIME}<foo />`);
  assert.equal(r.payload, `${MIME}<error code='501'>SASL: expected &lt;blob&gt;, got &lt;foo&gt;</error>`);
  p.socket.destroy();
});

for (const mech of MECHS) {
  test(`${mech}: a password lookup that throws or rejects fails the attempt with 454 and is reported`, async () => {
    for (const bad of ['boom', 'reject']) {
      const conn = await Connection.connect(new Ctx(), '127.0.0.1', listener.port);
      const before = reported.length;
      const props: sasl.ClientProps =
        mech === 'ANONYMOUS'
          ? { anonymousToken: bad }
          : mech === 'EXTERNAL'
            ? { authorizationId: bad }
            : { authId: bad, password: 'x', realm: 'aspl.es' };
      assert.equal(await sasl.startAuth(conn, mech, props), false);
      assert.equal(conn.popChannelError()?.[0], 454);
      assert.ok(conn.isOk(), 'the session goes on');
      assert.equal(reported.length, before + 1, 'the fault was reported once');
      assert.equal(reported.at(-1)!.err.code, 'BEEP_ERR_HANDLER');
      assert.match(String((reported.at(-1)!.err.cause as Error).message), /database/);
      assert.ok(reported.at(-1)!.conn !== undefined);
      const good: sasl.ClientProps =
        mech === 'ANONYMOUS'
          ? { anonymousToken: 'guest' }
          : mech === 'EXTERNAL'
            ? {}
            : { authId: 'bob', password: 'secret', realm: 'aspl.es' };
      assert.ok(await sasl.startAuth(conn, mech, good), `then ${mech} succeeds: ${String(conn.popChannelError())}`);
      assert.ok(await conn.close());
    }
  });
}

test('ANONYMOUS started without an initial response: empty challenge, then the trace in a <blob> completes', async () => {
  const p = await greeted(listener.port);
  const start = await startRaw(p, 1, uri('ANONYMOUS'));
  assert.equal(start.kw, 'RPY');
  assert.equal(start.payload, `${MIME}<profile uri='${uri('ANONYMOUS')}'><![CDATA[<blob />]]></profile>`);
  const r = await ask(p, 1, 0, `${MIME}<blob>${b64('guest')}</blob>`);
  assert.equal(r.kw, 'RPY', r.payload);
  assert.match(r.payload, /<blob status='complete' \/>/);
  assert.equal(sasl.authId(accepted.at(-1)!), 'guest');
  p.socket.destroy();
});

test('an empty piggybacked blob is an empty initial response (ANONYMOUS with an empty trace)', async () => {
  const c = new Ctx();
  sasl.acceptMech(c, 'ANONYMOUS', () => true);
  const l = await createListener(c, '127.0.0.1', 0);
  const p = await greeted(l.port);
  const start = await startRaw(p, 1, uri('ANONYMOUS'), '<blob />');
  assert.match(start.payload, /<blob status='complete' \/>/);
  p.socket.destroy();
  await c.exit();
});

test('a blob above the SASL message limit (64 KiB) ends the session before it is buffered', async () => {
  const p = await greeted(listener.port);
  await startRaw(p, 1, uri('PLAIN'));
  await frameWhere(p, (f) => f.kw === 'SEQ' && f.ch === 1); // the window that allows the next frame
  const conn = accepted.at(-1)!;
  await p.send(p.frame('MSG', 1, 0, `${MIME}<blob>${'A'.repeat(70_000)}</blob>`));
  assert.ok(await p.closedWithin(3000), 'the listener dropped the session');
  assert.equal((conn.error as BeepError | undefined)?.code, 'BEEP_ERR_MESSAGE_TOO_LARGE');
});

test('acceptMech maxMessage sets the limit', async () => {
  const c = new Ctx();
  const conns: Connection[] = [];
  sasl.acceptMech(c, 'PLAIN', () => false, { allowPlainInClear: true, maxMessage: 1024 });
  const l = await createListener(c, '127.0.0.1', 0, { onAccept: (x) => conns.push(x) });
  const p = await greeted(l.port);
  await startRaw(p, 1, uri('PLAIN'));
  await p.send(p.frame('MSG', 1, 0, `${MIME}<blob>${'A'.repeat(2000)}</blob>`));
  assert.ok(await p.closedWithin(3000));
  assert.equal((conns[0]?.error as BeepError | undefined)?.code, 'BEEP_ERR_MESSAGE_TOO_LARGE');
  await c.exit();
});

test('maxFailures: the attempt that reaches it ends the session with BEEP_ERR_AUTH_LIMIT; failureDelay holds replies', async () => {
  const c = new Ctx();
  const conns: Connection[] = [];
  sasl.acceptMech(c, 'PLAIN', handler, { allowPlainInClear: true, maxFailures: 3, failureDelay: 20 });
  const l = await createListener(c, '127.0.0.1', 0, { onAccept: (x) => conns.push(x) });
  const conn = await Connection.connect(new Ctx(), '127.0.0.1', l.port);
  for (let i = 0; i < 2; i++) {
    assert.equal(await sasl.startAuth(conn, 'PLAIN', { authId: 'bob', password: `guess${i}` }), false);
    assert.equal(conn.popChannelError()?.[0], 535);
    assert.ok(conn.isOk());
  }
  assert.equal(await sasl.startAuth(conn, 'PLAIN', { authId: 'bob', password: 'guess2' }), false);
  const server = conns[0];
  assert.ok(server, 'the listener accepted the connection');
  for (let i = 0; i < 300 && server.isOk(); i++) await settle(1);
  assert.equal(server.isOk(), false, 'the listener dropped the session');
  assert.equal((server.error as BeepError | undefined)?.code, 'BEEP_ERR_AUTH_LIMIT');
  for (let i = 0; i < 300 && conn.isOk(); i++) await settle(1);
  assert.equal(conn.isOk(), false);
  await c.exit();
});

test('a good password after failures below maxFailures still succeeds', async () => {
  const c = new Ctx();
  sasl.acceptMech(c, 'SCRAM-SHA-256', handler, { maxFailures: 2 });
  const l = await createListener(c, '127.0.0.1', 0);
  const conn = await Connection.connect(new Ctx(), '127.0.0.1', l.port);
  assert.equal(await sasl.startAuth(conn, 'SCRAM-SHA-256', { authId: 'bob', password: 'nope' }), false);
  assert.ok(await sasl.startAuth(conn, 'SCRAM-SHA-256', { authId: 'bob', password: 'secret' }));
  assert.ok(await conn.close());
  await c.exit();
});
