// Ctx events (PyVortex ctx.new_event / remove_event) and init/exit.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Ctx, tls, sasl } from '../index.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

test('newEvent calls the handler with its data every period until it returns true', async () => {
  const ctx = new Ctx();
  const calls: unknown[][] = [];
  const id = ctx.newEvent(
    5,
    (c, a, b) => {
      calls.push([c === ctx, a, b]);
      return calls.length === 3;
    },
    'one',
    2,
  );
  assert.equal(typeof id, 'number');
  for (let i = 0; i < 100 && calls.length < 3; i++) await sleep(5);
  await sleep(30);
  assert.deepEqual(calls, [
    [true, 'one', 2],
    [true, 'one', 2],
    [true, 'one', 2],
  ]);
  assert.equal(ctx.removeEvent(id), false, 'already gone');
  await ctx.exit();
});

test('removeEvent stops an event; exit() stops the rest; a throwing handler is reported and goes on', async () => {
  const errors: string[] = [];
  const ctx = new Ctx({
    onError: (e) => {
      errors.push(e.code);
    },
  });
  let a = 0,
    b = 0;
  const ida = ctx.newEvent(5, () => {
    a++;
  });
  ctx.newEvent(5, () => {
    b++;
    throw new Error('tick');
  });
  for (let i = 0; i < 100 && (a < 2 || b < 2); i++) await sleep(5);
  assert.equal(ctx.removeEvent(ida), true);
  const a0 = a;
  await sleep(30);
  assert.equal(a, a0, 'removed');
  assert.ok(errors.length >= 2 && errors.every((c) => c === 'BEEP_ERR_HANDLER'));
  await ctx.exit();
  const b0 = b;
  await sleep(30);
  assert.equal(b, b0, 'exit() stopped it');
  assert.throws(() => ctx.newEvent(0, () => true), RangeError);
});

test('an async handler is not called again while its promise is pending; true removes it', async () => {
  const ctx = new Ctx();
  let calls = 0;
  let release!: (v: boolean) => void;
  ctx.newEvent(2, () => {
    calls++;
    return new Promise<boolean>((r) => {
      release = r;
    });
  });
  await sleep(30);
  assert.equal(calls, 1);
  release(true);
  await sleep(30);
  assert.equal(calls, 1, 'removed by its true');
  await ctx.exit();
});

test('init() returns true; tls.init and sasl.init have nothing to do and return true', () => {
  const ctx = new Ctx();
  assert.equal(ctx.init(), true);
  assert.equal(ctx.initialized, true);
  assert.equal(tls.init(ctx), true);
  assert.equal(sasl.init(ctx), true);
});
