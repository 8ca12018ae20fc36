// End-to-end sessions over 127.0.0.1: exchange styles, fragmentation, large messages,
// out-of-order application replies, many channels, close races, back-pressure.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Ctx, registerProfile, createListener, Connection, type Listener, type Channel, type Frame } from '../../src/index.js';

const ECHO = 'http://beepwire.test/echo';
const ERRP = 'http://beepwire.test/err';
const ANSP = 'http://beepwire.test/ans';
const REVERSE = 'http://beepwire.test/reverse';
const SINK = 'http://beepwire.test/sink';

let server: Ctx;
let listener: Listener;
const reversed: Array<{ channel: Channel; msgNo: number; text: string }> = [];

before(async () => {
  server = new Ctx({ sendFrameSize: 16384 });
  registerProfile(server, ECHO, {
    frameReceived: (_c, ch, f) => {
      if (f.type === 'MSG') ch.sendRpy(f.payload, undefined, f.msgNo);
    },
  });
  registerProfile(server, ERRP, {
    frameReceived: (_c, ch, f) => {
      ch.sendErr(`refused: ${f.text}`, undefined, f.msgNo);
    },
  });
  registerProfile(server, ANSP, {
    frameReceived: (_c, ch, f) => {
      const n = Number(f.text);
      for (let i = 0; i < n; i++) ch.sendAns(`answer ${i}`, undefined, f.msgNo);
      ch.finalizeAns(f.msgNo);
    },
  });
  // Holds 5 MSGs, then answers them newest first: the session must still send them in order.
  registerProfile(server, REVERSE, {
    frameReceived: (_c, ch, f) => {
      reversed.push({ channel: ch, msgNo: f.msgNo, text: f.text });
      if (reversed.length === 5) for (const r of reversed.splice(0).reverse()) r.channel.sendRpy(`re:${r.text}`, undefined, r.msgNo);
    },
  });
  registerProfile(server, SINK, {}); // no handler: frames go to the channel's async iterator
  listener = await createListener(server, '127.0.0.1', 0);
  assert.ok(listener.isOk(), listener.errorMsg);
});

after(async () => {
  await server.exit();
});

async function client(opts = {}): Promise<Connection> {
  const ctx = new Ctx(opts);
  const conn = await Connection.connect(ctx, '127.0.0.1', listener.port);
  assert.ok(conn.isOk(), String(conn.popChannelError()));
  return conn;
}

test('MSG/RPY echo with request(), MIME body and content type', async () => {
  const conn = await client();
  const ch = (await conn.openChannel(0, ECHO))!;
  assert.ok(ch, 'channel opened');
  assert.equal(ch.number % 2, 1, 'initiator channels are odd');
  const r = await ch.request('hello', { headers: { 'Content-Type': 'text/plain' } });
  assert.equal(r.type, 'RPY');
  assert.equal(r.text, 'hello');
  assert.equal(r.contentType, 'application/octet-stream', 'echo sends the body back without headers');
  assert.ok(await conn.close());
});

test('MSG/ERR', async () => {
  const conn = await client();
  const ch = (await conn.openChannel(0, ERRP))!;
  const r = await ch.request('x');
  assert.equal(r.type, 'ERR');
  assert.equal(r.text, 'refused: x');
  assert.ok(await conn.close());
});

test('MSG/ANS...NUL with requestAll()', async () => {
  const conn = await client();
  const ch = (await conn.openChannel(0, ANSP))!;
  const frames = await ch.requestAll('30');
  assert.equal(frames.length, 31);
  assert.deepEqual(
    frames.slice(0, 30).map((f) => [f.type, f.ansno, f.text]),
    Array.from({ length: 30 }, (_, i) => ['ANS', i, `answer ${i}`]),
  );
  assert.equal(frames[30]!.type, 'NUL');
  const none = await ch.requestAll('0');
  assert.deepEqual(
    none.map((f) => f.type),
    ['NUL'],
    'zero ANS then NUL',
  );
  assert.ok(await conn.close());
});

test('replies go out in MSG order when the application answers out of order (RFC 3080 §2.6.1)', async () => {
  const conn = await client();
  const ch = (await conn.openChannel(0, REVERSE))!;
  const order: number[] = [];
  const got = new Promise<Frame[]>((resolve) => {
    const frames: Frame[] = [];
    ch.setFrameReceived((_c, _ch, f) => {
      order.push(f.msgNo);
      frames.push(f);
      if (frames.length === 5) resolve(frames);
    });
  });
  const msgnos = ['a', 'b', 'c', 'd', 'e'].map((t) => ch.sendMsg(t));
  const frames = await got;
  assert.deepEqual(order, msgnos, 'RPYs arrive in the order the MSGs were sent');
  assert.deepEqual(
    frames.map((f) => f.text),
    ['re:a', 're:b', 're:c', 're:d', 're:e'],
  );
  assert.ok(await conn.close());
});

test('fragmentation: small frames both ways, window-limited', async () => {
  const conn = await client({ sendFrameSize: 1000, window: 4096 });
  const ch = (await conn.openChannel(0, ECHO))!;
  const body = new Uint8Array(300_000).map((_, i) => (i * 7) & 0xff);
  const r = await ch.request(body);
  assert.equal(r.payloadSize, body.length);
  assert.deepEqual(r.payload, body);
  assert.ok(await conn.close());
});

test('large message (8 MiB) echoed intact', async () => {
  const conn = await client();
  const ch = (await conn.openChannel(0, ECHO))!;
  const body = new Uint8Array(8 << 20);
  for (let i = 0; i < body.length; i += 4096) body[i] = (i >> 12) & 0xff;
  const r = await ch.request(body);
  assert.equal(r.payloadSize, body.length);
  assert.ok(Buffer.from(r.payload).equals(Buffer.from(body)));
  assert.ok(await conn.close());
});

test('many channels on one session, interleaved traffic', async () => {
  const conn = await client();
  const chans = await Promise.all(Array.from({ length: 40 }, () => conn.openChannel(0, ECHO)));
  assert.ok(chans.every((c) => c !== null));
  assert.equal(new Set(chans.map((c) => c!.number)).size, 40);
  const replies = await Promise.all(chans.flatMap((c) => [1, 2, 3].map((k) => c!.request(`${c!.number}:${k}`))));
  assert.deepEqual(
    replies.map((r) => r.text),
    chans.flatMap((c) => [1, 2, 3].map((k) => `${c!.number}:${k}`)),
  );
  assert.equal(conn.channelCount, 40);
  assert.ok((await Promise.all(chans.map((c) => c!.close()))).every(Boolean));
  assert.equal(conn.channelCount, 0);
  assert.ok(await conn.close());
});

test('refused start: unknown profile gives null and a 554 in popChannelError()', async () => {
  const conn = await client();
  const ch = await conn.openChannel(0, 'http://beepwire.test/none');
  assert.equal(ch, null);
  const err = conn.popChannelError();
  assert.ok(err);
  assert.equal(err[0], 554);
  assert.equal(conn.popChannelError(), null);
  assert.ok(conn.isOk(), 'a refused start leaves the session running');
  assert.ok(await conn.close());
});

test('both peers close the same channel at once', async () => {
  const conn = await client();
  const ch = (await conn.openChannel(0, ECHO))!;
  await ch.request('warm up');
  // Find the listener side of this channel and close from both ends in the same tick.
  const serverConn = [...listener.connections].find((c) => c.getChannel(ch.number) && c.port === conn.localAddress?.port)!;
  assert.ok(serverConn, 'listener side found');
  const both = await Promise.all([ch.close(), serverConn.getChannel(ch.number)!.close()]);
  assert.deepEqual(both, [true, true]);
  assert.equal(conn.channelCount, 0);
  assert.equal(serverConn.channelCount, 0);
  const again = (await conn.openChannel(0, ECHO))!;
  assert.equal((await again.request('after')).text, 'after', 'session still usable');
  assert.ok(await conn.close());
});

test('slow consumer: the window stops, memory does not grow', async () => {
  const conn = await client({ window: 65536, maxWindow: 65536 });
  const ch = (await conn.openChannel(0, SINK))!;
  const serverConn = [...listener.connections].find((c) => c.port === conn.localAddress?.port)!;
  const sch = serverConn.getChannel(ch.number)!;
  sch.highWaterMark = 4;
  // The client pushes 200 x 16 KiB; the listener reads nothing for a while.
  const blob = new Uint8Array(16384);
  for (let i = 0; i < 200; i++) assert.notEqual(ch.sendMsg(blob), null);
  await new Promise((r) => setTimeout(r, 200));
  const queued = ch.state.sendQueue.length;
  assert.ok(queued > 100, `most messages wait for window on the sender (queued ${queued})`);
  let n = 0;
  for await (const f of sch) {
    assert.equal(f.payloadSize, 16384);
    sch.sendRpy('', 0, f.msgNo);
    if (++n === 200) break;
  }
  assert.equal(n, 200);
  assert.ok(await conn.close());
});
