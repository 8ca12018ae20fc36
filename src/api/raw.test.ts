// The zero-allocation handler form (ProfileHandlers.rawReceived, Channel.setRawReceived,
// Channel.replyRaw) over 127.0.0.1: content as octets of the chunk, replies in MSG order,
// request() still resolving with a Frame, messages of several frames, faults answered ERR 451.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  Ctx,
  registerProfile,
  createListener,
  Connection,
  Pieces,
  WebStreamsTransport,
  type Channel,
  type BeepError,
  type TransportFactory,
} from '../index.js';

const RAW = 'http://beepwire.test/raw-echo';
const enc = new TextEncoder();
const dec = new TextDecoder();

/** A listener whose profile echoes every MSG's content verbatim through the raw form; "throw" and "reject" fault. */
async function rawListener(opts: { sendFrameSize?: number; mime?: boolean } = {}) {
  const ctx = new Ctx(opts.sendFrameSize === undefined ? {} : { sendFrameSize: opts.sendFrameSize });
  const faults: BeepError[] = [];
  ctx.setOnError((e) => {
    faults.push(e);
  });
  const seen: Array<{ type: string; msgno: number; text: string }> = [];
  registerProfile(ctx, RAW, {
    ...(opts.mime === undefined ? {} : { mime: opts.mime }),
    rawReceived: (ch, type, msgno, _ansno, bytes, offset, length) => {
      const text = dec.decode(bytes.subarray(offset, offset + length));
      seen.push({ type, msgno, text });
      if (text.endsWith('throw')) throw new Error('raw handler fault');
      if (text.endsWith('reject')) return Promise.reject(new Error('raw handler rejection'));
      if (type === 'MSG') ch.replyRaw(msgno, bytes, offset, length);
      return undefined;
    },
  });
  const listener = await createListener(ctx, '127.0.0.1', 0);
  return { ctx, listener, faults, seen };
}

test('rawReceived echoes content verbatim with replyRaw; request() resolves with a Frame whose payload is the body', async () => {
  const { ctx, listener, seen } = await rawListener();
  const conn = await Connection.connect(new Ctx(), '127.0.0.1', listener.port);
  const ch = (await conn.openChannel(0, RAW))!;
  const reply = await ch.request('hello raw', { headers: { 'Content-Type': 'text/plain' } });
  assert.equal(reply.type, 'RPY');
  assert.equal(reply.text, 'hello raw');
  assert.equal(reply.contentType, 'text/plain', 'the MIME header block went back as it came');
  assert.deepEqual(seen, [{ type: 'MSG', msgno: reply.msgno, text: 'Content-Type: text/plain\r\n\r\nhello raw' }]);
  await conn.close();
  await ctx.exit();
});

test('setRawReceived on the client: replies arrive as (type, msgno, octets) in MSG order, nothing else runs', async () => {
  const { ctx, listener } = await rawListener();
  const conn = await Connection.connect(new Ctx(), '127.0.0.1', listener.port);
  const ch = (await conn.openChannel(0, RAW, { frameReceived: () => assert.fail('the raw handler takes precedence') }))!;
  const got: Array<[string, number, string]> = [];
  const done = new Promise<void>((resolve) => {
    ch.setRawReceived((c, type, msgno, ansno, bytes, offset, length) => {
      assert.equal(c, ch);
      assert.equal(ansno, 0);
      got.push([type, msgno, dec.decode(bytes.subarray(offset, offset + length))]);
      if (got.length === 200) resolve();
    });
  });
  const sent: number[] = [];
  for (let i = 0; i < 200; i++) sent.push(ch.sendMsg(`m${i}`)!);
  await done;
  assert.deepEqual(
    got,
    sent.map((msgno, i) => ['RPY', msgno, `\r\n${'m'}${i}`]),
  );
  assert.equal(ch.outstanding, 0);
  // request() on the same channel still resolves with a Frame.
  ch.setRawReceived((_c, type) => assert.fail(`a reply to request() reached the raw handler (${type})`));
  assert.equal((await ch.request('via request')).text, 'via request');
  await conn.close();
  await ctx.exit();
});

test('a message of several frames and one cut by a small frame size reach the raw handler whole', async () => {
  const { ctx, listener, seen } = await rawListener({ sendFrameSize: 1000 });
  const conn = await Connection.connect(new Ctx({ sendFrameSize: 700 }), '127.0.0.1', listener.port);
  const ch = (await conn.openChannel(0, RAW))!;
  const big = 'x'.repeat(5000);
  const reply = await ch.request(big); // 7+ frames each way
  assert.equal(reply.text, big);
  assert.equal(seen.at(-1)?.text, `\r\n${big}`);
  // Pieces sent with sendMsgMore arrive as one message too.
  ch.sendMsgMore('ab');
  const r2 = await ch.request('cd');
  assert.equal(r2.text, 'abcd');
  await conn.close();
  await ctx.exit();
});

test('raw and frame handlers together: messages whole in one read go raw, the others to frameReceived, echoed in pieces with replyRaw', async () => {
  const ctx = new Ctx();
  const HYBRID = 'http://beepwire.test/hybrid-echo';
  const pieces: number[] = [];
  let raw = 0;
  registerProfile(ctx, HYBRID, {
    rawReceived: (ch, type, msgno, _ansno, bytes, offset, length) => {
      raw++;
      if (type === 'MSG') ch.replyRaw(msgno, bytes, offset, length);
    },
    frameReceived: (_c, ch, f) => {
      pieces.push(f.contentParts.length);
      if (f.type === 'MSG') ch.replyRaw(f.msgno, f.contentParts); // never joined
    },
  });
  const listener = await createListener(ctx, '127.0.0.1', 0);
  const conn = await Connection.connect(new Ctx(), '127.0.0.1', listener.port);
  const ch = (await conn.openChannel(0, HYBRID))!;
  assert.equal((await ch.request('small')).text, 'small');
  assert.equal(raw, 1);
  const big = new Uint8Array(3 << 20).map((_, i) => (i * 31) & 0xff); // several frames and reads each way
  const reply = await ch.request(big);
  assert.equal(pieces.length, 1);
  assert.ok(pieces[0]! > 1, `the large MSG arrived in pieces (${pieces[0]})`);
  assert.equal(reply.payload.length, big.length);
  assert.ok(Buffer.from(reply.payload).equals(Buffer.from(big)), 'echoed intact');
  assert.equal(raw, 1);
  await conn.close();
  await ctx.exit();
});

test('replyRaw with pieces over a transport without writeFrame (Web Streams): the frames carry the pieces joined', async () => {
  const ctx = new Ctx();
  const ECHO = 'http://beepwire.test/pieces-echo';
  registerProfile(ctx, ECHO, {
    frameReceived: (_c, ch, f) => {
      if (f.type === 'MSG') ch.replyRaw(f.msgno, [...f.contentParts, enc.encode('!')]); // at least two pieces
    },
  });
  const ab = new TransformStream<Uint8Array, Uint8Array>();
  const ba = new TransformStream<Uint8Array, Uint8Array>();
  const factory: TransportFactory = {
    kind: 'memory',
    serverTls: false,
    connect: () => {
      Connection.accept(ctx, new WebStreamsTransport({ readable: ab.readable, writable: ba.writable }));
      return new WebStreamsTransport({ readable: ba.readable, writable: ab.writable });
    },
  };
  const conn = await Connection.connect(new Ctx({ sendFrameSize: 1000 }), 'memory', 0, { transport: factory });
  const ch = (await conn.openChannel(0, ECHO))!;
  assert.equal((await ch.request('abc')).text, 'abc!');
  const big = 'y'.repeat(200_000);
  assert.equal((await ch.request(big)).text, `${big}!`);
  await conn.close();
  await ctx.exit();
});

test('Pieces: subarray across pieces, join', () => {
  const p = new Pieces([enc.encode('abc'), enc.encode('de'), enc.encode('fghi')]);
  assert.equal(p.length, 9);
  const str = (b: Uint8Array | Pieces): string => dec.decode(b instanceof Pieces ? b.join() : b);
  assert.equal(str(p.subarray(0, 9)), 'abcdefghi');
  assert.equal(str(p.subarray(1, 2)), 'b');
  assert.ok(!(p.subarray(1, 2) instanceof Pieces), 'a view of one piece');
  assert.equal(str(p.subarray(2, 6)), 'cdef');
  assert.equal(str(p.subarray(3, 5)), 'de');
  assert.equal(p.subarray(4, 4).length, 0);
  assert.equal(new Pieces([new Uint8Array(0), enc.encode('x')]).parts.length, 1);
});

test('a raw handler that throws or rejects: reported through setOnError, the MSG gets ERR 451, the session carries on', async () => {
  const { ctx, listener, faults } = await rawListener({ mime: false });
  const conn = await Connection.connect(new Ctx(), '127.0.0.1', listener.port);
  const ch = (await conn.openChannel(0, RAW)) as Channel;
  const a = await ch.request('please throw');
  assert.equal(a.type, 'ERR');
  assert.match(a.text, /code='451'/);
  const b = await ch.request('please reject');
  assert.equal(b.type, 'ERR');
  assert.equal(faults.length, 2);
  assert.equal(faults[0]?.code, 'BEEP_ERR_HANDLER');
  assert.equal((await ch.request(enc.encode('still here'))).text, 'still here', 'mime off: content and payload are the same');
  await conn.close();
  await ctx.exit();
});

test('replyRaw checks its arguments', async () => {
  const { ctx, listener } = await rawListener();
  const conn = await Connection.connect(new Ctx(), '127.0.0.1', listener.port);
  const ch = (await conn.openChannel(0, RAW))!;
  assert.throws(() => ch.replyRaw(-1, new Uint8Array(1)), RangeError);
  assert.throws(() => ch.replyRaw(0, new Uint8Array(4), 3, 2), RangeError);
  assert.throws(() => ch.replyRaw(0, 'text' as unknown as Uint8Array), TypeError);
  assert.throws(() => ch.replyRaw(12345, new Uint8Array(1)), RangeError, 'no such MSG awaiting a reply');
  assert.throws(() => ch.replyRaw(0, [new Uint8Array(1)], 0, 1), RangeError, 'no range with pieces');
  assert.throws(() => ch.replyRaw(0, ['x' as unknown as Uint8Array]), TypeError);
  await conn.close();
  await ctx.exit();
});
