// MsgnoTable (src/session/msgno-table.ts) against a Map: random operations on keys near a
// moving run, far keys, the 2^31 wrap and sparse hostile numbering; the ring stays bounded.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { MsgnoTable } from '../../src/session/msgno-table.js';

const M = 0x7fffffff;
type Op = { kind: 'set' | 'del' | 'get'; k: number };

function check(ops: Op[]): void {
  const t = new MsgnoTable<number>();
  const m = new Map<number, number>();
  let n = 0;
  for (const op of ops) {
    if (op.kind === 'set') {
      t.set(op.k, ++n);
      m.set(op.k, n);
    } else if (op.kind === 'del') assert.equal(t.delete(op.k), m.delete(op.k));
    else assert.equal(t.get(op.k), m.get(op.k));
    assert.equal(t.size, m.size);
  }
  for (const [k, v] of m) {
    assert.equal(t.get(k), v);
    assert.equal(t.has(k), true);
  }
  assert.deepEqual(
    [...t.values()].sort((a, b) => a - b),
    [...m.values()].sort((a, b) => a - b),
  );
}

test('msgno table: behaves as a Map on random operations (near, far, wrapping keys)', () => {
  const base = fc.constantFrom(0, 1000, M - 40, M - 3);
  const key = fc.oneof(fc.integer({ min: 0, max: 200 }), fc.integer({ min: 0, max: 70000 }), fc.integer({ min: 0, max: M }));
  fc.assert(
    fc.property(
      base,
      fc.array(fc.record({ kind: fc.constantFrom('set', 'set', 'del', 'get') as fc.Arbitrary<Op['kind']>, k: key }), { maxLength: 300 }),
      (b, ops) => check(ops.map((o) => ({ ...o, k: (b + o.k) & M }))),
    ),
    { numRuns: 400 },
  );
});

test('msgno table: in-order traffic across the 2^31 wrap', () => {
  const t = new MsgnoTable<number>();
  let next = M - 100,
    oldest = next;
  for (let i = 0; i < 5000; i++) {
    t.set(next, i);
    next = (next + 1) & M;
    if (t.size > 64) {
      assert.ok(t.delete(oldest));
      oldest = (oldest + 1) & M;
    }
  }
  assert.equal(t.size, 64);
  assert.equal(t.get((next - 1) & M), 4999);
  assert.equal(t.get(oldest), 5000 - 64);
});

test('msgno table: sparse numbers go to the Map, not into a huge ring', () => {
  const t = new MsgnoTable<number>();
  t.set(0, 1);
  t.set(65535, 2);
  t.set(30000, 3);
  assert.equal(t.size, 3);
  assert.deepEqual([t.get(0), t.get(65535), t.get(30000)], [1, 2, 3]);
  // The ring is private; its bound shows as the set of numbers a few entries can pin.
  assert.ok(t.delete(0));
  assert.equal(t.get(65535), 2);
  t.clear();
  assert.equal(t.size, 0);
  assert.equal(t.get(65535), undefined);
});
