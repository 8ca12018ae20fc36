// SASL EXTERNAL against a client that holds a certificate of the trusted CA but wants another
// identity: a certificate it signs itself with its own leaf's key (a leaf is no CA), and a
// certificate of the right CA made for servers only (extKeyUsage serverAuth). Neither may
// verify, so neither may name anyone to the EXTERNAL handler.
import { before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Ctx, createListener, Connection, tls, sasl, type Listener } from '../../src/index.js';
import * as certs from '../../src/tls/certs.js';
import { testNeeding } from '../runtime-limits.js';

let ca: certs.CertPair, leaf: certs.CertPair, mallory: certs.CertPair;
let ctx: Ctx;
let listener: Listener;
const accepted: Connection[] = [];
const asked: string[] = [];

before(async () => {
  ca = certs.generateCa({ commonName: 'external CA' });
  leaf = certs.generateLeaf(ca, { commonName: 'localhost', dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'] });
  mallory = certs.generateLeaf(ca, { commonName: 'mallory' });
  ctx = new Ctx();
  tls.acceptTls(ctx, { certHandler: () => leaf.cert, keyHandler: () => leaf.key, caHandler: () => ca.cert });
  sasl.acceptMech(ctx, 'EXTERNAL', (_c, p) => {
    asked.push(p.authId ?? '');
    return true; // the handler trusts whatever identity the certificate check vouches for
  });
  listener = await createListener(ctx, '127.0.0.1', 0, { onAccept: (c) => accepted.push(c) });
});

after(async () => {
  await ctx.exit();
});

/** TLS with `pair` as the client certificate (its PEM may carry a chain), then EXTERNAL; the listener's side. */
async function externalWith(pair: certs.CertPair): Promise<{ ok: boolean; code?: number; theirs: Connection }> {
  const n = accepted.length;
  const conn = await Connection.connect(new Ctx(), '127.0.0.1', listener.port);
  assert.ok(await tls.startTls(conn, { ca: ca.cert, cert: pair.cert, key: pair.key }), String(conn.popChannelError()));
  const theirs = accepted[n]!;
  await theirs.ready;
  const ok = await sasl.startAuth(conn, 'EXTERNAL', {});
  const code = ok ? undefined : conn.popChannelError()?.[0];
  await conn.close();
  return code === undefined ? { ok, theirs } : { ok, code, theirs };
}

testNeeding('tls-client-certificate', 'control: the trusted client certificate authenticates as its CN', async () => {
  const r = await externalWith(mallory);
  assert.ok(r.ok);
  assert.equal(sasl.authId(r.theirs), 'mallory');
});

testNeeding(
  'tls-client-certificate',
  "a certificate for 'admin' signed with a trusted leaf's key (chain sent) is not verified",
  async () => {
    const forged = certs.generateLeaf(mallory, { commonName: 'admin' });
    const from = asked.length;
    const r = await externalWith({ cert: `${forged.cert}${mallory.cert}`, key: forged.key });
    assert.equal(tls.verifyCert(r.theirs), false, 'a leaf (basicConstraints CA:false) signs nothing');
    assert.equal(tls.peerCertificate(r.theirs)?.subject.CN, 'admin', 'the certificate did arrive');
    assert.deepEqual([r.ok, r.code], [false, 538]);
    assert.deepEqual(asked.slice(from), [], 'the handler never heard of admin');
    assert.equal(sasl.isAuthenticated(r.theirs), false);
  },
);

testNeeding('tls-client-certificate', 'a certificate of the trusted CA for servers only (no clientAuth) is not verified', async () => {
  const serverOnly = certs.generateLeaf(ca, { commonName: 'admin' }, false);
  const from = asked.length;
  const r = await externalWith(serverOnly);
  assert.equal(tls.verifyCert(r.theirs), false, r.theirs.tls?.verifyError);
  assert.match(r.theirs.tls?.verifyError ?? '', /PURPOSE|purpose/);
  assert.deepEqual([r.ok, r.code], [false, 538]);
  assert.deepEqual(asked.slice(from), []);
});
