// SASL profiles over loopback: each mechanism succeeding, failing on a bad password, aborting,
// and a second authentication refused; PLAIN only under TLS unless allowed.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Ctx, registerProfile, createListener, Connection, tls, sasl, type Listener } from '../../src/index.js';
import * as certs from '../../src/tls/certs.js';
import { testNeeding } from '../runtime-limits.js';

const ECHO = 'http://beepwire.test/echo';
let ca: certs.CertPair, server: certs.CertPair, client: certs.CertPair;
let ctx: Ctx, plainCtx: Ctx;
let listener: Listener, plainListener: Listener;
const seen: sasl.AuthProps[] = [];

const handler = (_c: Connection, p: sasl.AuthProps): boolean | string | null => {
  seen.push(p);
  switch (p.mech) {
    case 'ANONYMOUS':
      return p.anonymousToken === 'test@aspl.es';
    case 'PLAIN':
      return p.authId === 'bob' && p.password === 'secret';
    case 'EXTERNAL':
      return p.authId === 'acinom';
    default:
      return p.authId === 'bob' ? 'secret' : null; // CRAM-MD5, DIGEST-MD5, SCRAM: the password
  }
};

before(async () => {
  ca = certs.generateCa();
  server = certs.generateLeaf(ca, { commonName: 'localhost', dnsNames: ['localhost'] });
  client = certs.generateLeaf(ca, { commonName: 'acinom', dnsNames: ['acinom'] });
  ctx = new Ctx();
  registerProfile(ctx, ECHO, {
    frameReceived: (c, ch, f) => {
      if (f.type === 'MSG') ch.sendRpy(`${sasl.authId(c) ?? '-'}:${f.text}`, undefined, f.msgNo);
    },
  });
  tls.acceptTls(ctx, { certHandler: () => server.cert, keyHandler: () => server.key, caHandler: () => ca.cert });
  for (const m of ['ANONYMOUS', 'PLAIN', 'CRAM-MD5', 'DIGEST-MD5', 'EXTERNAL', 'SCRAM-SHA-256'])
    sasl.acceptMech(ctx, m, handler, { realm: 'aspl.es' });
  listener = await createListener(ctx, '127.0.0.1', 0);
  plainCtx = new Ctx();
  sasl.acceptMech(plainCtx, 'PLAIN', handler, { allowPlainInClear: true });
  plainListener = await createListener(plainCtx, '127.0.0.1', 0);
});

after(async () => {
  await ctx.exit();
  await plainCtx.exit();
});

/** Connects; `tls`: then TLS, with our client certificate when 'cert' (EXTERNAL's identity). */
async function connect(port = listener.port, withTls: false | 'tls' | 'cert' = false): Promise<Connection> {
  const conn = await Connection.connect(new Ctx(), '127.0.0.1', port);
  assert.ok(conn.isOk());
  const mine = withTls === 'cert' ? { cert: client.cert, key: client.key } : {};
  if (withTls) assert.ok(await tls.startTls(conn, { serverName: 'localhost', ca: ca.cert, ...mine }), String(conn.popChannelError()));
  return conn;
}

const GOOD = {
  ANONYMOUS: { anonymousToken: 'test@aspl.es' },
  PLAIN: { authId: 'bob', password: 'secret' },
  'CRAM-MD5': { authId: 'bob', password: 'secret' },
  'DIGEST-MD5': { authId: 'bob', password: 'secret', realm: 'aspl.es' },
  EXTERNAL: {},
  'SCRAM-SHA-256': { authId: 'bob', password: 'secret' },
} satisfies Record<string, sasl.ClientProps>;
// PLAIN only under TLS; EXTERNAL takes the identity of the TLS client certificate.
const needsTls = (m: string): false | 'tls' | 'cert' => (m === 'EXTERNAL' ? 'cert' : m === 'PLAIN' ? 'tls' : false);

for (const [mech, props] of Object.entries(GOOD)) {
  testNeeding(
    needsTls(mech) === 'cert' && 'tls-client-certificate',
    `${mech}: succeeds; isAuthenticated, methodUsed and authId on both sides`,
    async () => {
      const conn = await connect(listener.port, needsTls(mech));
      assert.ok(await sasl.startAuth(conn, mech, props), String(conn.popChannelError()));
      assert.ok(sasl.isAuthenticated(conn));
      assert.equal(sasl.methodUsed(conn), mech);
      const expectedId = mech === 'ANONYMOUS' ? 'test@aspl.es' : mech === 'EXTERNAL' ? 'acinom' : 'bob';
      const ch = (await conn.openChannel(0, ECHO))!;
      assert.equal((await ch.request('hi')).text, `${expectedId}:hi`, 'the listener sees the authenticated identity');
      // One authentication per session.
      assert.equal(await sasl.startAuth(conn, mech, props), false);
      assert.equal(conn.popChannelError()?.[0], 550);
      assert.ok(await conn.close());
    },
  );
  if (mech !== 'EXTERNAL' && mech !== 'ANONYMOUS') {
    test(`${mech}: a wrong password fails with 535 and the session goes on`, async () => {
      const conn = await connect(listener.port, needsTls(mech));
      assert.equal(await sasl.startAuth(conn, mech, { ...props, password: 'wrong' }), false);
      assert.equal(conn.popChannelError()?.[0], 535);
      assert.equal(sasl.isAuthenticated(conn), false);
      assert.ok(conn.isOk());
      assert.ok(await sasl.startAuth(conn, mech, props), 'a later attempt may still succeed');
      assert.ok(await conn.close());
    });
  }
}

test('ANONYMOUS with an unexpected token is refused', async () => {
  const conn = await connect();
  assert.equal(await sasl.startAuth(conn, 'ANONYMOUS', { anonymousToken: 'nobody' }), false);
  assert.equal(conn.popChannelError()?.[0], 535);
  assert.ok(await conn.close());
});

test('EXTERNAL without a TLS client certificate fails (538)', async () => {
  const conn = await connect();
  assert.equal(await sasl.startAuth(conn, 'EXTERNAL', {}), false);
  assert.equal(conn.popChannelError()?.[0], 538);
  assert.ok(await conn.close());
});

for (const mech of ['CRAM-MD5', 'DIGEST-MD5', 'SCRAM-SHA-256'] as const) {
  test(`${mech}: the client aborts after the first challenge`, async () => {
    const conn = await connect();
    const ac = new AbortController();
    let challenges = 0;
    assert.equal(
      await sasl.startAuth(conn, mech, GOOD[mech], {
        signal: ac.signal,
        onChallenge: () => {
          challenges++;
          ac.abort();
        },
      }),
      false,
    );
    assert.equal(challenges, 1);
    assert.match(conn.popChannelError()![1], /abort/);
    assert.equal(sasl.isAuthenticated(conn), false);
    assert.ok(await sasl.startAuth(conn, mech, GOOD[mech]), 'the session can authenticate afterwards');
    assert.ok(await conn.close());
  });
}

test('PLAIN on a cleartext session is refused with 538 unless the listener opts in', async () => {
  const conn = await connect();
  assert.equal(await sasl.startAuth(conn, 'PLAIN', GOOD.PLAIN), false);
  assert.equal(conn.popChannelError()?.[0], 538);
  assert.ok(await conn.close());
  const clear = await connect(plainListener.port);
  assert.ok(await sasl.startAuth(clear, 'PLAIN', GOOD.PLAIN));
  assert.ok(await clear.close());
});

test('SASLprep: a soft hyphen in the user name maps to nothing (RFC 4013)', async () => {
  const conn = await connect(plainListener.port);
  assert.ok(await sasl.startAuth(conn, 'PLAIN', { authId: 'b\u00ADob', password: 'secret' }));
  assert.equal(sasl.authId(conn), 'b\u00ADob');
  assert.equal(seen.at(-1)?.authId, 'bob');
  assert.ok(await conn.close());
});

test('the authorization identity a PLAIN client asks for reaches the handler and, once granted, sasl.authorizationId on both sides', async () => {
  const accepted: Connection[] = [];
  const c = new Ctx();
  sasl.acceptMech(
    c,
    'PLAIN',
    (conn, p) => {
      accepted.push(conn);
      return p.authId === 'bob' && p.password === 'secret' && (p.authorizationId === undefined || p.authorizationId === 'ops');
    },
    { allowPlainInClear: true },
  );
  const l = await createListener(c, '127.0.0.1', 0);
  try {
    const conn = await connect(l.port);
    assert.equal(await sasl.startAuth(conn, 'PLAIN', { ...GOOD.PLAIN, authorizationId: 'root' }), false, 'the handler refuses root');
    conn.popChannelError();
    assert.ok(await sasl.startAuth(conn, 'PLAIN', { ...GOOD.PLAIN, authorizationId: 'ops' }));
    assert.equal(sasl.authId(conn), 'bob');
    assert.equal(sasl.authorizationId(conn), 'ops');
    assert.equal(sasl.authorizationId(accepted.at(-1)!), 'ops');
    assert.equal(sasl.authId(accepted.at(-1)!), 'bob');
    assert.ok(await conn.close());
  } finally {
    await c.exit();
  }
});
