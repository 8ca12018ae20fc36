// Messages sent in pieces (LibVortex fixed_more, PyVortex send_*_more), checked on the wire:
// two sans-I/O sessions back to back in memory, every octet recorded and parsed into frames.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Session, type SessionIO } from './session.js';
import type { Message } from './message.js';
import type { ChannelState } from './channel-state.js';
import type { CodecImpl } from '../codec/index.js';

const P = 'http://beepwire.test/pieces';
const tick = (): Promise<void> => new Promise((r) => setImmediate(r));
const bytes = (s: string): Uint8Array => new TextEncoder().encode(s);
const text = (b: Uint8Array): string => new TextDecoder().decode(b);
const HEAD = bytes('\r\n'); // the empty MIME header block

/** Delivers one session's writes to the other on the next macrotask and keeps the octets. */
class Pipe implements SessionIO {
  peer!: Session;
  wire = '';
  write(a: Uint8Array, b?: Uint8Array, c?: Uint8Array, d?: Uint8Array): boolean {
    const parts = [a, b, c, d].filter((p): p is Uint8Array => p !== undefined).map((p) => p.slice());
    for (const p of parts) this.wire += String.fromCharCode(...p);
    setImmediate(() => {
      for (const p of parts) this.peer.receive(p);
    });
    return true;
  }
  end(): void {
    /* in memory */
  }

  /** Data frames on `channel` as "KW ch msgno more seqno size[ ansno]|payload", in wire order. */
  frames(channel: number): string[] {
    const out: string[] = [];
    let s = this.wire;
    while (s.length > 0) {
      const seq = /^SEQ [^\r]*\r\n/.exec(s);
      if (seq !== null) {
        s = s.slice(seq[0].length);
        continue;
      }
      const h = /^(MSG|RPY|ERR|ANS|NUL) (\d+) (\d+) ([.*]) (\d+) (\d+)( \d+)?\r\n/.exec(s);
      assert.ok(h !== null, `a frame header at ${JSON.stringify(s.slice(0, 40))}`);
      const size = Number(h[6]);
      const payload = s.slice(h[0].length, h[0].length + size);
      assert.equal(s.slice(h[0].length + size, h[0].length + size + 5), 'END\r\n');
      s = s.slice(h[0].length + size + 5);
      if (Number(h[2]) === channel) out.push(`${h[0].trimEnd()}|${payload}`);
    }
    return out;
  }
}

interface Pair {
  initiator: Session;
  listener: Session;
  ia: Pipe;
  lb: Pipe;
  got: Message[];
  inCh: ChannelState;
  outCh: () => ChannelState;
}

/** Greeted sessions with channel 1 open; the listener keeps what it receives (no automatic reply). */
async function pair(opts: { perFrame?: boolean; sendFrameSize?: number; codec?: CodecImpl } = {}): Promise<Pair> {
  const ia = new Pipe(),
    lb = new Pipe();
  const got: Message[] = [];
  let lch: ChannelState | undefined;
  const listener = new Session(
    lb,
    {
      start: () => ({ accept: true, uri: P }),
      channelOpened: (ch) => {
        lch = ch;
        ch.onMessage = (m) => {
          got.push(m);
        };
      },
    },
    { role: 'listener', ...opts },
  );
  const initiator = new Session(ia, {}, { role: 'initiator', ...opts });
  ia.peer = listener;
  lb.peer = initiator;
  listener.start({ profiles: [P] });
  initiator.start({ profiles: [] });
  const { channel } = await initiator.mgmt.startChannel(1, [{ uri: P, encoding: 'none' }]);
  return { initiator, listener, ia, lb, got, inCh: channel, outCh: () => lch! };
}

async function settle(n = 20): Promise<void> {
  for (let i = 0; i < n; i++) await tick();
}

for (const codec of ['wasm', 'ref'] as const) {
  test(`${codec}: a MSG sent in three pieces: '*' on every frame of the first two, one msgno, headers with the first piece only; the peer reassembles it`, async () => {
    const p = await pair({ codec });
    const replies: Message[] = [];
    p.inCh.onMessage = (m) => replies.push(m);
    const a = p.initiator.sendMsg(p.inCh, bytes('abc'), undefined, HEAD, true);
    const b = p.initiator.sendMsg(p.inCh, bytes('def'), undefined, HEAD, true);
    const c = p.initiator.sendMsg(p.inCh, bytes('gh'), undefined, HEAD);
    assert.deepEqual([a, b, c], [0, 0, 0]);
    assert.equal(p.inCh.openMsg, undefined);
    await settle();
    assert.deepEqual(p.ia.frames(1), ['MSG 1 0 * 0 5|\r\nabc', 'MSG 1 0 * 5 3|def', 'MSG 1 0 . 8 2|gh']);
    assert.equal(p.got.length, 1);
    assert.equal(text(p.got[0]!.payload), 'abcdefgh');
    // The next MSG takes the next msgno.
    assert.equal(p.initiator.sendMsg(p.inCh, bytes('x'), undefined, HEAD), 1);
  });

  test(`${codec}: a RPY in pieces: every frame of a piece is '*', one frame per piece when it fits, and per-frame delivery sees the flags`, async () => {
    const p = await pair({ codec, perFrame: true });
    const replies: Message[] = [];
    p.inCh.onMessage = (m) => replies.push(m);
    p.initiator.sendMsg(p.inCh, bytes('q'), undefined, HEAD);
    await settle();
    const l = p.outCh();
    p.listener.sendReply(l, 'RPY', 0, bytes('ab'), undefined, HEAD, undefined, true);
    p.listener.sendReply(l, 'RPY', 0, bytes('cd'), undefined, HEAD, undefined, true);
    p.listener.sendReply(l, 'RPY', 0, bytes('e'), undefined, HEAD);
    await settle();
    assert.deepEqual(p.lb.frames(1), ['RPY 1 0 * 0 4|\r\nab', 'RPY 1 0 * 4 2|cd', 'RPY 1 0 . 6 1|e']);
    assert.deepEqual(
      replies.map((m) => [m.type, m.more, text(m.content)]),
      [
        ['RPY', true, '\r\nab'],
        ['RPY', true, 'cd'],
        ['RPY', false, 'e'],
      ],
    );
    assert.equal(p.inCh.awaiting.size, 0, 'the reply completed the MSG');
  });
}

test("a piece larger than a frame goes out in several frames, all flagged '*'; the last piece ends with '.'", async () => {
  const p = await pair({ sendFrameSize: 1000 });
  p.initiator.sendMsg(p.inCh, new Uint8Array(2500).fill(97), undefined, undefined, true);
  p.initiator.sendMsg(p.inCh, new Uint8Array(1200).fill(98));
  await settle(40);
  assert.deepEqual(
    p.ia.frames(1).map((f) => f.split('|')[0]),
    ['MSG 1 0 * 0 1000', 'MSG 1 0 * 1000 1000', 'MSG 1 0 * 2000 500', 'MSG 1 0 * 2500 1000', 'MSG 1 0 . 3500 200'],
  );
  assert.equal(p.got.length, 1);
  assert.equal(p.got[0]!.content.length, 3700);
});

test('an empty piece frames nothing; an empty last piece is a zero-size frame that ends the message', async () => {
  const p = await pair();
  p.initiator.sendMsg(p.inCh, bytes('x'), undefined, undefined, true);
  p.initiator.sendMsg(p.inCh, new Uint8Array(0), undefined, undefined, true);
  p.initiator.sendMsg(p.inCh, new Uint8Array(0));
  await settle();
  assert.deepEqual(p.ia.frames(1), ['MSG 1 0 * 0 1|x', 'MSG 1 0 . 1 0|']);
  assert.equal(text(p.got[0]!.content), 'x');
});

test("nothing else is framed on the channel between a '*' piece and its continuation: our MSG and later replies wait", async () => {
  const p = await pair();
  p.initiator.sendMsg(p.inCh, bytes('m0'), undefined, HEAD);
  p.initiator.sendMsg(p.inCh, bytes('m1'), undefined, HEAD);
  await settle();
  const l = p.outCh();
  p.listener.sendReply(l, 'RPY', 0, bytes('part'), undefined, HEAD, undefined, true);
  const own = p.listener.sendMsg(l, bytes('ours'), undefined, HEAD); // the listener's own MSG on the channel
  p.listener.sendReply(l, 'RPY', 1, bytes('r1'), undefined, HEAD); // reply to the next MSG
  await settle();
  assert.deepEqual(p.lb.frames(1), ['RPY 1 0 * 0 6|\r\npart'], 'only the open piece went out');
  assert.equal(l.idle, false);
  p.listener.sendReply(l, 'RPY', 0, bytes('end'), undefined, HEAD);
  await settle();
  assert.deepEqual(p.lb.frames(1), ['RPY 1 0 * 0 6|\r\npart', 'RPY 1 0 . 6 3|end', `MSG 1 ${own} . 9 6|\r\nours`, 'RPY 1 1 . 15 4|\r\nr1']);
});

test('ANS in pieces: the continuation keeps its ansno, the next ANS takes the next one, NUL ends the series', async () => {
  const p = await pair();
  const replies: Message[] = [];
  p.inCh.onMessage = (m) => replies.push(m);
  p.initiator.sendMsg(p.inCh, bytes('q'), undefined, HEAD);
  await settle();
  const l = p.outCh();
  assert.equal(p.listener.sendReply(l, 'ANS', 0, bytes('a0-'), undefined, HEAD, undefined, true), 0);
  assert.throws(() => p.listener.sendReply(l, 'NUL', 0, new Uint8Array(0)), RangeError, 'NUL while an ANS is in pieces');
  assert.throws(() => p.listener.sendReply(l, 'RPY', 0, bytes('x')), RangeError, 'another kind while an ANS is in pieces');
  assert.equal(p.listener.sendReply(l, 'ANS', 0, bytes('end'), undefined, HEAD), 0);
  assert.equal(p.listener.sendReply(l, 'ANS', 0, bytes('a1'), undefined, HEAD), 1);
  assert.throws(
    () => p.listener.sendReply(l, 'NUL', 0, new Uint8Array(0), undefined, undefined, undefined, true),
    RangeError,
    'a NUL is never continued',
  );
  p.listener.sendReply(l, 'NUL', 0, new Uint8Array(0));
  await settle();
  assert.deepEqual(p.lb.frames(1), ['ANS 1 0 * 0 5 0|\r\na0-', 'ANS 1 0 . 5 3 0|end', 'ANS 1 0 . 8 4 1|\r\na1', 'NUL 1 0 . 12 0|']);
  assert.deepEqual(
    replies.map((m) => [m.type, m.ansno, text(m.payload)]),
    [
      ['ANS', 0, 'a0-end'],
      ['ANS', 1, 'a1'],
      ['NUL', 0, ''],
    ],
  );
});

test('ERR in pieces; a RPY cannot continue it; fragments of a continuation piece count from the piece', async () => {
  const p = await pair();
  const replies: Message[] = [];
  p.inCh.onMessage = (m) => replies.push(m);
  p.initiator.sendMsg(p.inCh, bytes('q'), undefined, HEAD);
  await settle();
  const l = p.outCh();
  p.listener.sendReply(l, 'ERR', 0, bytes('550 '), undefined, HEAD, undefined, true);
  assert.throws(() => p.listener.sendReply(l, 'RPY', 0, bytes('x')), RangeError);
  p.listener.sendReply(l, 'ERR', 0, bytes('denied'), undefined, HEAD, [2 + 3]); // cut after "den" (head length 2 counted, then dropped)
  await settle();
  assert.deepEqual(p.lb.frames(1), ['ERR 1 0 * 0 6|\r\n550 ', 'ERR 1 0 * 6 3|den', 'ERR 1 0 . 9 3|ied']);
  assert.equal(text(replies[0]!.payload), '550 denied');
});

test('closing a channel waits for a MSG in pieces to be completed and answered', async () => {
  const p = await pair();
  p.inCh.onMessage = () => {};
  p.initiator.sendMsg(p.inCh, bytes('a'), undefined, HEAD, true);
  await settle();
  let closed = false;
  const closing = p.initiator.mgmt.closeChannel(p.inCh, 200).then(() => {
    closed = true;
  });
  await settle();
  assert.equal(closed, false);
  p.initiator.sendMsg(p.inCh, bytes('b'), undefined, HEAD); // still allowed while closing: it completes the open MSG
  await settle();
  assert.equal(text(p.got[0]!.payload), 'ab');
  p.listener.sendReply(p.outCh(), 'RPY', 0, bytes('ok'), undefined, HEAD);
  await closing;
  assert.equal(closed, true);
  assert.throws(() => p.initiator.sendMsg(p.inCh, bytes('c')), /closed/);
});
