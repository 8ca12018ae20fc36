// ChannelState's reassembly table: the first message in a slot, further ones in a Map.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ChannelState, type Partial } from './channel-state.js';

const partial = (type: number, msgno: number, ansno: number): Partial => ({
  type,
  msgno,
  ansno,
  parts: [],
  size: 0,
  seqno: 0,
  pinFrom: -1,
});

test('messages being reassembled are found by keyword, msgno and ansno, in the slot or beyond it', () => {
  const ch = new ChannelState(1, 'http://beepwire.test/p');
  const a = partial(4, 7, 0),
    b = partial(4, 7, 1),
    c = partial(1, 7, 0);
  ch.addPartial(a);
  ch.addPartial(b);
  ch.addPartial(c);
  assert.equal(ch.partialCount, 3);
  assert.equal(ch.getPartial(4, 7, 0), a);
  assert.equal(ch.getPartial(4, 7, 1), b);
  assert.equal(ch.getPartial(1, 7, 0), c);
  assert.equal(ch.getPartial(4, 8, 0), undefined);
  ch.removePartial(a); // the slot empties; the others stay found
  assert.equal(ch.getPartial(4, 7, 0), undefined);
  assert.equal(ch.getPartial(4, 7, 1), b);
  assert.equal(ch.partialCount, 2);
  ch.removePartial(a); // twice: no change
  assert.equal(ch.partialCount, 2);
  const d = partial(4, 9, 0);
  ch.addPartial(d); // takes the free slot
  assert.equal(ch.getPartial(4, 9, 0), d);
  assert.deepEqual(new Set(ch.partials()), new Set([b, c, d]));
  ch.clearPartials();
  assert.equal(ch.partialCount, 0);
  assert.ok(b.done && c.done && d.done, 'dropped reassemblies are marked done');
  assert.equal(ch.getPartial(4, 7, 1), undefined);
});

test('reply order (RFC 3080 §2.6.1) holds across drains: the msgno array is refilled from its start', () => {
  const ch = new ChannelState(1, 'http://beepwire.test/p');
  const T_RPY = 2;
  let msgno = 0;
  for (let round = 0; round < 40; round++) {
    const n = 1 + (round % 7) * 3;
    const ids = Array.from({ length: n }, () => msgno++);
    for (const id of ids) ch.addInbound(id);
    // Only the oldest may be answered at once; the others wait their turn.
    assert.equal(ch.canReplyNow(ids[0]!), true);
    for (const id of ids.slice(1)) assert.equal(ch.canReplyNow(id), false);
    // Answer the newest first: queued until every earlier one is answered, then released in order.
    for (const id of [...ids].reverse()) ch.queueReply(T_RPY, id, undefined, new Uint8Array([id & 0xff]), true, false);
    const sent: number[] = [];
    for (let m = ch.sendQueue.shift(); m !== undefined; m = ch.sendQueue.shift()) sent.push(m.msgno);
    assert.deepEqual(sent, ids);
    assert.equal(ch.inbound.size, 0);
    // A stale number of an earlier round is not taken for the oldest.
    assert.equal(ch.canReplyNow(ids[0]!), false);
  }
});
