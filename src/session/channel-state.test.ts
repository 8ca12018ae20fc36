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
