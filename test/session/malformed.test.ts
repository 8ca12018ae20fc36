// Poorly formed input over raw sockets (RFC 3080 §2.2.1.1): the listener drops that session
// without a response, while another session on the same listener keeps working.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Ctx, registerProfile, createListener, Connection, type Listener } from '../../src/index.js';
import { RawPeer, greetingPayload, frame, startReply } from './raw.js';

const ECHO = 'http://beepwire.test/echo';
const NOTHING = 'http://beepwire.test/nothing';

let ctx: Ctx;
let listener: Listener;
let witness: Connection;

before(async () => {
  ctx = new Ctx();
  registerProfile(ctx, ECHO, {
    frameReceived: (_c, ch, f) => {
      if (f.type === 'MSG') ch.sendRpy(f.payload, undefined, f.msgNo);
    },
  });
  registerProfile(ctx, NOTHING, {});
  listener = await createListener(ctx, '127.0.0.1', 0);
  const client = new Ctx();
  witness = await Connection.connect(client, '127.0.0.1', listener.port);
  assert.ok(witness.isOk());
});

after(async () => {
  witness.shutdown();
  await ctx.exit();
});

async function witnessStillWorks(): Promise<void> {
  const ch = await witness.openChannel(0, ECHO);
  assert.ok(ch, 'another session can still open channels');
  assert.equal((await ch.request('still here')).text, 'still here');
  assert.ok(await ch.close());
}

/** Connects raw, runs `setup`, sends `bad`, and requires a silent disconnect within 2 s. */
async function dropped(bad: (p: RawPeer) => string, setup?: (p: RawPeer) => Promise<void>, oneByte = false): Promise<void> {
  const p = await RawPeer.connect(listener.port);
  await p.waitFor('</greeting>');
  if (setup) await setup(p);
  else await p.send(p.frame('RPY', 0, 0, greetingPayload()));
  const before = p.received.length;
  await p.send(bad(p), oneByte);
  assert.ok(await p.closedWithin(2000), 'listener closed the session');
  assert.equal(p.received.slice(before), '', 'no response to a poorly formed frame');
  await witnessStillWorks();
}

const start = (profile: string) => async (p: RawPeer) => p.greetAndStart(profile);

test('unknown keyword', () => dropped(() => 'FOO 0 1 . 0 0\r\nEND\r\n'));
test('field out of range (msgno 2147483648)', () => dropped(() => 'MSG 0 2147483648 . 0 0\r\nEND\r\n'));
test('missing CRLF (bare LF)', () => dropped(() => 'MSG 0 1 . 0 0\nEND\r\n'));
test('header longer than the limit', () => dropped(() => `MSG ${'0'.repeat(2000)}`));
test('bad trailer', () => dropped((p) => p.frame('MSG', 1, 0, 'abc').replace('END', 'ENX'), start(ECHO)));
test('frame on an unknown channel', () => dropped(() => frame('MSG', 7, 0, 0, 'x')));
test('wrong seqno', () => dropped(() => frame('MSG', 1, 0, 99, 'x'), start(ECHO)));
test('window exceeded (4097 octets into the initial 4096 window of channel 0)', () =>
  dropped((p) => p.frame('MSG', 0, 1, 'x'.repeat(4097))));
test('msgno reused while the first is unanswered', () =>
  dropped((p) => p.frame('MSG', 1, 5, 'x') + p.frame('MSG', 1, 5, 'y'), start(NOTHING)));
test('reply to a MSG never sent', () => dropped((p) => p.frame('RPY', 1, 42, 'x'), start(ECHO)));
test('NUL not after ANS (NUL for a msgno never sent)', () => dropped((p) => p.frame('NUL', 1, 3, ''), start(ECHO)));
test('continuation changes msgno', () => dropped((p) => p.frame('MSG', 1, 0, 'a', '*') + p.frame('MSG', 1, 1, 'b'), start(ECHO)));
test('bad XML in a channel-0 MSG: answered ERR 500, the session goes on (the frame itself was well formed)', async () => {
  const p = await RawPeer.connect(listener.port);
  await p.waitFor('</greeting>');
  await p.send(p.frame('RPY', 0, 0, greetingPayload()));
  await p.send(p.frame('MSG', 0, 1, 'Content-Type: application/beep+xml\r\n\r\n<start number=1><profile'));
  await p.waitFor("<error code='500'>");
  await p.send(p.frame('MSG', 0, 2, `Content-Type: application/beep+xml\r\n\r\n<start number='1'><profile uri='${ECHO}'/></start>`));
  await p.waitFor(startReply(2, ECHO));
  p.socket.destroy();
});
test('greeting missing: first frame is a MSG', () =>
  dropped(
    () => frame('MSG', 0, 1, 0, 'Content-Type: application/beep+xml\r\n\r\n<start number="1"><profile uri="x"/></start>'),
    async () => undefined,
  ));
test('poorly formed frame written one octet at a time', () => dropped(() => 'MSG 0 1 x 0 0\r\n', undefined, true));

test('a peer writing one octet at a time gets its greeting, channel and echo', async () => {
  const p = await RawPeer.connect(listener.port);
  await p.waitFor('</greeting>');
  await p.send(p.frame('RPY', 0, 0, greetingPayload()), true);
  await p.send(p.frame('MSG', 0, 1, `Content-Type: application/beep+xml\r\n\r\n<start number='1'><profile uri='${ECHO}'/></start>`), true);
  await p.waitFor(startReply(1, ECHO));
  await p.send(p.frame('MSG', 1, 0, '\r\nbyte by byte'), true);
  await p.waitFor(/RPY 1 0 \. \d+ 14\r\n\r\nbyte by byteEND\r\n/);
  p.socket.destroy();
});
