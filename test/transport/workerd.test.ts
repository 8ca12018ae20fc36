// The workerd adapter (src/transport/workerd.ts) against a stand-in for cloudflare:sockets that
// behaves as workerd 1.20261117.1 was measured to (docs/tls-sasl.md "TLS under workerd"): startTls()
// verifies against a trust store fixed outside the Worker (the network service's
// tlsOptions.trustedCertificates), checks the name given to connect() or expectedServerHostname,
// refuses to start while a stream is still locked, and rejects `opened` on a failed handshake
// with an opaque "internal error; reference = ...". A real BEEP listener (node:tls) is the peer.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import nodeTls from 'node:tls';
import { Ctx, Connection, registerProfile, createListener, tls, workerdTransport, type Listener } from '../../src/index.js';
import * as certs from '../../src/tls/certs.js';
import { isIpAddress } from '../../src/util/ip.js';

const ECHO = 'urn:beepwire:test:echo';
let ca: certs.CertPair, other: certs.CertPair;
let ctx: Ctx;
let listener: Listener;

before(() => {
  ca = certs.generateCa({ commonName: 'workerd test CA' });
  other = certs.generateCa({ commonName: 'not the listener CA' });
  const leaf = certs.generateLeaf(ca, { commonName: '127.0.0.1', dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'] });
  ctx = new Ctx();
  registerProfile(ctx, ECHO, {
    frameReceived: (c, ch, f) => {
      if (f.type === 'MSG') ch.sendRpy(`${tls.isEnabled(c) ? 'tls' : 'clear'}:${f.text}`, undefined, f.msgNo);
    },
  });
  tls.acceptTls(ctx, { certHandler: () => leaf.cert, keyHandler: () => leaf.key });
  return createListener(ctx, '127.0.0.1', 0).then((l) => {
    listener = l;
  });
});

after(async () => {
  await ctx.exit();
});

interface FakeOpts {
  /** The network service's trustedCertificates. */
  trusted: string[];
  /** Throw on expectedServerHostname, as Cloudflare's runtime may. */
  refuseExpectedName?: boolean;
  /** startTls options seen. */
  calls?: ({ expectedServerHostname?: string } | undefined)[];
}

/** Web Streams over a node socket; `detach()` stops reading (the socket is handed to TLS). */
function streams(sock: net.Socket | nodeTls.TLSSocket): {
  readable: ReadableStream<Uint8Array>;
  writable: WritableStream<Uint8Array>;
  detach: () => void;
} {
  let onData: ((d: Buffer) => void) | undefined;
  const readable = new ReadableStream<Uint8Array>({
    start(c) {
      onData = (d) => c.enqueue(new Uint8Array(d));
      sock.on('data', onData);
      sock.once('end', () => {
        try {
          c.close();
        } catch {
          /* detached */
        }
      });
      sock.once('error', (e) => {
        try {
          c.error(e);
        } catch {
          /* detached */
        }
      });
    },
  });
  const writable = new WritableStream<Uint8Array>({
    write: (chunk) => new Promise<void>((res, rej) => sock.write(chunk, (e) => (e ? rej(e) : res()))),
    close: () => new Promise<void>((res) => sock.end(res)),
  });
  return {
    readable,
    writable,
    detach: () => {
      if (onData) sock.off('data', onData);
      sock.pause();
    },
  };
}

/** cloudflare:sockets' connect as workerd behaves, on node:net and node:tls. */
function fakeConnect(o: FakeOpts) {
  return (addr: { hostname: string; port: number }, opts: { secureTransport: string }) => {
    assert.equal(opts.secureTransport, 'starttls');
    const raw = net.connect(addr.port, addr.hostname);
    const s = streams(raw);
    const opened = new Promise<{ remoteAddress?: string }>((res, rej) => {
      raw.once('connect', () => res({}));
      raw.once('error', rej);
    });
    return {
      readable: s.readable,
      writable: s.writable,
      opened,
      close: async () => {
        raw.destroy();
      },
      startTls(options?: { expectedServerHostname?: string }) {
        o.calls?.push(options);
        if (options?.expectedServerHostname !== undefined && o.refuseExpectedName)
          throw new TypeError('The expectedServerHostname option is not currently supported in startTls.');
        // workerd waits for both locks to go; a locked stream here would be a hang there.
        assert.equal(s.readable.locked || s.writable.locked, false, 'streams released before startTls');
        s.detach();
        const name = options?.expectedServerHostname ?? addr.hostname;
        const sec = nodeTls.connect({
          socket: raw,
          ca: o.trusted,
          ...(isIpAddress(name) ? { host: name } : { servername: name }),
          checkServerIdentity: (_h, cert) => nodeTls.checkServerIdentity(name, cert),
        });
        const t = streams(sec);
        const tlsOpened = new Promise<{ remoteAddress?: string }>((res, rej) => {
          sec.once('secureConnect', () => res({}));
          sec.once('error', () => rej(new Error('internal error; reference = fake0000')));
        });
        return {
          readable: t.readable,
          writable: t.writable,
          opened: tlsOpened,
          close: async () => {
            sec.destroy();
          },
          startTls: () => {
            throw new TypeError('Cannot startTls on a TLS socket.');
          },
        };
      },
    };
  };
}

async function open(o: FakeOpts, host = '127.0.0.1'): Promise<Connection> {
  const conn = await Connection.connect(new Ctx(), host, listener.port, { transport: workerdTransport(fakeConnect(o)) });
  assert.ok(conn.isOk(), JSON.stringify(conn.popChannelError()));
  return conn;
}

test('workerd: startTls verifies against the configured CA; data flows over TLS after plaintext BEEP', async () => {
  const calls: FakeOpts['calls'] = [];
  const conn = await open({ trusted: [ca.cert], calls });
  const clear = (await conn.openChannel(0, ECHO))!;
  assert.equal((await clear.request('a')).text, 'clear:a');
  assert.equal(await tls.startTls(conn), true, JSON.stringify(conn.popChannelError()));
  assert.deepEqual(calls, [undefined], 'no expectedServerHostname when the name is the host connected to');
  const ch = (await conn.openChannel(0, ECHO))!;
  assert.equal((await ch.request('b')).text, 'tls:b');
  await conn.close();
});

test('workerd: a certificate that does not chain to the configured CA fails, and the error says where to look', async () => {
  const conn = await open({ trusted: [other.cert] });
  assert.equal(await tls.startTls(conn), false);
  const err = conn.popChannelError();
  assert.ok(
    err !== null && /failed under workerd/.test(err[1]) && /trustedCertificates/.test(err[1]) && /UnknownIssuer/.test(err[1]),
    JSON.stringify(err),
  );
  assert.equal(conn.isOk(), false);
});

test("workerd: ca/cert/key or rejectUnauthorized:false are refused (the trust store is workerd's)", async () => {
  const conn = await open({ trusted: [ca.cert] });
  assert.equal(await tls.startTls(conn, { ca: ca.cert }), false);
  assert.match(conn.popChannelError()?.[1] ?? '', /configure trusted certificates in workerd/);
});

test('workerd: a serverName other than the host goes as expectedServerHostname and is verified', async () => {
  const calls: FakeOpts['calls'] = [];
  const conn = await open({ trusted: [ca.cert], calls });
  assert.equal(await tls.startTls(conn, { serverName: 'localhost' }), true, JSON.stringify(conn.popChannelError()));
  assert.deepEqual(calls, [{ expectedServerHostname: 'localhost' }]);
  await conn.close();
  const wrong = await open({ trusted: [ca.cert] });
  assert.equal(await tls.startTls(wrong, { serverName: 'b.example' }), false);
  assert.match(wrong.popChannelError()?.[1] ?? '', /does not carry b\.example/);
});

test('workerd: a runtime that refuses expectedServerHostname fails the upgrade with the reason', async () => {
  const conn = await open({ trusted: [ca.cert], refuseExpectedName: true });
  assert.equal(await tls.startTls(conn, { serverName: 'localhost' }), false);
  const err = conn.popChannelError();
  assert.ok(err !== null && /serverName localhost/.test(err[1]) && /not currently supported/.test(err[1]), JSON.stringify(err));
});
