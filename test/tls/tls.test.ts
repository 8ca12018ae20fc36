// TLS tuning profile over loopback: upgrade in place, data after it, serverName-selected
// certificates, a wrong CA, refusal, and handshakes aborted half way on either side.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Ctx, registerProfile, createListener, Connection, tls, type Listener } from '../../src/index.js';
import * as certs from '../../src/tls/certs.js';
import { RawPeer, greetingPayload } from '../session/raw.js';
import { lacks } from '../runtime-limits.js';

const ECHO = 'http://beepwire.test/echo';
let ca: certs.CertPair, other: certs.CertPair, localhost: certs.CertPair, bname: certs.CertPair;
let ctx: Ctx;
let listener: Listener;
let refuseNext = false;

before(async () => {
  ca = certs.generateCa({ commonName: 'beepwire test CA' });
  other = certs.generateCa({ commonName: 'some other CA' });
  localhost = certs.generateLeaf(ca, { commonName: 'localhost', dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'] });
  bname = certs.generateLeaf(ca, { commonName: 'b.example', dnsNames: ['b.example'] });
  ctx = new Ctx();
  registerProfile(ctx, ECHO, {
    frameReceived: (c, ch, f) => {
      if (f.type !== 'MSG') return;
      ch.sendRpy(tls.isEnabled(c) ? `tls:${f.text}` : `clear:${f.text}`, undefined, f.msgNo);
    },
  });
  tls.acceptTls(ctx, {
    acceptHandler: () => {
      const r = !refuseNext;
      refuseNext = false;
      return r;
    },
    certHandler: (_c, serverName) => (serverName === 'b.example' ? bname.cert : localhost.cert),
    keyHandler: (_c, serverName) => (serverName === 'b.example' ? bname.key : localhost.key),
  });
  listener = await createListener(ctx, '127.0.0.1', 0);
});

after(async () => {
  await ctx.exit();
});

async function connect(): Promise<Connection> {
  const conn = await Connection.connect(new Ctx(), '127.0.0.1', listener.port);
  assert.ok(conn.isOk());
  return conn;
}

test('TLS comes up on the same connection; data flows after the tuning reset', async () => {
  const conn = await connect();
  assert.ok(conn.remoteProfiles.includes(tls.TLS_URI), 'listener advertises TLS');
  const before = await conn.openChannel(0, ECHO);
  assert.equal((await before!.request('x')).text, 'clear:x');
  const localPort = conn.localAddress?.port;
  assert.ok(await tls.startTls(conn, { serverName: 'localhost', ca: ca.cert }), String(conn.popChannelError()));
  assert.ok(tls.isEnabled(conn));
  assert.equal(conn.localAddress?.port, localPort, 'same TCP connection');
  assert.equal(conn.channelCount, 0, 'tuning reset closed every channel');
  assert.ok(!conn.remoteProfiles.includes(tls.TLS_URI), 'new greeting no longer offers TLS');
  // Where the runtime exposes no peer certificate the documented answer is undefined.
  assert.equal(tls.peerCertificateDigest(conn), lacks('tls-peer-certificate') ? undefined : certs.fingerprint256(localhost.cert));
  const ch = (await conn.openChannel(0, ECHO))!;
  assert.equal(ch.number, 1, 'channel numbers restart after the reset');
  assert.equal((await ch.request('secret')).text, 'tls:secret');
  const big = new Uint8Array(3 << 20).fill(9);
  assert.equal((await ch.request(big)).payloadSize, big.length + 4, 'a 3 MiB message over TLS, echoed with its tls: prefix');
  assert.ok(await conn.close());
});

test('serverName selects the listener certificate', async () => {
  const conn = await connect();
  assert.ok(await tls.startTls(conn, { serverName: 'b.example', ca: ca.cert }), String(conn.popChannelError()));
  // Without the certificate (Deno), the handshake itself is the proof: it verified b.example.
  assert.equal(tls.peerCertificate(conn)?.subject.CN, lacks('tls-peer-certificate') ? undefined : 'b.example');
  assert.equal(conn.serverName, 'b.example');
  assert.ok(await conn.close());
});

test('a certificate from an untrusted CA is refused: false, error recorded, connection not OK', async () => {
  const conn = await connect();
  assert.equal(await tls.startTls(conn, { serverName: 'localhost', ca: other.cert }), false);
  assert.equal(conn.isOk(), false);
  assert.equal(tls.isEnabled(conn), false);
  const err = conn.popChannelError();
  assert.match(err![1], /certificate|self.signed|verify/i);
});

test('TLS refused by the listener (421): false, code 421, connection not OK', async () => {
  const conn = await connect();
  refuseNext = true;
  assert.equal(await tls.startTls(conn, { serverName: 'localhost', ca: ca.cert }), false);
  assert.equal(conn.popChannelError()?.[0], 421);
  assert.equal(conn.isOk(), false);
});

test('initiator aborts the handshake half way: that listener session ends, others go on', async () => {
  const p = await RawPeer.connect(listener.port);
  await p.waitFor('</greeting>');
  await p.send(p.frame('RPY', 0, 0, greetingPayload()));
  await p.send(
    p.frame(
      'MSG',
      0,
      1,
      `Content-Type: application/beep+xml\r\n\r\n<start number='1'><profile uri='${tls.TLS_URI}'><![CDATA[<ready />]]></profile></start>`,
    ),
  );
  await p.waitFor('<proceed />');
  p.socket.write(Buffer.from([0x16, 0x03, 0x01, 0x00, 0x05, 1, 2])); // a truncated ClientHello ...
  p.socket.end(); // ... and gone
  assert.ok(await p.closedWithin(2000));
  const ok = await connect();
  assert.ok(await tls.startTls(ok, { serverName: 'localhost', ca: ca.cert }));
  assert.ok(await ok.close());
});

test('listener aborts the handshake half way: startTls resolves false and the connection is down', async () => {
  // A fake listener: greets, answers the TLS start with <proceed/>, then drops the connection.
  const server = createServer((s) => {
    const g = greetingPayload([tls.TLS_URI]);
    s.write(`RPY 0 0 . 0 ${g.length}\r\n${g}END\r\n`);
    let seen = '';
    s.on('data', (d) => {
      seen += d.toString('latin1');
      if (seen.includes('</start>')) {
        const r = `Content-Type: application/beep+xml\r\n\r\n<profile uri='${tls.TLS_URI}'><![CDATA[<proceed />]]></profile>`;
        s.write(`RPY 0 1 . ${g.length} ${r.length}\r\n${r}END\r\n`);
        setTimeout(() => s.destroy(), 20);
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const conn = await Connection.connect(new Ctx(), '127.0.0.1', (server.address() as { port: number }).port);
  assert.ok(conn.isOk());
  assert.equal(await tls.startTls(conn, { serverName: 'localhost', ca: ca.cert, timeout: 3000 }), false);
  assert.equal(conn.isOk(), false);
  assert.ok(conn.popChannelError());
  server.close();
});

test('auto-TLS on connect; handlers may return file paths instead of PEM', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'beepwire-tls-'));
  writeFileSync(join(dir, 'test.crt'), localhost.cert);
  writeFileSync(join(dir, 'test.key'), localhost.key);
  writeFileSync(join(dir, 'ca.crt'), ca.cert);
  const pathCtx = new Ctx();
  registerProfile(pathCtx, ECHO, {
    frameReceived: (c, ch, f) => {
      if (f.type === 'MSG') ch.sendRpy(tls.isEnabled(c) ? 'secure' : 'clear', undefined, f.msgNo);
    },
  });
  tls.acceptTls(pathCtx, { certHandler: () => join(dir, 'test.crt'), keyHandler: () => join(dir, 'test.key') });
  const l = await createListener(pathCtx, '127.0.0.1', 0);
  const conn = await tls.connectTls(new Ctx(), '127.0.0.1', l.port, { serverName: 'localhost', ca: join(dir, 'ca.crt') });
  assert.ok(conn.isOk() && tls.isEnabled(conn), String(conn.popChannelError()));
  assert.equal((await (await conn.openChannel(0, ECHO))!.request('?')).text, 'secure');
  assert.ok(await conn.close());
  await pathCtx.exit();
});

test('without serverName the certificate is checked against the host connected to (issue 14: not "localhost")', async () => {
  const dnsOnly = certs.generateLeaf(ca, { commonName: 'localhost', dnsNames: ['localhost'] });
  const ipOnly = certs.generateLeaf(ca, { commonName: 'ip', ipAddresses: ['127.0.0.1'] });
  const serve = async (leaf: certs.CertPair): Promise<{ c: Ctx; port: number }> => {
    const c = new Ctx();
    tls.acceptTls(c, { certHandler: () => leaf.cert, keyHandler: () => leaf.key });
    const l = await createListener(c, '127.0.0.1', 0);
    return { c, port: l.port };
  };
  const a = await serve(dnsOnly);
  const b = await serve(ipOnly);
  try {
    const toA = await Connection.connect(new Ctx(), '127.0.0.1', a.port);
    assert.equal(toA.host, '127.0.0.1', 'the initiator knows the host it asked for');
    assert.equal(toA.port, a.port);
    assert.equal(await tls.startTls(toA, { ca: ca.cert }), false, 'a certificate only for "localhost" is refused at 127.0.0.1');
    const toB = await Connection.connect(new Ctx(), '127.0.0.1', b.port);
    assert.ok(await tls.startTls(toB, { ca: ca.cert }), `a certificate for 127.0.0.1 is accepted: ${String(toB.popChannelError())}`);
    await toB.close();
  } finally {
    await a.c.exit();
    await b.c.exit();
  }
});
