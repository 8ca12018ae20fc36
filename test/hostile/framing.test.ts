// Hostile input at the framing and channel-0 level: malformed frames, oversized and endless
// headers (slowloris), giant claims and blobs, XML bombs, invalid UTF-8 in channel-0 text.
// Every case: the process survives, the bystander still echoes, the attacker is dropped (with
// its listener-side error code where the outcome is specified).
import { before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  ECHO,
  KiB,
  MiB,
  Peer,
  assertEnded,
  hostile,
  installFaultRecorders,
  memNow,
  held,
  sleep,
  startServer,
  type Server,
} from './harness.js';

installFaultRecorders();

let s: Server;
before(async () => {
  s = await startServer(() => {}, { maxHeader: 128 });
});
after(async () => {
  await s.close();
});
const S = (): Server => s;

/** Connects, greets, optionally starts channel 1 on the echo profile. */
async function attacker(startEcho = false): Promise<Peer> {
  const p = await Peer.connect(s.port);
  await p.greet();
  if (startEcho) assert.equal(await p.start(1, ECHO), 'RPY');
  return p;
}

/** Waits (2 s) until channel-0 MSG `msgno` is answered or the session is dropped. */
async function answeredOrDropped(p: Peer, msgno: number): Promise<'RPY' | 'ERR' | 'dropped'> {
  const re = new RegExp(`(RPY|ERR) 0 ${msgno} `);
  for (let i = 0; i < 400; i++) {
    const m = re.exec(p.text);
    if (m) return m[1] as 'RPY' | 'ERR';
    if (p.isClosed) return 'dropped';
    await sleep(5);
  }
  throw new Error(`channel-0 MSG ${msgno} neither answered nor the session dropped within 2 s`);
}

const FRAMING = 'BEEP_ERR_FRAMING';

hostile(S, 'malformed: unknown keyword -> dropped, BEEP_ERR_FRAMING', async () => {
  const p = await attacker();
  await p.write('FOO 0 1 . 0 0\r\nEND\r\n');
  await assertEnded(s, p, 2000, FRAMING);
});

hostile(S, 'malformed: negative size and non-digit fields -> dropped, BEEP_ERR_FRAMING', async () => {
  const p = await attacker(true);
  await p.write('MSG 1 0 . 0 -5\r\nEND\r\n');
  await assertEnded(s, p, 2000, FRAMING);
});

hostile(S, 'malformed: wrong trailer (ENX) -> dropped, BEEP_ERR_FRAMING', async () => {
  const p = await attacker(true);
  await p.write(Buffer.from(p.frame('MSG', 1, 0, 'abc').toString('latin1').replace('END', 'ENX'), 'latin1'));
  await assertEnded(s, p, 2000, FRAMING);
});

hostile(S, 'malformed: trailer missing, next header glued to the payload -> dropped, BEEP_ERR_FRAMING', async () => {
  const p = await attacker(true);
  await p.write('MSG 1 0 . 0 3\r\nabcMSG 1 1 . 3 3\r\nabcEND\r\n');
  await assertEnded(s, p, 2000, FRAMING);
});

hostile(S, 'malformed: seqno mismatch -> dropped, BEEP_ERR_FRAMING', async () => {
  const p = await attacker(true);
  await p.write('MSG 1 0 . 99 1\r\nxEND\r\n');
  await assertEnded(s, p, 2000, FRAMING);
});

hostile(S, 'malformed: data frame before the greeting -> dropped, BEEP_ERR_FRAMING', async () => {
  const p = await Peer.connect(s.port);
  await p.write('MSG 0 1 . 0 0\r\nEND\r\n');
  await assertEnded(s, p, 2000, FRAMING);
});

hostile(S, 'malformed: oversized header (2000 octets, no CRLF) -> dropped, BEEP_ERR_FRAMING', async () => {
  const p = await attacker();
  await p.write(`MSG ${'0'.repeat(2000)}`);
  await assertEnded(s, p, 2000, FRAMING);
});

hostile(S, 'slowloris: 1 octet per 10 ms, header never ends -> dropped at maxHeader 128 within 4 s, BEEP_ERR_FRAMING', async () => {
  const p = await attacker();
  const deadline = Date.now() + 4000;
  const bytes = Buffer.from(`MSG 0 1 . 0 1${' '.repeat(4000)}`, 'latin1');
  for (let i = 0; i < bytes.length && !p.isClosed && Date.now() < deadline; i++) {
    await p.write(bytes.subarray(i, i + 1));
    await sleep(10);
  }
  await assertEnded(s, p, 100, FRAMING);
});

hostile(S, 'giant claim: header announcing 2147483647 octets is refused at once, holds < 4 MiB', async (t) => {
  const base = memNow();
  const p = await attacker(true);
  await p.write(`MSG 1 0 . 0 2147483647\r\n${'x'.repeat(64 * KiB)}`);
  await assertEnded(s, p, 2000, /BEEP_ERR_(FRAMING|MESSAGE_TOO_LARGE|BUDGET)/);
  const h = held(base);
  t.diagnostic(h.text);
  assert.ok(h.held < 4 * MiB, `held ${h.text}`);
});

hostile(S, 'giant blob: 100 KiB fragmented greeting (past the 4096 window) -> dropped, holds < 4 MiB', async (t) => {
  const base = memNow();
  const p = await Peer.connect(s.port);
  await p.waitFor('</greeting>');
  const chunk = `Content-Type: application/beep+xml\r\n\r\n<greeting>${'x'.repeat(4000)}`;
  for (let i = 0; i < 25 && !p.isClosed; i++) await p.write(p.frame('RPY', 0, 0, i === 0 ? chunk : 'y'.repeat(4000), '*'));
  await assertEnded(s, p, 2000, FRAMING);
  const h = held(base);
  t.diagnostic(h.text);
  assert.ok(h.held < 4 * MiB, `held ${h.text}`);
});

hostile(S, 'giant blob: 200 KiB <start> on channel 0 in window-sized pieces -> refused or dropped, holds < 4 MiB', async (t) => {
  const base = memNow();
  const p = await attacker();
  const xml = Buffer.from(
    `Content-Type: application/beep+xml\r\n\r\n<start number='1'><profile uri='${ECHO}'><![CDATA[${'z'.repeat(200 * KiB)}]]></profile></start>`,
  );
  // Respect the listener's channel-0 window by waiting for its SEQ before each 2000-octet piece.
  for (let off = 0; off < xml.length && !p.isClosed; off += 2000) {
    const end = Math.min(off + 2000, xml.length);
    await p.write(p.frame('MSG', 0, 1, xml.subarray(off, end), end === xml.length ? '.' : '*'));
    const seqs = p.count(/SEQ 0 /g);
    for (let i = 0; i < 40 && !p.isClosed && p.count(/SEQ 0 /g) === seqs && off % 4000 === 2000; i++) await sleep(5);
  }
  const outcome = await answeredOrDropped(p, 1);
  t.diagnostic(`outcome ${outcome}`);
  assert.notEqual(outcome, 'RPY', 'a 200 KiB start must not be accepted (maxMgmtMessage 64 KiB)');
  const h = held(base);
  t.diagnostic(h.text);
  assert.ok(h.held < 4 * MiB, `held ${h.text}`);
});

const LAUGHS =
  `<?xml version='1.0'?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">` +
  `<!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;"><!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">` +
  `<!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;"><!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">` +
  `<!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;"><!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">` +
  `<!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;"><!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">]>`;

hostile(S, 'XML bomb: billion laughs in a <start> -> refused (500) or dropped, holds < 16 MiB', async (t) => {
  const base = memNow();
  const p = await attacker();
  await p.write(p.mgmt(`${LAUGHS}<start number='1'><profile uri='${ECHO}'>&lol9;</profile></start>`));
  const outcome = await answeredOrDropped(p, 1);
  t.diagnostic(`outcome ${outcome}`);
  assert.notEqual(outcome, 'RPY');
  const h = held(base);
  assert.ok(h.held < 16 * MiB, `held ${h.text}`);
});

hostile(S, 'XML bomb: DOCTYPE with an external entity in the greeting -> dropped', async () => {
  const p = await Peer.connect(s.port);
  await p.waitFor('</greeting>');
  await p.write(
    p.frame(
      'RPY',
      0,
      0,
      `Content-Type: application/beep+xml\r\n\r\n<!DOCTYPE g [<!ENTITY x SYSTEM "file:///etc/passwd">]><greeting><profile uri='&x;'/></greeting>`,
    ),
  );
  await assertEnded(s, p, 2000);
});

hostile(S, 'XML bomb: 3000-deep nesting in a <start> (within 4096 octets) -> refused or dropped', async () => {
  const p = await attacker();
  await p.write(p.mgmt(`<start number='1'>${'<a>'.repeat(1000)}${'</a>'.repeat(1000)}</start>`.slice(0, 3900)));
  assert.notEqual(await answeredOrDropped(p, 1), 'RPY');
});

// ---- invalid UTF-8 in channel-0 text ------------------------------------------------------

const BAD = Buffer.from([0xff, 0xfe, 0xc3, 0x28, 0xed, 0xa0, 0x80, 0xf4, 0x90, 0x80, 0x80]);
const xmlWith = (pre: string, post: string): Buffer => Buffer.concat([Buffer.from(pre), BAD, Buffer.from(post)]);

hostile(S, 'invalid UTF-8: in the greeting (profile uri) -> the session either runs or is dropped, no fault', async () => {
  const p = await Peer.connect(s.port);
  await p.waitFor('</greeting>');
  await p.write(
    p.frame(
      'RPY',
      0,
      0,
      Buffer.concat([Buffer.from('Content-Type: application/beep+xml\r\n\r\n'), xmlWith(`<greeting><profile uri='`, `'/></greeting>`)]),
    ),
  );
  await p.write(p.mgmt(`<start number='1'><profile uri='${ECHO}'/></start>`));
  await answeredOrDropped(p, 1);
  p.destroy();
});

hostile(S, 'invalid UTF-8: in <start> (profile uri) -> refused or dropped, no channel opened', async () => {
  const p = await attacker();
  await p.write(p.mgmt(xmlWith(`<start number='1'><profile uri='`, `'/></start>`)));
  assert.notEqual(await answeredOrDropped(p, 1), 'RPY');
  p.destroy();
});

hostile(S, 'invalid UTF-8: in <start> serverName -> answered or dropped, no fault', async () => {
  const p = await attacker();
  await p.write(p.mgmt(xmlWith(`<start number='1' serverName='`, `'><profile uri='${ECHO}'/></start>`)));
  await answeredOrDropped(p, 1);
  p.destroy();
});

hostile(S, 'invalid UTF-8: in piggybacked profile content -> answered or dropped, no fault', async () => {
  const p = await attacker();
  await p.write(p.mgmt(xmlWith(`<start number='1'><profile uri='${ECHO}'>`, `</profile></start>`)));
  await answeredOrDropped(p, 1);
  p.destroy();
});

hostile(S, 'invalid UTF-8: in <close> text -> answered or dropped, no fault', async () => {
  const p = await attacker(true);
  await p.write(p.mgmt(xmlWith(`<close number='1' code='200'>`, `</close>`)));
  await answeredOrDropped(p, 2);
  p.destroy();
});

hostile(S, 'invalid UTF-8: in an unsolicited channel-0 <error> reply -> dropped, BEEP_ERR_FRAMING', async () => {
  const p = await attacker(true);
  await p.write(
    p.frame(
      'ERR',
      0,
      7,
      Buffer.concat([Buffer.from('Content-Type: application/beep+xml\r\n\r\n'), xmlWith(`<error code='550'>`, `</error>`)]),
    ),
  );
  await assertEnded(s, p, 2000, FRAMING);
});
