// Connection parity items (issue 14): application data by string key, local port, removable
// close handlers, channels by profile URI, the blocked state, over 127.0.0.1.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Ctx, registerProfile, createListener, Connection, ConnectionSlot, type Listener } from '../index.js';

const A = 'http://beepwire.test/a';
const B = 'http://beepwire.test/b';
let server: Ctx;
let listener: Listener;

before(async () => {
  server = new Ctx();
  registerProfile(server, A, {
    frameReceived: (_c, ch, f) => {
      if (f.type === 'MSG') ch.reply(f.msgno, f.payload);
    },
  });
  registerProfile(server, B, {});
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

test('setData / getData: string keys, any value, null or undefined removes; apart from ConnectionSlot values', async () => {
  const conn = await connect();
  assert.equal(conn.getData('user'), undefined);
  conn.setData('user', { name: 'bob' });
  conn.setData('n', 0);
  assert.deepEqual(conn.getData('user'), { name: 'bob' });
  assert.equal(conn.getData('n'), 0, 'falsy values are kept');
  const slot = new ConnectionSlot<string>('user');
  conn.set(slot, 'typed');
  assert.deepEqual(conn.getData('user'), { name: 'bob' }, 'a slot named like a key is another entry');
  conn.setData('user', null);
  conn.setData('n', undefined);
  assert.equal(conn.getData('user'), undefined);
  assert.equal(conn.getData('n'), undefined);
  assert.equal(conn.get(slot), 'typed');
  assert.throws(() => conn.setData(1 as unknown as string, 'x'), TypeError);
  assert.ok(await conn.close());
});

test('localPort and localAddress name our end; the listener side sees it as the peer port', async () => {
  const accepted: Connection[] = [];
  const ctx = new Ctx();
  const l = await createListener(ctx, '127.0.0.1', 0, {
    onAccept: (c) => {
      accepted.push(c);
    },
  });
  const conn = await Connection.connect(new Ctx(), '127.0.0.1', l.port);
  assert.equal(typeof conn.localPort, 'number');
  assert.equal(conn.localPort, conn.localAddress?.port);
  assert.equal(conn.localAddress?.host, '127.0.0.1');
  const server = accepted[0];
  assert.ok(server, 'the listener accepted the connection');
  assert.equal(server.port, conn.localPort);
  assert.equal(server.localPort, l.port);
  await conn.close();
  await ctx.exit();
});

test('removeOnClose: a removed handler is not called; setOnClose returns the handle; unknown handlers give false', async () => {
  const conn = await connect();
  const calls: string[] = [];
  const keep = conn.setOnClose(() => {
    calls.push('keep');
  });
  const drop = conn.setOnClose(() => {
    calls.push('drop');
  });
  assert.equal(conn.removeOnClose(drop), true);
  assert.equal(conn.removeOnClose(drop), false);
  assert.equal(
    conn.removeOnClose(() => undefined),
    false,
  );
  assert.equal(typeof keep, 'function');
  assert.equal(conn.errorMsg, '');
  conn.shutdown(new Error('gone on purpose'));
  assert.deepEqual(calls, ['keep']);
  assert.equal(conn.errorMsg, 'gone on purpose');
});

test('findByUri lists the open channels running a profile', async () => {
  const conn = await connect();
  const a1 = await conn.openChannel(0, A);
  const b1 = await conn.openChannel(0, B);
  const a2 = await conn.openChannel(0, A);
  assert.deepEqual(
    conn.findByUri(A).map((c) => c.number),
    [a1!.number, a2!.number],
  );
  assert.deepEqual(conn.findByUri(B), [b1]);
  assert.deepEqual(conn.findByUri('http://beepwire.test/none'), []);
  assert.ok(await a1!.close());
  assert.deepEqual(conn.findByUri(A), [a2]);
  assert.ok(await conn.close());
});

test('isBlocked follows block()', async () => {
  const conn = await connect();
  assert.equal(conn.isBlocked(), false);
  conn.block(true);
  assert.equal(conn.isBlocked(), true);
  conn.block(false);
  assert.equal(conn.isBlocked(), false);
  assert.ok(await conn.close());
});

test('hostIp (PyVortex conn.host_ip): the address connected to, where host is the name given', async () => {
  const conn = await Connection.connect(new Ctx(), 'localhost', listener.port);
  if (!conn.isOk()) return assert.fail(String(conn.popChannelError())); // localhost must resolve to 127.0.0.1 here
  assert.equal(conn.host, 'localhost');
  assert.equal(conn.hostIp, '127.0.0.1');
  assert.ok(await conn.close());
});
