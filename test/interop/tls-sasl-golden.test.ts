// Golden bytes of the TLS and SASL profile exchanges as LibVortex writes and expects them
// (tls/vortex_tls.c compares piggybacks with exact strings "<ready />" and "<proceed />";
// sasl/vortex_sasl.c builds "<blob status='...'>...</blob>" and "<error code='535'>").
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:net';
import { Ctx, createListener, Connection, tls, sasl, type Listener } from '../../src/index.js';
import * as certs from '../../src/tls/certs.js';
import { RawPeer } from '../session/raw.js';

const TLS = 'http://iana.org/beep/TLS';
const PLAIN = 'http://iana.org/beep/SASL/PLAIN';
const MIME = 'Content-Type: application/beep+xml\r\n\r\n';
let ctx: Ctx;
let listener: Listener;

before(async () => {
  const ca = certs.generateCa();
  const leaf = certs.generateLeaf(ca, { commonName: 'localhost' });
  ctx = new Ctx();
  tls.acceptTls(ctx, { certHandler: () => leaf.cert, keyHandler: () => leaf.key });
  sasl.acceptMech(ctx, 'PLAIN', (_c, p) => p.authId === 'bob' && p.password === 'secret', { allowPlainInClear: true });
  listener = await createListener(ctx, '127.0.0.1', 0);
});
after(async () => {
  await ctx.exit();
});

/** Splits received text into frames: [header, payload]. */
function frames(text: string): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  let i = 0;
  while (i < text.length) {
    const nl = text.indexOf('\r\n', i);
    if (nl < 0) break;
    const header = text.slice(i, nl);
    if (header.startsWith('SEQ ')) {
      out.push([header, '']);
      i = nl + 2;
      continue;
    } // no payload, no trailer
    const size = Number(header.split(' ')[5]);
    out.push([header, text.slice(nl + 2, nl + 2 + size)]);
    assert.equal(text.slice(nl + 2 + size, nl + 7 + size), 'END\r\n', 'trailer after the announced size');
    i = nl + 7 + size;
  }
  return out;
}

/** The frame after the greeting: the reply under test. */
function reply(text: string): [string, string] {
  const f = frames(text)[1];
  assert.ok(f, 'a frame after the greeting');
  return f;
}

/**
 * A fake LibVortex listener: greets advertising `uri`, records what arrives, answers the
 * first <start> with `content` piggybacked in LibVortex's reply form, and optionally drops.
 */
async function fakeVortexPeer(
  uri: string,
  content: string,
  dropAfterReply: boolean,
): Promise<{ server: Server; port: number; got: () => string }> {
  let got = '';
  const server = createServer((s) => {
    const g = `${MIME}<greeting>\r\n   <profile uri='${uri}' />\r\n</greeting>\r\n`;
    s.write(`RPY 0 0 . 0 ${g.length}\r\n${g}END\r\n`);
    let replied = false;
    s.on('data', (d) => {
      got += d.toString('latin1');
      if (!replied && got.includes('</start>END\r\n')) {
        replied = true;
        const r = `${MIME}<profile uri='${uri}' ><![CDATA[${content}]]></profile>\r\n`;
        s.write(`RPY 0 1 . ${g.length} ${r.length}\r\n${r}END\r\n`);
        if (dropAfterReply) setTimeout(() => s.destroy(), 50);
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, port: (server.address() as { port: number }).port, got: () => got };
}

/** A raw peer that greeted like LibVortex. */
async function vortexPeer(): Promise<RawPeer> {
  const p = await RawPeer.connect(listener.port);
  await p.waitFor('</greeting>');
  await p.send(p.frame('RPY', 0, 0, `${MIME}<greeting>\r\n</greeting>\r\n`));
  return p;
}

test('TLS: LibVortex start with "<ready />" gets exactly "<proceed />" piggybacked', async () => {
  const p = await vortexPeer();
  const start = `${MIME}<start number='1'>\r\n   <profile uri='${TLS}'><![CDATA[<ready />]]></profile>\r\n</start>\r\n`;
  await p.send(p.frame('MSG', 0, 1, start));
  await p.waitFor('</profile>END\r\n');
  const [header, payload] = reply(p.received);
  assert.match(header, /^RPY 0 1 \. \d+ \d+$/);
  assert.equal(payload, `${MIME}<profile uri='${TLS}'><![CDATA[<proceed />]]></profile>`);
  p.socket.destroy();
});

test('TLS: our client sends exactly "<ready />" and accepts LibVortex\'s reply form', async () => {
  // vortex_frame_get_start_rpy_message: "<profile uri='%s' ><![CDATA[%s]]></profile>\r\n"
  const fake = await fakeVortexPeer(TLS, '<proceed />', true);
  const conn = await Connection.connect(new Ctx(), '127.0.0.1', fake.port);
  const ok = await tls.startTls(conn, { serverName: 'localhost', timeout: 2000 });
  assert.equal(ok, false, 'the fake peer never speaks TLS');
  const err = conn.popChannelError()!;
  // Our own complaints about the reply ("TLS profile: unexpected <x>", "expected <proceed />",
  // malformed XML), not a runtime's "unexpected end of file" (Deno's word for the dropped handshake).
  assert.doesNotMatch(
    err[1],
    /TLS profile:|proceed|malformed|\bexpected\b/,
    'the proceed reply was understood; the handshake is what failed',
  );
  assert.match(err[1], /TLS|closed|socket|reset|SSL|end of file/i);
  const start = frames(fake.got()).find(([h]) => h.startsWith('MSG 0 1 '))!;
  assert.equal(start[1], `${MIME}<start number='1' serverName='localhost'><profile uri='${TLS}'><![CDATA[<ready />]]></profile></start>`);
  assert.ok(!/SEQ 1 /.test(fake.got()), 'no window raise on the tuning channel before TLS');
  fake.server.close();
});

test('SASL PLAIN: LibVortex piggyback "<blob>..</blob>" answered with "<blob status=\'complete\' />"', async () => {
  const p = await vortexPeer();
  const blob = Buffer.from('\0bob\0secret').toString('base64');
  await p.send(
    p.frame(
      'MSG',
      0,
      1,
      `${MIME}<start number='1'>\r\n   <profile uri='${PLAIN}'><![CDATA[<blob>${blob}</blob>]]></profile>\r\n</start>\r\n`,
    ),
  );
  await p.waitFor('</profile>END\r\n');
  const [, payload] = reply(p.received);
  assert.equal(payload, `${MIME}<profile uri='${PLAIN}'><![CDATA[<blob status='complete' />]]></profile>`);
  p.socket.destroy();
});

test('SASL PLAIN: a bad password is refused with "<error code=\'535\'>"', async () => {
  const p = await vortexPeer();
  const blob = Buffer.from('\0bob\0nope').toString('base64');
  await p.send(
    p.frame(
      'MSG',
      0,
      1,
      `${MIME}<start number='1'>\r\n   <profile uri='${PLAIN}'><![CDATA[<blob>${blob}</blob>]]></profile>\r\n</start>\r\n`,
    ),
  );
  await p.waitFor('</error>END\r\n');
  const [header, payload] = reply(p.received);
  assert.match(header, /^ERR 0 1 \. /);
  assert.equal(payload, `${MIME}<error code='535'>authentication failed</error>`);
  p.socket.destroy();
});

test('SASL: our client piggybacks "<blob>base64</blob>" as LibVortex does and accepts its complete blob', async () => {
  const fake = await fakeVortexPeer(PLAIN, "<blob status='complete' />", false);
  const conn = await Connection.connect(new Ctx(), '127.0.0.1', fake.port);
  const done = sasl.startAuth(conn, 'PLAIN', { authId: 'bob', password: 'secret' });
  // The client closes the SASL channel after success; answer that close like LibVortex.
  const t0 = Date.now();
  while (!fake.got().includes("<close number='1'") && Date.now() - t0 < 3000) await new Promise((r) => setTimeout(r, 5));
  assert.ok(sasl.isAuthenticated(conn));
  const start = frames(fake.got()).find(([h]) => h.startsWith('MSG 0 1 '))!;
  assert.equal(
    start[1],
    `${MIME}<start number='1'><profile uri='${PLAIN}'><![CDATA[<blob>${Buffer.from('\0bob\0secret').toString('base64')}</blob>]]></profile></start>`,
  );
  conn.shutdown();
  await done;
  fake.server.close();
});
