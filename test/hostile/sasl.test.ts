// Hostile SASL peers: responses that are not UTF-8 (CRAM-MD5 crashed the listener), password
// lookups that reject (SCRAM, DIGEST-MD5, CRAM-MD5), and a 60 MB blob streamed as frames.
import { before, after, test } from 'node:test';
import assert from 'node:assert/strict';
import { Connection, Ctx, sasl } from '../../src/index.js';
import {
  ECHO,
  KiB,
  LOCAL,
  MiB,
  Peer,
  buffered,
  hostile,
  installFaultRecorders,
  memNow,
  held,
  sleep,
  startServer,
  within,
  type Server,
} from './harness.js';

installFaultRecorders();

const REALM = 'aspl.es';
const MECHS = ['ANONYMOUS', 'PLAIN', 'CRAM-MD5', 'DIGEST-MD5', 'SCRAM-SHA-256', 'OTP'];
let s: Server;
let lookups = 0;

const handler = (_c: Connection, p: sasl.AuthProps): sasl.AuthResult | Promise<string> => {
  if (p.authId === 'evil') {
    lookups++;
    return Promise.reject(new Error('password store unavailable'));
  }
  switch (p.mech) {
    case 'ANONYMOUS':
      return true;
    case 'PLAIN':
      return p.authId === 'bob' && p.password === 'secret';
    default:
      return p.authId === 'bob' ? 'secret' : null;
  }
};

before(async () => {
  s = await startServer((ctx) => {
    for (const m of MECHS) sasl.acceptMech(ctx, m, handler, { realm: REALM, allowPlainInClear: true });
  });
});
after(async () => {
  await s.close();
});
const S = (): Server => s;

const b64 = (b: Uint8Array | string): string => Buffer.from(b).toString('base64');
const BAD = Buffer.from([0xff, 0xfe, 0xc3, 0x28, 0xed, 0xa0, 0x80]);
const XML = 'Content-Type: application/beep+xml\r\n\r\n';

/** Greets, opens channel 1 on the mechanism (no piggyback) and channel 3 on echo. */
async function saslAttacker(mech: string): Promise<Peer> {
  const p = await Peer.connect(s.port);
  await p.greet();
  assert.equal(await p.start(1, sasl.saslUri(mech)), 'RPY', `start of ${mech}`);
  assert.equal(await p.start(3, ECHO), 'RPY');
  return p;
}

async function carriesOn(p: Peer): Promise<void> {
  await p.write(p.frame('MSG', 3, 0, 'still alive'));
  const r = await p.reply(3, 0, 2000);
  assert.equal(r.kw, 'RPY');
  assert.equal(p.isClosed, false);
}

hostile(S, 'CRAM-MD5: a response that is not UTF-8 gets an ERR, the session carries on', async () => {
  const p = await saslAttacker('CRAM-MD5');
  await p.write(
    p.frame(
      'MSG',
      1,
      0,
      `${XML}<blob>${b64(Buffer.concat([Buffer.from('bob '), BAD, Buffer.from(' 0123456789abcdef0123456789abcdef')]))}</blob>`,
    ),
  );
  const r = await p.reply(1, 0, 2000);
  assert.equal(r.kw, 'ERR', `reply ${JSON.stringify(r.payload)}`);
  await carriesOn(p);
  p.destroy();
});

for (const mech of MECHS) {
  hostile(S, `${mech}: a blob whose decoded response is not UTF-8 (piggybacked in <start>) -> refused or continued, no fault`, async () => {
    const p = await Peer.connect(s.port);
    await p.greet();
    await p.start(1, sasl.saslUri(mech), `<blob>${b64(BAD)}</blob>`);
    assert.equal(await p.start(3, ECHO), 'RPY');
    await carriesOn(p);
    p.destroy();
  });
  if (mech === 'ANONYMOUS') continue; // completes at once without piggyback: no MSG step
  hostile(S, `${mech}: a blob whose decoded response is not UTF-8 (as a MSG) gets an RPY or ERR, no fault`, async () => {
    const p = await saslAttacker(mech);
    await p.write(p.frame('MSG', 1, 0, `${XML}<blob>${b64(BAD)}</blob>`));
    const r = await p.reply(1, 0, 2000);
    assert.match(r.kw, /RPY|ERR/);
    await carriesOn(p);
    p.destroy();
  });
}

hostile(S, 'SASL: raw invalid UTF-8 octets inside the <blob> element -> ERR, no fault', async () => {
  const p = await saslAttacker('SCRAM-SHA-256');
  await p.write(p.frame('MSG', 1, 0, Buffer.concat([Buffer.from(`${XML}<blob>`), BAD, Buffer.from('</blob>')])));
  assert.equal((await p.reply(1, 0, 2000)).kw, 'ERR');
  await carriesOn(p);
  p.destroy();
});

// ---- password lookups that reject --------------------------------------------------------

const clientProps = (mech: string): sasl.ClientProps => ({
  authId: 'evil',
  password: 'x',
  ...(mech === 'DIGEST-MD5' ? { realm: REALM } : {}),
});

for (const mech of ['SCRAM-SHA-256', 'DIGEST-MD5', 'CRAM-MD5', 'OTP']) {
  hostile(S, `${mech}: a password lookup that rejects fails the exchange (startAuth settles false), the session carries on`, async () => {
    const conn = await Connection.connect(new Ctx(), LOCAL, s.port);
    assert.ok(conn.isOk());
    const n = lookups;
    const ok = await within(3000, 'startAuth against a rejecting lookup', sasl.startAuth(conn, mech, clientProps(mech)));
    assert.equal(ok, false);
    assert.ok(lookups > n, 'the lookup ran');
    assert.ok(conn.isOk(), 'the session carries on');
    const ch = await conn.openChannel(0, ECHO);
    assert.equal((await within(2000, 'echo after the failed exchange', ch!.request('after'))).text, 'after');
    conn.shutdown();
  });

  test(`${mech}: a rejecting password lookup is reported to ctx.setOnError as BEEP_ERR_HANDLER`, async (t) => {
    if (!s.hasOnError) {
      t.skip('skipped: ctx.setOnError does not exist at run time');
      return;
    }
    const before = s.onError.length;
    const conn = await Connection.connect(new Ctx(), LOCAL, s.port);
    await within(3000, 'startAuth', sasl.startAuth(conn, mech, clientProps(mech))).catch(() => false);
    for (let i = 0; i < 100 && s.onError.length === before; i++) await sleep(10);
    const got = s.onError.slice(before);
    assert.ok(got.length >= 1, 'setOnError was not called');
    assert.equal(got[0]!.err.code, 'BEEP_ERR_HANDLER');
    conn.shutdown();
  });
}

// ---- a 60 MB blob ------------------------------------------------------------------------

hostile(
  S,
  'SASL: a 60 MB blob streamed as 16 KiB frames (<= 5 s) is cut off before the listener buffers > 1 MiB',
  async (t) => {
    const base = memNow();
    const p = await saslAttacker('SCRAM-SHA-256');
    const a = await s.sessionOf(p);
    const piece = Buffer.alloc(16 * KiB, 'A');
    const total = 60 * 1000 * 1000;
    let sent = 0,
      peak = 0;
    const deadline = Date.now() + 5000;
    await p.write(p.frame('MSG', 1, 0, `${XML}<blob>`, '*'));
    while (sent < total && !p.isClosed && Date.now() < deadline && !/ERR 1 0 /.test(p.text)) {
      if (!(await p.write(p.frame('MSG', 1, 0, piece, '*')))) break;
      sent += piece.length;
      peak = Math.max(peak, buffered(a.conn));
    }
    // A listener that discards the excess may refuse once the message ends: finish it.
    if (!p.isClosed) await p.write(p.frame('MSG', 1, 0, '</blob>'));
    for (let i = 0; i < 100 && !p.isClosed && !/(RPY|ERR) 1 0 /.test(p.text); i++) {
      peak = Math.max(peak, buffered(a.conn));
      await sleep(10);
    }
    peak = Math.max(peak, buffered(a.conn));
    const h = held(base);
    const outcome = p.isClosed
      ? `closed (${(a.err as { code?: string } | undefined)?.code})`
      : /ERR 1 0 /.test(p.text)
        ? 'ERR'
        : /RPY 1 0 /.test(p.text)
          ? 'RPY'
          : 'still open';
    t.diagnostic(
      `sent ${(sent / MiB).toFixed(1)} MiB, listener peak buffered ${(peak / MiB).toFixed(2)} MiB, outcome ${outcome}; ${h.text}`,
    );
    p.destroy();
    assert.ok(peak <= MiB + 64 * KiB, `the listener buffered ${(peak / MiB).toFixed(1)} MiB of one SASL blob`);
    assert.ok(outcome.startsWith('closed') || outcome === 'ERR', `outcome ${outcome}: the blob was neither refused nor the session ended`);
  },
  20_000,
);
