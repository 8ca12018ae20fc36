// Hostile peers on the tuning and RPC profiles: TLS (<ready/> glued to a malformed frame, a
// handshake that never comes or is garbage, invalid UTF-8 in <ready>), a TUNNEL endpoint whose
// peer resets TCP, and XML-RPC (a 14 MB call, DOCTYPE, invalid UTF-8).
import { before, after } from 'node:test';
import assert from 'node:assert/strict';
import { tls, tunnel, xmlrpc } from '../../src/index.js';
import * as certs from '../../src/tls/certs.js';
import {
  KiB,
  MiB,
  Peer,
  assertEnded,
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

const TLS = 'http://iana.org/beep/TLS';
const XML = 'Content-Type: application/beep+xml\r\n\r\n';
const BAD = Buffer.from([0xff, 0xfe, 0xc3, 0x28, 0xed, 0xa0, 0x80]);
let s: Server;

before(async () => {
  const ca = certs.generateCa();
  const leaf = certs.generateLeaf(ca, { commonName: 'localhost', dnsNames: ['localhost'] });
  s = await startServer(
    (ctx) => {
      // tlsHandshakeTimeout is given as a context option (contract) and, in case the TLS module takes it there, to acceptTls too.
      tls.acceptTls(ctx, { certHandler: () => leaf.cert, keyHandler: () => leaf.key, tlsHandshakeTimeout: 300 } as tls.AcceptTlsHandlers);
      tunnel.acceptTunnel(ctx);
      xmlrpc.acceptXmlRpc(ctx, { methods: { echo: (params) => params[0] ?? null } });
    },
    { tlsHandshakeTimeout: 300 },
  );
});
after(async () => {
  await s.close();
});
const S = (): Server => s;

async function greeted(): Promise<Peer> {
  const p = await Peer.connect(s.port);
  await p.greet();
  return p;
}

// ---- TLS ---------------------------------------------------------------------------------

hostile(S, 'TLS: MSG <ready/> followed by a malformed frame in the same write -> dropped, BEEP_ERR_FRAMING', async () => {
  const p = await greeted();
  assert.equal(await p.start(1, TLS), 'RPY');
  await p.write(Buffer.concat([p.frame('MSG', 1, 0, `${XML}<ready />`), Buffer.from('GARBAGE 1 2 3\r\nEND\r\n')]));
  await assertEnded(s, p, 2000, 'BEEP_ERR_FRAMING');
});

hostile(S, 'TLS: piggybacked <ready/> followed by a malformed frame in the same write -> dropped', async () => {
  const p = await greeted();
  await p.write(
    Buffer.concat([p.mgmt(`<start number='1'><profile uri='${TLS}'><![CDATA[<ready />]]></profile></start>`), Buffer.from('GARBAGE\r\n')]),
  );
  await assertEnded(s, p, 2000);
});

hostile(S, 'TLS: invalid UTF-8 inside <ready> (as a MSG) -> answered or dropped within 2 s, no fault', async () => {
  const p = await greeted();
  assert.equal(await p.start(1, TLS), 'RPY');
  await p.write(p.frame('MSG', 1, 0, Buffer.concat([Buffer.from(`${XML}<ready>`), BAD, Buffer.from('</ready>')])));
  for (let i = 0; i < 400 && !p.isClosed && !/(RPY|ERR) 1 0 /.test(p.text); i++) await sleep(5);
  assert.ok(p.isClosed || /(RPY|ERR) 1 0 /.test(p.text), 'neither answered nor dropped');
  p.destroy();
});

hostile(S, 'TLS: invalid UTF-8 in a piggybacked <ready> -> answered or dropped within 2 s, no fault', async () => {
  const p = await greeted();
  await p.write(
    p.mgmt(
      Buffer.concat([
        Buffer.from(`<start number='1'><profile uri='${TLS}'><![CDATA[<ready foo='`),
        BAD,
        Buffer.from(`' />]]></profile></start>`),
      ]),
    ),
  );
  for (let i = 0; i < 400 && !p.isClosed && !/(RPY|ERR) 0 1 /.test(p.text); i++) await sleep(5);
  assert.ok(p.isClosed || /(RPY|ERR) 0 1 /.test(p.text), 'neither answered nor dropped');
  p.destroy();
});

hostile(
  S,
  'TLS: handshake stalls after <proceed/> -> dropped after tlsHandshakeTimeout 300 ms (within 2 s), BEEP_ERR_TIMEOUT',
  async () => {
    const p = await greeted();
    await p.write(p.mgmt(`<start number='1'><profile uri='${TLS}'><![CDATA[<ready />]]></profile></start>`));
    await p.waitFor('proceed');
    await assertEnded(s, p, 2000, 'BEEP_ERR_TIMEOUT');
  },
);

hostile(S, 'TLS: garbage instead of a ClientHello after <proceed/> -> dropped within 2 s', async () => {
  const p = await greeted();
  await p.write(p.mgmt(`<start number='1'><profile uri='${TLS}'><![CDATA[<ready />]]></profile></start>`));
  await p.waitFor('proceed');
  await p.write(Buffer.alloc(4096, 0x41));
  await assertEnded(s, p, 2000);
});

// ---- TUNNEL ------------------------------------------------------------------------------

hostile(S, 'TUNNEL: endpoint session (<tunnel/>) whose peer then resets TCP -> no fault, onClose fires within 2 s', async () => {
  const p = await greeted();
  await p.write(p.mgmt(`<start number='1'><profile uri='${tunnel.TUNNEL_URI}'><![CDATA[<tunnel />]]></profile></start>`));
  await p.waitFor('<ok');
  const a = await s.sessionOf(p);
  await sleep(20);
  p.reset();
  await within(2000, 'listener onClose after the reset', a.ended);
});

hostile(S, 'TUNNEL: peer resets TCP while its <tunnel/> start is being answered -> no fault, onClose fires', async () => {
  const p = await greeted();
  await p.write(p.mgmt(`<start number='1'><profile uri='${tunnel.TUNNEL_URI}'><![CDATA[<tunnel />]]></profile></start>`));
  p.reset();
  const a = await s.sessionOf(p);
  await within(2000, 'listener onClose after the reset', a.ended);
});

hostile(S, 'TUNNEL: endpoint peer sends garbage instead of a greeting through the tunnel -> dropped', async () => {
  const p = await greeted();
  await p.write(p.mgmt(`<start number='1'><profile uri='${tunnel.TUNNEL_URI}'><![CDATA[<tunnel />]]></profile></start>`));
  await p.waitFor('<ok');
  await p.write('NOT BEEP AT ALL\r\n');
  await assertEnded(s, p, 2000);
});

// ---- XML-RPC -----------------------------------------------------------------------------

async function booted(): Promise<Peer> {
  const p = await greeted();
  assert.equal(await p.start(1, xmlrpc.XMLRPC_URI, `<bootmsg resource='/' />`), 'RPY');
  assert.match(p.text, /bootrpy/);
  return p;
}
const CALL_HEAD = `Content-Type: text/xml\r\n\r\n<?xml version="1.0"?><methodCall><methodName>echo</methodName><params><param><value><string>`;

hostile(
  S,
  'XML-RPC: a 14 MB methodCall streamed as 16 KiB frames (<= 5 s) is cut off before the listener buffers > 1 MiB',
  async (t) => {
    const base = memNow();
    const p = await booted();
    const a = await s.sessionOf(p);
    const piece = Buffer.alloc(16 * KiB, 'x');
    let sent = 0,
      peak = 0;
    const deadline = Date.now() + 5000;
    await p.write(p.frame('MSG', 1, 0, CALL_HEAD, '*'));
    while (sent < 14 * 1000 * 1000 && !p.isClosed && Date.now() < deadline && !/(RPY|ERR) 1 0 /.test(p.text)) {
      if (!(await p.write(p.frame('MSG', 1, 0, piece, '*')))) break;
      sent += piece.length;
      peak = Math.max(peak, buffered(a.conn));
    }
    if (!p.isClosed) await p.write(p.frame('MSG', 1, 0, '</string></value></param></params></methodCall>'));
    for (let i = 0; i < 100 && !p.isClosed && !/(RPY|ERR) 1 0 /.test(p.text); i++) {
      peak = Math.max(peak, buffered(a.conn));
      await sleep(10);
    }
    const h = held(base);
    const outcome = p.isClosed
      ? `closed (${(a.err as { code?: string } | undefined)?.code})`
      : /ERR 1 0 /.test(p.text)
        ? 'ERR'
        : /RPY 1 0 /.test(p.text)
          ? 'RPY (answered in full)'
          : 'still open';
    t.diagnostic(
      `sent ${(sent / MiB).toFixed(1)} MiB, listener peak buffered ${(peak / MiB).toFixed(2)} MiB, outcome ${outcome}; ${h.text}`,
    );
    p.destroy();
    assert.ok(peak <= MiB + 64 * KiB, `the listener buffered ${(peak / MiB).toFixed(1)} MiB of one XML-RPC call`);
    assert.ok(outcome.startsWith('closed') || outcome === 'ERR', `outcome ${outcome}: the call was neither refused nor the session ended`);
  },
  20_000,
);

hostile(S, 'XML-RPC: methodCall with a DOCTYPE (billion laughs) -> fault or ERR, holds < 16 MiB', async () => {
  const base = memNow();
  const p = await booted();
  const bomb = `<!DOCTYPE m [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;"><!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;"><!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;"><!ENTITY e "&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;"><!ENTITY f "&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;"><!ENTITY g "&f;&f;&f;&f;&f;&f;&f;&f;&f;&f;">]>`;
  await p.write(
    p.frame(
      'MSG',
      1,
      0,
      `Content-Type: text/xml\r\n\r\n${bomb}<methodCall><methodName>echo</methodName><params><param><value><string>&g;</string></value></param></params></methodCall>`,
    ),
  );
  const r = await p.reply(1, 0, 2000);
  assert.ok(r.kw === 'ERR' || /faultCode/.test(r.payload), `reply ${r.kw} ${r.payload.slice(0, 200)}`);
  const h = held(base);
  assert.ok(h.held < 16 * MiB, h.text);
  p.destroy();
});

hostile(S, 'XML-RPC: invalid UTF-8 in a methodCall string -> answered (value or fault), no fault', async () => {
  const p = await booted();
  await p.write(
    p.frame('MSG', 1, 0, Buffer.concat([Buffer.from(CALL_HEAD), BAD, Buffer.from('</string></value></param></params></methodCall>')])),
  );
  const r = await p.reply(1, 0, 2000);
  assert.match(r.kw, /RPY|ERR/);
  p.destroy();
});

hostile(S, 'XML-RPC: invalid UTF-8 in a piggybacked <bootmsg> -> answered or dropped, no fault', async () => {
  const p = await greeted();
  await p.write(
    p.mgmt(
      Buffer.concat([
        Buffer.from(`<start number='1'><profile uri='${xmlrpc.XMLRPC_URI}'><![CDATA[<bootmsg resource='`),
        BAD,
        Buffer.from(`' />]]></profile></start>`),
      ]),
    ),
  );
  for (let i = 0; i < 400 && !p.isClosed && !/(RPY|ERR) 0 1 /.test(p.text); i++) await sleep(5);
  assert.ok(p.isClosed || /(RPY|ERR) 0 1 /.test(p.text), 'neither answered nor dropped');
  p.destroy();
});
