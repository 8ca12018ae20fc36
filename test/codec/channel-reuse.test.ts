// The decoder keeps the previous frame's channel slot for the next frame on the same channel
// (no hash lookup): a channel closed, reopened or replaced between chunks must never be
// decoded against a stale slot. Both codecs, same events.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { WasmCodec, RefCodec, type SessionCodec } from '../../src/codec/index.js';
import { S_UNKNOWN_CHANNEL } from '../../src/codec/layout.js';
import { collect, type Ev } from './collect.js';

const bytes = (s: string): Uint8Array => Buffer.from(s, 'latin1');

function run(make: () => SessionCodec, steps: Array<(c: SessionCodec) => Uint8Array | undefined>): Ev[] {
  const c = make();
  const out: Ev[] = [];
  for (const step of steps) {
    const chunk = step(c);
    if (chunk !== undefined) out.push(...collect(c, [chunk]));
  }
  c.dispose();
  return out;
}

const impls: Array<[string, () => SessionCodec]> = [
  ['wasm', () => new WasmCodec()],
  ['ref', () => new RefCodec()],
];

for (const [name, make] of impls) {
  test(`${name}: a channel closed and reopened between chunks starts at seqno 0 again`, () => {
    const ev = run(make, [
      (c) => {
        c.openChannel(1);
        return bytes('MSG 1 0 . 0 3\r\nabcEND\r\nMSG 1 1 . 3 2\r\nxyEND\r\n');
      },
      (c) => {
        c.closeChannel(1);
        c.openChannel(1);
        return bytes('MSG 1 0 . 0 1\r\nzEND\r\n'); // seqno 0: the reopened channel's own state
      },
    ]);
    assert.deepEqual(
      ev.map((e) => (e.kind === 'frame' ? `${e.channel}:${e.seqno}` : e.kind)),
      ['1:0', '1:3', '1:0'],
    );
  });

  test(`${name}: a frame on a channel closed since the previous chunk is refused, though another channel took its slot`, () => {
    const ev = run(make, [
      (c) => {
        c.openChannel(1);
        return bytes('MSG 1 0 . 0 3\r\nabcEND\r\n');
      },
      (c) => {
        c.closeChannel(1);
        c.openChannel(3); // the WASM codec reuses the freed slot for it
        return bytes('MSG 1 1 . 3 1\r\nzEND\r\n');
      },
    ]);
    assert.equal(ev.length, 2);
    assert.equal(ev[1]?.kind, 'error');
    assert.equal((ev[1] as Extract<Ev, { kind: 'error' }>).status, S_UNKNOWN_CHANNEL);
  });

  test(`${name}: frames alternating between two channels each keep their own seqnos`, () => {
    const ev = run(make, [
      (c) => {
        c.openChannel(1);
        c.openChannel(3);
        return bytes('MSG 1 0 . 0 2\r\nabEND\r\nMSG 3 0 . 0 1\r\nxEND\r\nMSG 1 1 . 2 1\r\ncEND\r\nMSG 3 1 . 1 1\r\nyEND\r\n');
      },
      () => bytes('MSG 3 2 . 2 1\r\nzEND\r\nMSG 1 2 . 3 1\r\ndEND\r\n'),
    ]);
    assert.deepEqual(
      ev.map((e) => (e.kind === 'frame' ? `${e.channel}:${e.seqno}` : e.kind)),
      ['1:0', '3:0', '1:2', '3:1', '3:2', '1:3'],
    );
  });
}
