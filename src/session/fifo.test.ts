// Fifo: order across drains and refills (the array is kept and filled again from its start), and
// the move to the front of a mostly consumed queue.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Fifo } from './fifo.js';

test('fifo: first in first out across drains, refills and interleaving', () => {
  const q = new Fifo<number>();
  const out: number[] = [];
  let next = 0;
  for (let round = 0; round < 50; round++) {
    const n = (round * 37) % 300;
    for (let i = 0; i < n; i++) q.push(next++);
    // Take part of them, put more behind, then drain.
    for (let i = 0; i < n >> 1; i++) out.push(q.shift()!);
    for (let i = 0; i < 5; i++) q.push(next++);
    assert.equal(q.length, n - (n >> 1) + 5);
    assert.equal(q.peek(), out.length);
    assert.deepEqual(
      [...q],
      Array.from({ length: q.length }, (_, i) => out.length + i),
    );
    while (q.length > 0) out.push(q.shift()!);
    assert.equal(q.shift(), undefined);
    assert.equal(q.peek(), undefined);
  }
  assert.deepEqual(
    out,
    Array.from({ length: next }, (_, i) => i),
  );
});

test('fifo: a long queue consumed past its middle moves to the front and stays in order', () => {
  const q = new Fifo<{ n: number }>();
  for (let i = 0; i < 5000; i++) q.push({ n: i });
  for (let i = 0; i < 3000; i++) assert.equal(q.shift()!.n, i);
  for (let i = 5000; i < 6000; i++) q.push({ n: i });
  assert.equal(q.length, 3000);
  const rest = [...q].map((o) => o.n);
  assert.deepEqual(
    rest,
    Array.from({ length: 3000 }, (_, i) => 3000 + i),
  );
  for (let i = 3000; i < 6000; i++) assert.equal(q.shift()!.n, i);
  assert.equal(q.length, 0);
});
