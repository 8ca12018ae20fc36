// Two sans-I/O sessions wired back to back in memory: no sockets, byte-exact and deterministic.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Message } from '../../src/session/message.js';
import { P, tick, pair } from './pair.js';

test('greetings cross, a channel starts, an exchange completes', async () => {
  const { initiator, ia } = pair();
  const started = await initiator.mgmt.startChannel(1, [{ uri: P, encoding: 'none' }]);
  assert.equal(started.uri, P);
  const replies: Message[] = [];
  started.channel.onMessage = (m) => replies.push(m);
  initiator.sendMsg(started.channel, Buffer.from('ping'));
  for (let i = 0; i < 5 && replies.length === 0; i++) await tick();
  assert.equal(Buffer.from(replies[0]?.content ?? []).toString(), 'ping');
  assert.ok(
    ia.frames.some((f) => f.startsWith('SEQ 1 0 ')),
    "the initiator raised channel 1's window after the start",
  );
});

test('a message larger than the window streams with SEQ, and the window is auto-raised', async () => {
  const { initiator, ia, lb, got } = pair({ window: 4096, maxWindow: 1 << 20, sendFrameSize: 4096 });
  const { channel } = await initiator.mgmt.startChannel(1, [{ uri: P, encoding: 'none' }]);
  const body = Buffer.alloc(300_000, 7);
  initiator.sendMsg(channel, body);
  for (let i = 0; i < 400 && got.length === 0; i++) await tick();
  assert.equal(got[0]?.content.length, body.length);
  const seqs = lb.frames.filter((f) => f.startsWith('SEQ 1 '));
  assert.ok(seqs.length > 3, `listener acknowledged as data arrived (${seqs.length} SEQs)`);
  const windows = seqs.map((f) => Number(f.split(' ')[3]));
  assert.ok(Math.max(...windows) > 4096, `window grew past 4096 (${Math.max(...windows)})`);
  const sizes = ia.frames.filter((f) => f.startsWith('MSG 1 ')).map((f) => Number(f.split(' ')[5]));
  assert.ok(
    sizes.every((n) => n <= 4096),
    'frames never exceed sendFrameSize',
  );
});

test('per-frame delivery hands over each frame with its continuation flag', async () => {
  const { initiator, got } = pair({ perFrame: true, sendFrameSize: 1000 });
  const { channel } = await initiator.mgmt.startChannel(1, [{ uri: P, encoding: 'none' }]);
  initiator.sendMsg(channel, Buffer.alloc(2500, 1));
  for (let i = 0; i < 20 && got.length < 3; i++) await tick();
  assert.deepEqual(
    got.map((m) => [m.more, m.content.length]),
    [
      [true, 1000],
      [true, 1000],
      [false, 500],
    ],
  );
});

test('tuning reset: channels gone, new greetings, seqnos and msgnos restart', async () => {
  const { initiator, listener, ia } = pair();
  const { channel } = await initiator.mgmt.startChannel(1, [{ uri: P, encoding: 'none' }]);
  initiator.sendMsg(channel, Buffer.from('before'));
  for (let i = 0; i < 10; i++) await tick(); // quiet, as at a TLS <proceed/>
  const closed: number[] = [];
  listener.hooks.channelClosed = (ch) => closed.push(ch.number);
  ia.frames.length = 0;
  listener.tuningReset({ profiles: [P] });
  initiator.tuningReset({ profiles: [] });
  await initiator.mgmt.ready;
  await listener.mgmt.ready;
  assert.deepEqual(closed, [1]);
  assert.equal(initiator.channels.size, 1, 'only channel 0 again');
  assert.ok(ia.frames[0]?.startsWith('RPY 0 0 . 0 '), 'new greeting at seqno 0');
  const again = await initiator.mgmt.startChannel(1, [{ uri: P, encoding: 'none' }]);
  assert.equal(again.channel.number, 1, 'channel 1 can be started again');
  assert.ok(
    ia.frames.some((f) => /^MSG 0 1 \. \d+ /.test(f)),
    'channel 0 msgno restarts at 1',
  );
});

test('SEQ only moves the window edge forward; a smaller window applies as acks advance', async () => {
  const { initiator, listener, lb, got } = pair({ window: 65536, maxWindow: 65536, sendFrameSize: 4096 });
  const { channel } = await initiator.mgmt.startChannel(1, [{ uri: P, encoding: 'none' }]);
  await tick();
  await tick();
  const before = lb.frames.length;
  listener.setWindow(listener.channels.get(1)!, 4096); // would shrink the edge now: no SEQ
  assert.equal(lb.frames.length, before, 'no SEQ that keeps or shrinks the edge (LibVortex drops the session on one)');
  initiator.sendMsg(channel, Buffer.alloc(200_000, 3));
  for (let i = 0; i < 400 && got.length === 0; i++) await tick();
  assert.equal(got[0]?.content.length, 200_000);
  const seqs = lb.frames.filter((f) => f.startsWith('SEQ 1 ')).map((f) => f.split(' ').map(Number) as [number, number, number, number]); // SEQ channel ackno window
  let edge = 0;
  for (const [, , ackno, window] of seqs) {
    assert.ok(ackno + window > edge, `edge ${ackno + window} advances past ${edge}`);
    edge = ackno + window;
  }
  assert.equal(seqs.at(-1)?.[3], 4096, 'the reduced window is in force once acks carried the edge past the old one');
});

test('SEQ waits for a frame still arriving while the peer keeps a quarter of the window, then goes out with the reply', async () => {
  const { initiator, listener, lb, got } = pair({ window: 65536 });
  await initiator.mgmt.startChannel(1, [{ uri: P, encoding: 'none' }]);
  for (let i = 0; i < 5; i++) await tick();
  const seqs = (): string[] => lb.frames.filter((f) => f.startsWith('SEQ 1 '));
  const feed = (s: string | Uint8Array): void => listener.receive(typeof s === 'string' ? Buffer.from(s, 'latin1') : s);
  const before = seqs().length;
  // 40000 octets announced: past half the window after 34000, 25536 left to the peer beyond it.
  feed('MSG 1 0 . 0 40000\r\n\r\n');
  feed(Buffer.alloc(33998, 0x61));
  assert.equal(seqs().length, before, 'no SEQ while the frame arrives and the peer has room');
  feed(Buffer.alloc(6000, 0x61));
  feed('END\r\n');
  assert.equal(got.length, 1);
  assert.deepEqual(seqs().slice(before), ['SEQ 1 40000 65536'], 'the SEQ went out once the frame was in');
  const at = lb.frames.indexOf('SEQ 1 40000 65536');
  assert.ok(lb.frames[at + 1]?.startsWith('RPY 1 0 '), 'right before the reply, in the same pass');
  // 60000 octets announced: 5536 left to the peer beyond it, under a quarter: the SEQ goes now.
  feed('MSG 1 1 . 40000 60000\r\n\r\n');
  feed(Buffer.alloc(33998, 0x61));
  // (and the peer used the window up: it is doubled, see the next test)
  assert.deepEqual(seqs().slice(before + 1), ['SEQ 1 74000 131072'], 'SEQ mid-frame when the room left is small');
});

test('a peer that uses up its window gets it doubled, up to four default windows for the session', async () => {
  const { initiator, listener, lb, got } = pair({ window: 65536 });
  await initiator.mgmt.startChannel(1, [{ uri: P, encoding: 'none' }]);
  for (let i = 0; i < 5; i++) await tick();
  const seqs = (): string[] => lb.frames.filter((f) => f.startsWith('SEQ 1 '));
  const before = seqs().length;
  let seqno = 0,
    msgno = 0;
  /** One whole MSG of `n` octets (empty MIME header block included) in one receive pass. */
  const msg = (n: number): void => {
    listener.receive(Buffer.from(`MSG 1 ${msgno++} . ${seqno} ${n}\r\n\r\n${'a'.repeat(n - 2)}END\r\n`, 'latin1'));
    seqno += n;
  };
  msg(60000); // 60000 of 65536: the window was the limit
  msg(120000); // 120000 of 131072
  msg(250000); // 250000 of 262144: the session's windows are at four default ones now
  msg(30000); // half of nothing new: no SEQ needed yet (30000 < 131072)
  assert.equal(got.length, 4);
  assert.deepEqual(seqs().slice(before), ['SEQ 1 60000 131072', 'SEQ 1 180000 262144', 'SEQ 1 430000 262144']);
});

test('a window left half used is acknowledged as it is, and a pinned window never grows', async () => {
  const { initiator, listener, lb } = pair({ window: 65536 });
  await initiator.mgmt.startChannel(1, [{ uri: P, encoding: 'none' }]);
  for (let i = 0; i < 5; i++) await tick();
  const seqs = (): string[] => lb.frames.filter((f) => f.startsWith('SEQ 1 '));
  const before = seqs().length;
  listener.receive(Buffer.from(`MSG 1 0 . 0 40000\r\n\r\n${'a'.repeat(39998)}END\r\n`, 'latin1'));
  assert.deepEqual(seqs().slice(before), ['SEQ 1 40000 65536'], 'past half but far from the edge: same window');
  listener.setWindow(listener.channels.get(1)!, 65536);
  const pinned = seqs().length;
  listener.receive(Buffer.from(`MSG 1 1 . 40000 65000\r\n\r\n${'a'.repeat(64998)}END\r\n`, 'latin1'));
  assert.deepEqual(seqs().slice(pinned), ['SEQ 1 105000 65536'], 'the application set the window: it stays');
});
