// AsyncQueue (PyVortex vortex.AsyncQueue): order, waiting pops, timeouts, aborts, counters.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AsyncQueue } from './async-queue.js';

test('push then pop: FIFO order; items, waiters and length follow LibVortex', async () => {
  const q = new AsyncQueue<number>();
  q.push(1);
  q.push(2);
  assert.deepEqual([q.items, q.waiters, q.length], [2, 0, 2]);
  assert.equal(q.peek(), 1);
  assert.equal(q.items, 2, 'peek takes nothing');
  assert.equal(await q.pop(), 1);
  assert.equal(q.tryPop(), 2);
  assert.equal(q.tryPop(), null);
  assert.equal(q.peek(), null);
});

test('a pop waits for the next push; waiters are served in order; length goes negative while they wait', async () => {
  const q = new AsyncQueue<string>();
  const a = q.pop();
  const b = q.pop();
  assert.deepEqual([q.items, q.waiters, q.length], [0, 2, -2]);
  q.push('x');
  q.push('y');
  assert.deepEqual(await Promise.all([a, b]), ['x', 'y']);
  assert.deepEqual([q.items, q.waiters, q.length], [0, 0, 0]);
});

test('pop(timeout) resolves null after the timeout and the timed-out waiter gets nothing later', async () => {
  const q = new AsyncQueue<number>();
  const t0 = Date.now();
  assert.equal(await q.pop(30), null);
  assert.ok(Date.now() - t0 >= 25);
  assert.equal(q.waiters, 0);
  q.push(7);
  assert.equal(q.items, 1, 'the item stays for the next pop');
  assert.equal(await q.pop(30), 7);
  assert.throws(() => q.pop(-1), RangeError);
});

test('pop(undefined, signal) resolves null on abort; an aborted signal returns at once', async () => {
  const q = new AsyncQueue<number>();
  const c = new AbortController();
  const p = q.pop(undefined, c.signal);
  c.abort();
  assert.equal(await p, null);
  assert.equal(q.waiters, 0);
  assert.equal(await q.pop(0, c.signal), null);
  q.push(1);
  assert.equal(await q.pop(0, c.signal), 1, 'an item already queued is taken even with an aborted signal');
});

test('the taken callback runs when the item leaves the queue, whichever way', async () => {
  const q = new AsyncQueue<number>();
  const taken: number[] = [];
  const took = (n: number) => (): void => {
    taken.push(n);
  };
  q.push(1, took(1));
  q.push(2, took(2));
  assert.deepEqual(taken, []);
  await q.pop();
  q.tryPop();
  const w = q.pop();
  q.push(3, took(3)); // handed straight to the waiter
  await w;
  assert.deepEqual(taken, [1, 2, 3]);
});

test('a loop of timed pops on an idle queue does not accumulate dead waiters', async () => {
  const q = new AsyncQueue<number>();
  const forever = q.pop(); // one live waiter stays throughout
  for (let i = 0; i < 200; i++) await q.pop(1);
  assert.equal(q.waiters, 1);
  q.push(42);
  assert.equal(await forever, 42);
});
