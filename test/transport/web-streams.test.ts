// The generic Web Streams transport and the seam around it, in memory: two Connections joined
// by a pair of TransformStreams, no socket anywhere.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  Ctx,
  Connection,
  registerProfile,
  createListener,
  WebStreamsTransport,
  type TransportFactory,
  type StreamPair,
} from '../../src/index.js';

const ECHO = 'urn:beepwire:test:echo';

/** Two stream pairs joined back to back: what one writes, the other reads. */
function pipePair(): [StreamPair, StreamPair] {
  const ab = new TransformStream<Uint8Array, Uint8Array>();
  const ba = new TransformStream<Uint8Array, Uint8Array>();
  return [
    { readable: ba.readable, writable: ab.writable },
    { readable: ab.readable, writable: ba.writable },
  ];
}

/** A listener context that echoes, and a factory whose connect() reaches it in memory. */
function memoryPeer(): { listenerCtx: Ctx; factory: TransportFactory; accepted: Connection[] } {
  const listenerCtx = new Ctx();
  registerProfile(listenerCtx, ECHO, {
    start: () => ({ maxMessage: 4 << 20 }),
    frameReceived: (_c, ch, f) => {
      if (f.type === 'MSG') ch.sendRpy(f.payload, undefined, f.msgNo);
    },
  });
  const accepted: Connection[] = [];
  const factory: TransportFactory = {
    kind: 'memory',
    serverTls: false,
    connect: () => {
      const [mine, theirs] = pipePair();
      accepted.push(Connection.accept(listenerCtx, new WebStreamsTransport(theirs, { kind: 'memory' })));
      return new WebStreamsTransport(mine, { kind: 'memory' });
    },
  };
  return { listenerCtx, factory, accepted };
}

test('Web Streams transport: greetings, an echo and an orderly release between two in-memory sessions', async () => {
  const { listenerCtx, factory, accepted } = memoryPeer();
  const conn = await Connection.connect(new Ctx(), 'memory', 0, { transport: factory });
  assert.ok(conn.isOk(), JSON.stringify(conn.popChannelError()));
  assert.equal(conn.transport.kind, 'memory');
  assert.deepEqual(conn.remoteProfiles, [ECHO]);
  const ch = await conn.openChannel(0, ECHO);
  assert.ok(ch);
  assert.equal((await ch.request('over streams')).text, 'over streams');
  assert.equal(await conn.close(), true);
  assert.equal(accepted.length, 1);
  const [server] = accepted;
  assert.ok(server, 'the listener accepted the connection');
  for (let i = 0; i < 100 && server.isOk(); i++) await new Promise((r) => setTimeout(r, 5));
  assert.equal(server.isOk(), false, 'the listener side saw the release');
  await listenerCtx.exit();
});

test("Web Streams transport: a 3 MiB message crosses the window and the writer's backpressure intact", async () => {
  const { listenerCtx, factory } = memoryPeer();
  const conn = await Connection.connect(new Ctx(), 'memory', 0, { transport: factory });
  const ch = (await conn.openChannel(0, ECHO))!;
  const big = new Uint8Array(3 << 20);
  for (let i = 0; i < big.length; i++) big[i] = (i * 7 + (i >>> 9)) & 0xff;
  const reply = await ch.request(big, { timeout: 20_000 });
  assert.equal(reply.payload.length, big.length);
  assert.ok(
    reply.payload.every((b, i) => b === big[i]),
    'octets in order',
  );
  await conn.close();
  await listenerCtx.exit();
});

test('Web Streams transport: the peer closing its stream ends the session with a recorded error', async () => {
  const [mine, theirs] = pipePair();
  const factory: TransportFactory = { kind: 'memory', serverTls: false, connect: () => new WebStreamsTransport(mine) };
  const listening = new Ctx();
  registerProfile(listening, ECHO);
  const peer = Connection.accept(listening, new WebStreamsTransport(theirs));
  const conn = await Connection.connect(new Ctx(), 'memory', 0, { transport: factory });
  assert.ok(conn.isOk());
  peer.shutdown();
  for (let i = 0; i < 100 && conn.isOk(); i++) await new Promise((r) => setTimeout(r, 5));
  assert.equal(conn.isOk(), false);
  const err = conn.popChannelError();
  assert.ok(err !== null && err[0] === 421, `recorded: ${JSON.stringify(err)}`);
});

test('Web Streams transport: a connection that fails to open is not OK and says why', async () => {
  const factory: TransportFactory = {
    kind: 'memory',
    serverTls: false,
    connect: () => new WebStreamsTransport(Promise.reject(new Error('no route to the moon'))),
  };
  const conn = await Connection.connect(new Ctx(), 'moon', 1, { transport: factory });
  assert.equal(conn.isOk(), false);
  assert.match(conn.popChannelError()?.[1] ?? '', /no route to the moon/);
});

test('A transport that cannot listen gives a listener that is not OK, with the reason', async () => {
  const factory: TransportFactory = {
    kind: 'workerd-like',
    serverTls: false,
    connect: () => {
      throw new Error('unused');
    },
  };
  const l = await createListener(new Ctx({ transport: factory }), '127.0.0.1', 0);
  assert.equal(l.isOk(), false);
  assert.match(l.errorMsg, /cannot listen/);
});

test('A listener-side TLS start over a transport that cannot accept TLS is refused with 421, not attempted', async () => {
  const { tls } = await import('../../src/index.js');
  const { listenerCtx, factory } = memoryPeer();
  tls.acceptTls(listenerCtx, { certHandler: () => 'unused', keyHandler: () => 'unused' });
  const conn = await Connection.connect(new Ctx(), 'memory', 0, { transport: factory });
  assert.equal(await tls.startTls(conn, { rejectUnauthorized: false }), false);
  const err = conn.popChannelError();
  assert.ok(err !== null && err[0] === 421 && /not available on the memory transport/.test(err[1]), JSON.stringify(err));
  await listenerCtx.exit();
});
