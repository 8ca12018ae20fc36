// SASL OTP (RFC 2444) over loopback: login with the pass phrase (hex and six words), the store
// moving down one sequence number per login, a replayed response refused, re-initialisation
// (init-hex, init-word), two parallel logins with one one-time password (exactly one wins),
// hostile servers (huge sequence, bad seed, garbage) and hostile clients (malformed responses,
// wrong keys): typed errors with reply codes, sessions that go on.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Ctx, registerProfile, createListener, Connection, sasl, type Listener, MgmtSyntaxError } from '../../src/index.js';
import { blobXml } from '../../src/sasl/blob.js';
import { otpHex, otpSixWords, otpKey } from '../../src/sasl/otp.js';
import { parseMgmt } from '../../src/session/mgmt.js';
import { MIME, greeted, startRaw, ask, stillUp, watchFaults, b64, unb64 } from './hostile.js';

const OTP_URI = 'http://iana.org/beep/SASL/OTP';
const PASS = 'This is a test.';

let ctx: Ctx;
let listener: Listener;
const store = new sasl.OtpMemoryStore();
const accepted: Connection[] = [];
let watch: ReturnType<typeof watchFaults>;

before(async () => {
  watch = watchFaults();
  ctx = new Ctx();
  sasl.acceptMech(ctx, 'OTP', (_conn, props) => store.entry(props.authId), { maxFailures: 1000 });
  listener = await createListener(ctx, '127.0.0.1', 0, { onAccept: (c) => accepted.push(c) });
});

after(async () => {
  await ctx.exit();
  watch.stop();
  assert.deepEqual(watch.faults, [], 'nothing escaped as an uncaught exception or unhandled rejection');
});

const connect = (): Promise<Connection> => Connection.connect(new Ctx(), '127.0.0.1', listener.port);

test('OTP login with the pass phrase: the store moves to the RFC 2289 vector of the sequence used', async () => {
  store.set('bob', sasl.otpInit('md5', PASS, 'TeSt', 100));
  const conn = await connect();
  assert.ok(sasl.peerMechanisms(conn).includes('OTP'), 'the listener advertises OTP');
  const challenges: string[] = [];
  assert.ok(
    await sasl.startAuth(
      conn,
      'OTP',
      { authId: 'bob', password: PASS },
      { onChallenge: (c) => challenges.push(Buffer.from(c!).toString()) },
    ),
    String(conn.popChannelError()),
  );
  assert.deepEqual(challenges, ['otp-md5 99 TeSt ext']);
  assert.equal(sasl.methodUsed(conn), 'OTP');
  assert.equal(sasl.authId(conn), 'bob');
  assert.equal(sasl.authId(accepted.at(-1)!), 'bob', 'the listener side knows the identity');
  const s = store.get('bob')!;
  assert.equal(s.sequence, 99);
  assert.equal(otpHex(s.key), '50fe1962c4965880', 'RFC 2289 Appendix C: md5 "This is a test." TeSt 99');
  assert.ok(await conn.close());

  // The profile URI names the mechanism too; six words this time (sequence 98).
  const c2 = await connect();
  assert.ok(await sasl.startAuth(c2, OTP_URI, { authId: 'bob', password: PASS, otp: { format: 'word' } }), String(c2.popChannelError()));
  assert.equal(sasl.methodUsed(c2), 'OTP');
  assert.equal(store.get('bob')!.sequence, 98);
  assert.deepEqual(store.get('bob')!.key, otpKey('md5', PASS, 'TeSt', 98));
  assert.ok(await c2.close());
});

test('OTP: a wrong pass phrase fails with 535, the store is unchanged and the session goes on', async () => {
  store.set('carol', sasl.otpInit('sha1', 'carol pass phrase', 'seed42', 10));
  const conn = await connect();
  assert.equal(await sasl.startAuth(conn, 'OTP', { authId: 'carol', password: 'wrong pass phrase' }), false);
  assert.equal(conn.popChannelError()?.[0], 535);
  assert.equal(store.get('carol')!.sequence, 10);
  assert.ok(conn.isOk());
  assert.ok(await sasl.startAuth(conn, 'OTP', { authId: 'carol', password: 'carol pass phrase' }), String(conn.popChannelError()));
  assert.equal(store.get('carol')!.sequence, 9);
  assert.ok(await conn.close());
});

test('OTP: an unknown user is refused with 535', async () => {
  const conn = await connect();
  assert.equal(await sasl.startAuth(conn, 'OTP', { authId: 'nobody', password: PASS }), false);
  assert.equal(conn.popChannelError()?.[0], 535);
  assert.ok(await conn.close());
});

test('OTP: a response used once is refused the second time (precomputed response)', async () => {
  store.set('dave', sasl.otpInit('md5', PASS, 'alpha1', 100));
  const response = `hex:${otpHex(otpKey('md5', PASS, 'alpha1', 99))}`;
  const seen: number[] = [];
  const props = {
    authId: 'dave',
    otp: {
      response: (c: sasl.OtpChallenge) => {
        seen.push(c.sequence);
        return response;
      },
    },
  };
  const a = await connect();
  assert.ok(await sasl.startAuth(a, 'OTP', props), String(a.popChannelError()));
  const b = await connect();
  assert.equal(await sasl.startAuth(b, 'OTP', props), false, 'the same one-time password again');
  assert.equal(b.popChannelError()?.[0], 535);
  assert.deepEqual(seen, [99, 98], 'the second login was asked for the next one');
  assert.equal(store.get('dave')!.sequence, 99);
  await a.close();
  await b.close();
});

test('OTP re-initialisation: init-hex and init-word replace sequence, seed and pass phrase', async () => {
  store.set('erin', sasl.otpInit('md5', PASS, 'TeSt', 5));
  const conn = await connect();
  const reinit = { sequence: 50, seed: 'Fresh1', passphrase: 'a new pass phrase', algorithm: 'sha1' as const };
  assert.ok(await sasl.startAuth(conn, 'OTP', { authId: 'erin', password: PASS, otp: { reinit } }), String(conn.popChannelError()));
  const s = store.get('erin')!;
  assert.deepEqual(
    { algorithm: s.algorithm, sequence: s.sequence, seed: s.seed, key: otpHex(s.key) },
    { algorithm: 'sha1', sequence: 50, seed: 'Fresh1', key: otpHex(otpKey('sha1', 'a new pass phrase', 'Fresh1', 50)) },
  );
  await conn.close();
  // The old pass phrase no longer works; the new one does, and init-word re-initialises too.
  const c2 = await connect();
  assert.equal(await sasl.startAuth(c2, 'OTP', { authId: 'erin', password: PASS }), false);
  assert.equal(c2.popChannelError()?.[0], 535);
  assert.ok(
    await sasl.startAuth(c2, 'OTP', {
      authId: 'erin',
      password: 'a new pass phrase',
      otp: { format: 'word', reinit: { sequence: 20, seed: 'again2' } },
    }),
    String(c2.popChannelError()),
  );
  assert.deepEqual(store.get('erin'), {
    algorithm: 'sha1',
    sequence: 20,
    seed: 'again2',
    key: otpKey('sha1', 'a new pass phrase', 'again2', 20),
  });
  await c2.close();
});

test('OTP re-initialisation to the same seed is refused (501) and still consumes the one-time password', async () => {
  store.set('fay', sasl.otpInit('md5', PASS, 'TeSt', 7));
  const conn = await connect();
  assert.equal(
    await sasl.startAuth(conn, 'OTP', { authId: 'fay', password: PASS, otp: { reinit: { sequence: 99, seed: 'test' } } }),
    false,
  );
  const [code, text] = conn.popChannelError()!;
  assert.equal(code, 501);
  assert.match(text, /seed must differ/);
  assert.equal(store.get('fay')!.sequence, 6, 'the password that crossed the wire cannot be used again');
  await conn.close();
});

test('OTP: two parallel logins with the same one-time password: exactly one succeeds', async () => {
  for (const slowUpdate of [false, true]) {
    const inner = new sasl.OtpMemoryStore();
    inner.set('gus', sasl.otpInit('sha1', PASS, 'race1', 300));
    const c = new Ctx();
    sasl.acceptMech(c, 'OTP', (_conn, p) => {
      const e = inner.entry(p.authId);
      if (e === null || !slowUpdate) return e;
      // A database round trip between the compare and the answer.
      return {
        ...e,
        update: async (n, prev) => {
          await new Promise((r) => setTimeout(r, 20));
          return e.update(n, prev);
        },
      };
    });
    const l = await createListener(c, '127.0.0.1', 0);
    // Both clients hold the response until both have their challenge: they answer the same one.
    let release!: () => void;
    const bothAsked = new Promise<void>((r) => (release = r));
    let asked = 0;
    const response = `hex:${otpHex(otpKey('sha1', PASS, 'race1', 299))}`;
    const props = {
      authId: 'gus',
      otp: {
        response: async () => {
          if (++asked === 2) release();
          await bothAsked;
          return response;
        },
      },
    };
    const [a, b] = await Promise.all([
      Connection.connect(new Ctx(), '127.0.0.1', l.port),
      Connection.connect(new Ctx(), '127.0.0.1', l.port),
    ]);
    const results = await Promise.all([sasl.startAuth(a, 'OTP', props), sasl.startAuth(b, 'OTP', props)]);
    assert.deepEqual(results.filter(Boolean).length, 1, `exactly one login succeeds (slow update: ${slowUpdate})`);
    const loser = results[0] ? b : a;
    assert.deepEqual(loser.popChannelError(), [535, 'one-time password already used']);
    assert.equal(inner.get('gus')!.sequence, 299);
    await Promise.all([a.close(), b.close()]);
    await c.exit();
  }
});

test('OTP: an update that throws fails with 454 and is reported; a malformed entry too', async () => {
  const c = new Ctx();
  const reported: string[] = [];
  (c as unknown as { reportError: (e: Error) => void }).reportError = (e) => reported.push(String((e.cause as Error)?.message));
  const base = sasl.otpInit('md5', PASS, 'TeSt', 10);
  sasl.acceptMech(c, 'OTP', (_conn, p) =>
    p.authId === 'throws'
      ? {
          ...base,
          update: () => {
            throw new Error('database is down');
          },
        }
      : { ...base, sequence: 123456, update: () => true },
  );
  const l = await createListener(c, '127.0.0.1', 0);
  const conn = await Connection.connect(new Ctx(), '127.0.0.1', l.port);
  assert.equal(await sasl.startAuth(conn, 'OTP', { authId: 'throws', password: PASS }), false);
  assert.equal(conn.popChannelError()?.[0], 454);
  assert.equal(await sasl.startAuth(conn, 'OTP', { authId: 'malformed', password: PASS }), false);
  assert.equal(conn.popChannelError()?.[0], 454);
  assert.ok(conn.isOk());
  assert.equal(reported.length, 2);
  assert.match(reported[0]!, /database is down/);
  assert.match(reported[1]!, /bad sequence 123456/);
  await conn.close();
  await c.exit();
});

test('OTP: a user with no one-time password left (sequence 0) is refused with 535', async () => {
  store.set('hal', sasl.otpInit('md5', PASS, 'TeSt', 1));
  const conn = await connect();
  assert.ok(await sasl.startAuth(conn, 'OTP', { authId: 'hal', password: PASS }), 'the last one (sequence 0)');
  await conn.close();
  const c2 = await connect();
  assert.equal(await sasl.startAuth(c2, 'OTP', { authId: 'hal', password: PASS }), false);
  assert.deepEqual(c2.popChannelError()?.[0], 535);
  await c2.close();
});

/** A listener whose OTP profile answers the start with `challenge` (bytes or text), then `next` to any message. */
async function hostileServer(challenge: string | Uint8Array, next?: string): Promise<{ ctx: Ctx; port: number }> {
  const c = new Ctx();
  const bytes = typeof challenge === 'string' ? new TextEncoder().encode(challenge) : challenge;
  registerProfile(c, OTP_URI, {
    tuningStart: async () => ({ accept: true, uri: OTP_URI, content: blobXml('continue', bytes) }),
    frameReceived: (_conn, ch, f) => {
      if (f.type === 'MSG') ch.sendRpy(blobXml('continue', new TextEncoder().encode(next ?? 'otp-md5 5 again ext')), undefined, f.msgNo);
    },
  });
  const l = await createListener(c, '127.0.0.1', 0);
  return { ctx: c, port: l.port };
}

test('hostile server: huge sequence, bad seed, garbage challenges fail fast with 501/504; the session goes on', async () => {
  const cases: Array<[string | Uint8Array, number]> = [
    ['otp-md5 4294967295 seed ext', 501],
    ['otp-sha1 10000 seed ext', 501],
    ['otp-md5 99999999999999999999 seed ext', 501],
    ['otp-md5 99 bad!seed ext', 501],
    ['otp-md5 99 seedseedseedseedX ext', 501],
    ['otp-md5 99 seed', 501],
    ['otp-md4 99 seed ext', 504],
    ['garbage', 501],
    ['', 501],
    [new Uint8Array([0xff, 0xfe, 0x00, 0x41]), 501],
    [`otp-md5 99 seed ext${'x'.repeat(5000)}`, 501],
  ];
  for (const [challenge, code] of cases) {
    const h = await hostileServer(challenge);
    const conn = await Connection.connect(new Ctx(), '127.0.0.1', h.port);
    const t0 = performance.now();
    let err: unknown;
    const ok = await sasl.startAuth(conn, 'OTP', { authId: 'bob', password: PASS, otp: { response: () => 'never asked' } }).catch((e) => {
      err = e;
      return 'threw';
    });
    const what = typeof challenge === 'string' ? challenge.slice(0, 40) : 'bytes';
    assert.equal(ok, false, `${what}: false, not ${String(err)}`);
    assert.ok(performance.now() - t0 < 2000, `${what}: refused without hashing`);
    const e = conn.popChannelError();
    assert.equal(e?.[0], code, `${what}: ${String(e)}`);
    assert.equal(sasl.isAuthenticated(conn), false);
    assert.ok(conn.isOk(), `${what}: the session goes on`);
    await conn.close();
    await h.ctx.exit();
  }
});

test('hostile server: a second challenge after the response is refused (501)', async () => {
  const h = await hostileServer('otp-md5 5 seed1 ext', 'otp-md5 4 seed1 ext');
  const conn = await Connection.connect(new Ctx(), '127.0.0.1', h.port);
  assert.equal(await sasl.startAuth(conn, 'OTP', { authId: 'bob', password: PASS }), false);
  assert.deepEqual(conn.popChannelError(), [501, 'OTP: a second challenge after the response']);
  assert.ok(conn.isOk());
  await conn.close();
  await h.ctx.exit();
});

test('the client side checks its own options before anything is sent (RangeError)', async () => {
  const conn = await connect();
  await assert.rejects(sasl.startAuth(conn, 'OTP', { authId: 'bob', otp: { reinit: { sequence: 0, seed: 'x1' } } }), RangeError);
  await assert.rejects(sasl.startAuth(conn, 'OTP', { authId: 'bob', otp: { reinit: { sequence: 5, seed: 'bad seed' } } }), RangeError);
  await assert.rejects(sasl.startAuth(conn, 'OTP', { authId: 'bob', otp: { format: 'octal' as 'hex' } }), RangeError);
  assert.ok(conn.isOk());
  await conn.close();
});

test('hostile client: malformed responses get 501, a wrong key 535; nothing is stored; the session goes on', async () => {
  store.set('ivy', sasl.otpInit('md5', PASS, 'TeSt', 50));
  const p = await greeted(listener.port);
  const good = otpKey('md5', PASS, 'TeSt', 49);
  const badChecksum = otpSixWords(good).replace(/\S+$/, (w) => (w === 'A' ? 'ABE' : 'A'));
  const cases: Array<[string, number]> = [
    ['hex:zz', 501],
    ['word:FOO BAR BAZ QUX QUUX CORGE', 501],
    [`word:${badChecksum}`, 501],
    ['init-hex:0011223344556677', 501],
    ['md5:0011223344556677', 501],
    [`hex:${'0'.repeat(1000)}`, 501],
    ['hex:0011223344556677', 535], // well formed, wrong key
    [`word:${otpSixWords(otpKey('md5', 'another phrase', 'TeSt', 49))}`, 535],
    [`hex:${otpHex(otpKey('md5', PASS, 'TeSt', 50))}`, 535], // the stored key itself: one hash short
  ];
  let ch = 1;
  for (const [response, code] of cases) {
    const start = await startRaw(p, ch, OTP_URI, `<blob>${b64('\0ivy')}</blob>`);
    assert.equal(start.kw, 'RPY');
    assert.equal(unb64(/<blob>([^<]*)<\/blob>/.exec(start.payload)![1]!), 'otp-md5 49 TeSt ext');
    const r = await ask(p, ch, 0, `${MIME}<blob>${b64(response)}</blob>`);
    assert.equal(r.kw, 'ERR', `${response.slice(0, 30)}: ${r.payload}`);
    const e = parseMgmt(r.payload.slice(MIME.length));
    assert.ok(e.kind === 'error' && e.code === code, `${response.slice(0, 30)}: ${r.payload}`);
    ch += 2;
  }
  assert.equal(store.get('ivy')!.sequence, 50, 'no failed attempt changed the store');
  // Malformed initial responses (a fresh peer: a raw peer's channel 0 has a 4096-octet window).
  const q = await greeted(listener.port);
  for (const [i, initial] of ['ivy', '\0', 'a\0b\0c', `\0${'u'.repeat(1100)}`].entries()) {
    const start = await startRaw(q, 1 + 2 * i, OTP_URI, `<blob>${b64(initial)}</blob>`);
    assert.equal(start.kw, 'ERR', JSON.stringify(initial.slice(0, 10)));
    const e = parseMgmt(start.payload.slice(MIME.length));
    assert.ok(e.kind === 'error' && e.code === 501, start.payload);
  }
  await stillUp(q, 9);
  q.socket.destroy();
  await stillUp(p, ch);
  // And the right answer still works on the same session.
  const start = await startRaw(p, ch + 2, OTP_URI, `<blob>${b64('\0ivy')}</blob>`);
  assert.equal(start.kw, 'RPY');
  const r = await ask(p, ch + 2, 0, `${MIME}<blob>${b64(`word:${otpSixWords(good).toLowerCase()}`)}</blob>`);
  assert.equal(r.kw, 'RPY', r.payload);
  assert.match(r.payload, /status='complete'/);
  assert.equal(store.get('ivy')!.sequence, 49);
  p.socket.destroy();
});

test('mechanism names and profile URIs are one: mechName, saslUri, isSupported, acceptMech and startAuth', async () => {
  for (const m of ['OTP', 'otp', 'http://iana.org/beep/SASL/OTP', 'http://iana.org/beep/SASL/otp']) {
    assert.equal(sasl.mechName(m), 'OTP');
    assert.equal(sasl.saslUri(m), OTP_URI);
    assert.ok(sasl.isSupported(m));
  }
  assert.equal(sasl.mechName('http://iana.org/beep/SASL/SCRAM-SHA-256'), 'SCRAM-SHA-256');
  assert.equal(sasl.mechName(sasl.saslUri(sasl.CRAM_MD5)), 'CRAM-MD5');
  for (const bad of ['', 'PLAIN ', 'http://iana.org/beep/SASL/', 'http://example.org/beep/SASL/PLAIN', 'A'.repeat(21), 'PL@IN'])
    assert.throws(() => sasl.mechName(bad), RangeError, JSON.stringify(bad));
  assert.equal(sasl.isSupported('GSSAPI'), false);
  assert.equal(sasl.isSupported('http://iana.org/beep/SASL/GSSAPI'), false);
  assert.equal(sasl.isSupported('not a name'), false);
  assert.throws(() => sasl.acceptMech(new Ctx(), 'http://iana.org/beep/SASL/GSSAPI', () => true), RangeError);
  const c = new Ctx();
  sasl.acceptMech(c, 'http://iana.org/beep/SASL/PLAIN', (_conn, p) => p.password === 'secret', { allowPlainInClear: true });
  const l = await createListener(c, '127.0.0.1', 0);
  const conn = await Connection.connect(new Ctx(), '127.0.0.1', l.port);
  assert.deepEqual(sasl.peerMechanisms(conn), ['PLAIN']);
  assert.ok(await sasl.startAuth(conn, 'plain', { authId: 'bob', password: 'secret' }));
  assert.equal(sasl.methodUsed(conn), 'PLAIN');
  await conn.close();
  await c.exit();
});

test('MgmtSyntaxError is what a malformed challenge gives (typed, with its reply code)', async () => {
  const { otpClient } = await import('../../src/sasl/otp-mech.js');
  const m = otpClient({ authId: 'bob', password: PASS });
  await assert.rejects(
    m.step(new TextEncoder().encode('otp-md5 4294967295 seed ext')),
    (e: unknown) => e instanceof MgmtSyntaxError && e.replyCode === 501,
  );
});
