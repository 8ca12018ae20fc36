// ALIVE checks over loopback: answered pings, a peer that stops reading, a peer without the profile.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Ctx, Connection, createListener, alive } from '../index.js';
import { BeepError } from '../errors.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** A listener with ALIVE registered (or not); returns its port, its accepted connections and a stop. */
async function listener(withAlive: boolean): Promise<{ port: number; accepted: Connection[]; ctx: Ctx }> {
  const ctx = new Ctx();
  if (withAlive) alive.init(ctx);
  const accepted: Connection[] = [];
  const l = await createListener(ctx, '127.0.0.1', 0, {
    onAccept: (c) => {
      accepted.push(c);
    },
  });
  return { port: l.port, accepted, ctx };
}

test('ALIVE: pings are answered with empty RPYs and the check stays quiet', async () => {
  const srv = await listener(true);
  const conn = await Connection.connect(new Ctx(), '127.0.0.1', srv.port);
  const check = alive.enableCheck(conn, { checkPeriod: 10 });
  for (let i = 0; check.replied < 5 && i < 300; i++) await sleep(10);
  assert.ok(check.replied >= 5, `replied ${check.replied}`);
  assert.equal(check.failed, false);
  assert.ok(conn.isOk());
  check.stop();
  const sent = check.sent;
  await sleep(50);
  assert.equal(check.sent, sent, 'no pings after stop()');
  assert.ok(await conn.close());
  await srv.ctx.exit();
});

test('ALIVE: a peer that stops reading fails the check; without a handler the connection is shut down with BEEP_ERR_ALIVE', async () => {
  const srv = await listener(true);
  const conn = await Connection.connect(new Ctx(), '127.0.0.1', srv.port);
  let closedWith: Error | undefined;
  const closed = new Promise<void>((r) =>
    conn.setOnClose((_c, e) => {
      closedWith = e;
      r();
    }),
  );
  const check = alive.enableCheck(conn, { checkPeriod: 10, maxUnreplyCount: 1 });
  for (let i = 0; check.replied < 2 && i < 300; i++) await sleep(10);
  assert.ok(check.replied >= 2);
  const server = srv.accepted[0];
  assert.ok(server, 'the listener accepted the connection');
  server.block(true);
  await closed;
  assert.equal(check.failed, true);
  assert.ok(closedWith instanceof BeepError);
  assert.equal((closedWith as BeepError).code, 'BEEP_ERR_ALIVE');
  assert.match(conn.popChannelError()?.[1] ?? '', /ALIVE check failed: 2 pings unanswered \(allowed 1\)/);
  await srv.ctx.exit();
});

test('ALIVE: a peer without the profile refuses the channel and the failure handler is told', async () => {
  const srv = await listener(false);
  const conn = await Connection.connect(new Ctx(), '127.0.0.1', srv.port);
  const failure = new Promise<[number, number]>((r) =>
    alive.enableCheck(conn, { checkPeriod: 10, maxUnreplyCount: 3, onFailure: (_c, p, m) => r([p, m]) }),
  );
  assert.deepEqual(await failure, [10, 3]);
  assert.ok(conn.isOk(), 'a handler replaces the shutdown');
  assert.ok(await conn.close());
  await srv.ctx.exit();
});

test('ALIVE: bad options are refused', async () => {
  const srv = await listener(true);
  const conn = await Connection.connect(new Ctx(), '127.0.0.1', srv.port);
  assert.throws(() => alive.enableCheck(conn, { checkPeriod: 0 }), RangeError);
  assert.throws(() => alive.enableCheck(conn, { checkPeriod: 10, maxUnreplyCount: -1 }), RangeError);
  assert.ok(await conn.close());
  await srv.ctx.exit();
});

test('ALIVE: a message above 4 KiB on an ALIVE channel ends the session before it is buffered', async () => {
  const srv = await listener(true);
  const conn = await Connection.connect(new Ctx(), '127.0.0.1', srv.port);
  const ch = (await conn.openChannel(0, alive.ALIVE_URI))!;
  assert.equal((await ch.request('')).payloadSize, 0, 'an empty ping is answered');
  await ch.request(new Uint8Array(5000)).catch(() => undefined);
  const server = srv.accepted[0];
  assert.ok(server, 'the listener accepted the connection');
  for (let i = 0; i < 300 && server.isOk(); i++) await sleep(10);
  assert.equal((server.error as BeepError | undefined)?.code, 'BEEP_ERR_MESSAGE_TOO_LARGE');
  await srv.ctx.exit();
});
