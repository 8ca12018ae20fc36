// Channel pools (LibVortex vortex_channel_pool, PyVortex conn.channel_pool_new) over 127.0.0.1.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Ctx, registerProfile, createListener, Connection, type Listener, type Channel } from '../index.js';

const ECHO = 'http://beepwire.test/echo';
const SLOW = 'http://beepwire.test/slow'; // answers only when told to
const held: Array<() => void> = [];
let server: Ctx;
let listener: Listener;
let refuseStarts = false;

before(async () => {
  server = new Ctx();
  registerProfile(server, ECHO, {
    start: () => !refuseStarts,
    frameReceived: (_c, ch, f) => {
      if (f.type === 'MSG') ch.reply(f.msgno, f.payload);
    },
  });
  registerProfile(server, SLOW, {
    frameReceived: (_c, ch, f) => {
      held.push(() => ch.reply(f.msgno, 'late'));
    },
  });
  listener = await createListener(server, '127.0.0.1', 0);
  assert.ok(listener.isOk(), listener.errorMsg);
});

after(async () => {
  await server.exit();
});

const connect = async (): Promise<Connection> => {
  const conn = await Connection.connect(new Ctx(), '127.0.0.1', listener.port);
  assert.ok(conn.isOk());
  return conn;
};

test('channelPoolNew opens initCount channels; ids count from 1 per connection; conn.pool(id) finds them', async () => {
  const conn = await connect();
  const p1 = await conn.channelPoolNew(ECHO, 3);
  const p2 = await conn.channelPoolNew(ECHO, 1);
  assert.deepEqual([p1.id, p2.id], [1, 2]);
  assert.deepEqual([p1.count, p1.available, p2.count], [3, 3, 1]);
  assert.equal(conn.pool(), p1);
  assert.equal(conn.pool(2), p2);
  assert.equal(conn.pool(3), undefined);
  assert.equal(p1.ctx, conn.ctx);
  assert.ok(p1.channels.every((c) => c.profile === ECHO && c.isOk()));
  await assert.rejects(conn.channelPoolNew(ECHO, 0), RangeError);
  assert.ok(await conn.close());
});

test('nextReady hands each channel out once until release(); none ready -> null, or a new one with autoInc', async () => {
  const conn = await connect();
  const pool = await conn.channelPoolNew(ECHO, 2);
  const a = await pool.nextReady();
  const b = await pool.nextReady();
  assert.ok(a && b && a !== b);
  assert.equal(pool.available, 0);
  assert.equal(await pool.nextReady(), null, 'no autoInc: null');
  const c = await pool.nextReady(true);
  assert.ok(c && c !== a && c !== b, 'autoInc opened a third channel');
  assert.equal(pool.count, 3);
  assert.equal(pool.release(a), true);
  assert.equal(await pool.nextReady(), a);
  assert.equal((await a.request('hi')).text, 'hi', 'a pooled channel works as any channel');
  assert.equal(pool.release(a), true);
  const other = (await conn.openChannel(0, ECHO))!;
  assert.equal(pool.release(other), false, 'not in the pool');
  assert.ok(await conn.close());
});

test('a channel with a MSG awaiting its reply is not ready, as LibVortex vortex_channel_is_ready', async () => {
  const conn = await connect();
  const pool = await conn.channelPoolNew(SLOW, 1);
  const ch = (await pool.nextReady())!;
  pool.release(ch);
  assert.equal(pool.available, 1);
  assert.equal(ch.isReady(), true);
  const reply = ch.request('wait');
  assert.equal(ch.isReady(), false, 'channel.isReady(): a MSG awaits its reply');
  assert.equal(pool.available, 0, 'outstanding MSG');
  assert.equal(await pool.nextReady(), null);
  for (let i = 0; i < 200 && held.length === 0; i++) await new Promise((r) => setTimeout(r, 5));
  held.shift()!();
  assert.equal((await reply).text, 'late');
  assert.equal(await pool.nextReady(), ch);
  assert.ok(await conn.close());
});

test('concurrent nextReady(true) calls get distinct channels', async () => {
  const conn = await connect();
  const pool = await conn.channelPoolNew(ECHO, 1);
  const got = await Promise.all([pool.nextReady(true), pool.nextReady(true), pool.nextReady(true)]);
  assert.ok(got.every((c) => c !== null));
  assert.equal(new Set(got).size, 3);
  assert.equal(pool.count, 3);
  assert.ok(await conn.close());
});

test('add / remove / closed channels leave / attach / detach / close', async () => {
  const conn = await connect();
  const pool = await conn.channelPoolNew(ECHO, 1);
  assert.equal(await pool.add(2), 2);
  assert.equal(pool.count, 3);
  const busy = (await pool.nextReady())!;
  assert.equal(await pool.remove(5), 2, 'only ready channels are removed (closed)');
  assert.deepEqual(pool.channels, [busy]);
  assert.equal(conn.channelCount, 1);
  assert.ok(await busy.close());
  assert.equal(pool.count, 0, 'a closed channel leaves its pool');
  const own = (await conn.openChannel(0, ECHO))!;
  assert.equal(pool.attach(own), true);
  assert.equal(pool.attach(own), false, 'already in');
  assert.equal(await pool.nextReady(), own);
  assert.equal(pool.detach(own), true);
  assert.equal(pool.count, 0);
  assert.ok(own.isOk(), 'detach does not close');
  pool.attach(own);
  await pool.close();
  assert.equal(conn.pool(pool.id), undefined);
  assert.equal(own.isOk(), false, 'close() closed its ready channel');
  assert.equal(await pool.nextReady(true), null, 'a closed pool hands out nothing');
  assert.ok(await conn.close());
});

test('a refused open: the pool has fewer channels and nextReady(true) gives null with the reason in popChannelError', async () => {
  const conn = await connect();
  refuseStarts = true;
  try {
    const pool = await conn.channelPoolNew(ECHO, 2);
    assert.equal(pool.count, 0);
    assert.equal(await pool.nextReady(true), null);
    const err = conn.popChannelError();
    assert.ok(err !== null && err[0] === 554, String(err));
  } finally {
    refuseStarts = false;
  }
  assert.ok(await conn.close());
});

test('createChannel and frameReceived options: the pool opens through the handler with the user data', async () => {
  const conn = await connect();
  const seen: unknown[] = [];
  const frames: string[] = [];
  const pool = await conn.channelPoolNew(ECHO, 1, {
    createChannel: (c, profile, userData) => {
      seen.push(userData);
      return c.openChannel(0, profile, {
        frameReceived: (_c, _ch, f) => {
          frames.push(f.text);
        },
      });
    },
  });
  assert.deepEqual(seen, [undefined]);
  assert.ok(await pool.nextReady()); // the first one, busy from now on
  const extra = (await pool.nextReady(true, 'next-data'))!;
  assert.deepEqual(seen, [undefined, 'next-data']);
  extra.sendMsg('via handler');
  for (let i = 0; i < 200 && frames.length === 0; i++) await new Promise((r) => setTimeout(r, 5));
  assert.deepEqual(frames, ['via handler']);
  const got: string[] = [];
  const p2 = await conn.channelPoolNew(ECHO, 1, {
    frameReceived: (_c, _ch: Channel, f) => {
      got.push(f.text);
    },
  });
  (await p2.nextReady())!.sendMsg('pool handler');
  for (let i = 0; i < 200 && got.length === 0; i++) await new Promise((r) => setTimeout(r, 5));
  assert.deepEqual(got, ['pool handler']);
  assert.ok(await conn.close());
});
