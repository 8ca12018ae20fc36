// tls.verifyCert (PyVortex vortex.tls.verify_cert): the verification result the transport
// reports in TlsInfo, on the initiator side (verified, or not with rejectUnauthorized false) and
// on a listener that asks for client certificates.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Ctx, createListener, Connection, tls, sasl, type Listener } from '../../src/index.js';
import * as certs from '../../src/tls/certs.js';
import { testNeeding } from '../runtime-limits.js';

let ca: certs.CertPair, other: certs.CertPair, leaf: certs.CertPair, client: certs.CertPair, stranger: certs.CertPair;
let ctx: Ctx;
let listener: Listener;
const accepted: Connection[] = [];

before(async () => {
  ca = certs.generateCa({ commonName: 'verify CA' });
  other = certs.generateCa({ commonName: 'not trusted CA' });
  leaf = certs.generateLeaf(ca, { commonName: 'localhost', dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'] });
  client = certs.generateLeaf(ca, { commonName: 'client one' });
  stranger = certs.generateLeaf(other, { commonName: 'client two' });
  ctx = new Ctx();
  // The listener asks for client certificates (caHandler) but does not require them.
  tls.acceptTls(ctx, { certHandler: () => leaf.cert, keyHandler: () => leaf.key, caHandler: () => ca.cert });
  sasl.acceptMech(ctx, 'EXTERNAL', (_c, p) => p.authId === 'client one' || p.authId === 'client two');
  listener = await createListener(ctx, '127.0.0.1', 0, { onAccept: (c) => accepted.push(c) });
});

after(async () => {
  await ctx.exit();
});

/** Connects, starts TLS with `opts`, and returns both ends once the listener's side is up. */
async function secured(opts: tls.StartTlsOptions): Promise<[Connection, Connection]> {
  const n = accepted.length;
  const conn = await Connection.connect(new Ctx(), '127.0.0.1', listener.port);
  assert.equal(tls.verifyCert(conn), false, 'no TLS yet');
  assert.ok(await tls.startTls(conn, opts), String(conn.popChannelError()));
  const theirs = accepted[n]!;
  await theirs.ready;
  assert.ok(tls.isEnabled(theirs));
  return [conn, theirs];
}

test('a certificate signed by a trusted CA: verifyCert true, no verifyError', async () => {
  const [conn] = await secured({ ca: ca.cert });
  assert.equal(tls.verifyCert(conn), true);
  assert.equal(conn.tls?.verifyError, undefined);
  assert.ok(await conn.close());
});

testNeeding(
  'tls-unverified',
  'rejectUnauthorized false and an untrusted certificate: TLS is up, verifyCert false, with the reason',
  async () => {
    const [conn] = await secured({ ca: other.cert, rejectUnauthorized: false });
    assert.ok(tls.isEnabled(conn));
    assert.equal(tls.verifyCert(conn), false);
    assert.match(conn.tls?.verifyError ?? '', /SELF_SIGNED_CERT_IN_CHAIN|UNABLE_TO_VERIFY_LEAF_SIGNATURE|self.signed|unable to verify/i);
    assert.ok(await conn.close());
  },
);

testNeeding('tls-unverified', 'rejectUnauthorized false and a trusted certificate for another name: verifyCert false', async () => {
  const [conn] = await secured({ ca: ca.cert, serverName: 'elsewhere.example', rejectUnauthorized: false });
  assert.equal(tls.verifyCert(conn), false);
  assert.match(conn.tls?.verifyError ?? '', /ALTNAME|elsewhere\.example/i);
  assert.ok(await conn.close());
});

test('listener side: no client certificate sent, verifyCert false', async () => {
  const [conn, theirs] = await secured({ ca: ca.cert });
  assert.equal(tls.verifyCert(theirs), false);
  assert.equal(theirs.tls?.verifyError, 'the peer sent no certificate');
  assert.ok(await conn.close());
});

testNeeding('tls-client-certificate', 'listener side: a client certificate its CA signs, verifyCert true', async () => {
  const [conn, theirs] = await secured({ ca: ca.cert, cert: client.cert, key: client.key });
  assert.equal(tls.verifyCert(theirs), true);
  assert.equal(tls.peerCertificate(theirs)?.subject.CN, 'client one');
  assert.ok(await conn.close());
});

testNeeding('tls-client-certificate', 'listener side: a client certificate from another CA, verifyCert false with the reason', async () => {
  const [conn, theirs] = await secured({ ca: ca.cert, cert: stranger.cert, key: stranger.key });
  assert.equal(tls.verifyCert(theirs), false);
  assert.match(theirs.tls?.verifyError ?? '', /UNABLE_TO_VERIFY_LEAF_SIGNATURE|unable to verify/i);
  assert.ok(await conn.close());
});

testNeeding('tls-client-certificate', 'SASL EXTERNAL takes its identity from a verified client certificate only', async () => {
  const [good, theirs] = await secured({ ca: ca.cert, cert: client.cert, key: client.key });
  assert.ok(await sasl.startAuth(good, 'EXTERNAL', {}), String(good.popChannelError()));
  assert.equal(sasl.authId(theirs), 'client one');
  assert.ok(await good.close());
  // The handler would accept 'client two': the unverified certificate must never reach it.
  const [bad, theirs2] = await secured({ ca: ca.cert, cert: stranger.cert, key: stranger.key });
  assert.equal(await sasl.startAuth(bad, 'EXTERNAL', {}), false);
  assert.equal(bad.popChannelError()?.[0], 538, 'no external identity on this session');
  assert.equal(sasl.isAuthenticated(theirs2), false);
  assert.ok(await bad.close());
});
