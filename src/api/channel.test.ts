// Channel sends in both shapes (PyVortex sendRpy(payload, size, msgNo) and TypeScript
// reply(msgNo, payload)), messages in pieces (send*_more), and the pull API (queueReply /
// getReply over an AsyncQueue), over 127.0.0.1.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  Ctx,
  registerProfile,
  createListener,
  Connection,
  AsyncQueue,
  queueReply,
  type Listener,
  type Frame,
  type BeepError,
} from '../index.js';

const TS = 'http://beepwire.test/ts-forms';
const PIECES = 'http://beepwire.test/pieces';
const ECHO = 'http://beepwire.test/echo';
const FAULT = 'http://beepwire.test/fault-in-pieces';

let server: Ctx;
let listener: Listener;
const faults: BeepError[] = [];

before(async () => {
  server = new Ctx();
  server.setOnError((e) => {
    faults.push(e);
  });
  // "rpy:x" -> RPY x, "err:x" -> ERR x, "ans:n" -> n ANS then NUL: the TypeScript forms.
  registerProfile(server, TS, {
    frameReceived: (_c, ch, f) => {
      const [kind, arg = ''] = f.text.split(':');
      if (kind === 'rpy') ch.reply(f.msgNo, arg, { headers: { 'Content-Type': 'text/plain' } });
      else if (kind === 'err') ch.error(f.msgNo, arg);
      else {
        for (let i = 0; i < Number(arg); i++) ch.answer(f.msgNo, `a${i}`);
        ch.finalizeAns(f.msgNo);
      }
    },
  });
  // Replies in pieces, PyVortex shape: "rpy" -> RPY "one two three" in three calls, "err" ->
  // ERR likewise, "ans" -> ANS "x1x2" (two pieces) then ANS "y", then NUL.
  registerProfile(server, PIECES, {
    frameReceived: (_c, ch, f) => {
      const m = f.msgNo;
      if (f.text === 'rpy') {
        ch.sendRpyMore('one ', undefined, m);
        ch.sendRpyMore('two ', undefined, m);
        ch.sendRpy('three', undefined, m);
      } else if (f.text === 'err') {
        ch.sendErrMore('550 ', undefined, m);
        ch.sendErr('no', undefined, m);
      } else {
        ch.sendAnsMore('x1', undefined, m);
        ch.sendAns('x2', undefined, m);
        ch.sendAns('y', undefined, m);
        ch.finalizeAns(m);
      }
    },
  });
  registerProfile(server, ECHO, {
    frameReceived: (_c, ch, f) => {
      if (f.type === 'MSG') ch.sendRpy(f.payload, f.payloadSize, f.msgNo);
    },
  });
  registerProfile(server, FAULT, {
    frameReceived: (_c, ch, f) => {
      ch.sendRpyMore('partial', undefined, f.msgNo);
      throw new Error('boom');
    },
  });
  listener = await createListener(server, '127.0.0.1', 0);
  assert.ok(listener.isOk(), listener.errorMsg);
});

after(async () => {
  await server.exit();
});

async function open(
  profile: string,
  opts = {},
): Promise<{ conn: Connection; ch: NonNullable<Awaited<ReturnType<Connection['openChannel']>>> }> {
  const conn = await Connection.connect(new Ctx(opts), '127.0.0.1', listener.port);
  assert.ok(conn.isOk());
  const ch = await conn.openChannel(0, profile);
  assert.ok(ch, String(conn.popChannelError()));
  return { conn, ch };
}

test('reply / error / answer (TypeScript forms) send what sendRpy / sendErr / sendAns send', async () => {
  const { conn, ch } = await open(TS);
  const r = await ch.request('rpy:hello');
  assert.deepEqual([r.type, r.text, r.contentType], ['RPY', 'hello', 'text/plain']);
  const e = await ch.request('err:nope');
  assert.deepEqual([e.type, e.text], ['ERR', 'nope']);
  const all = await ch.requestAll('ans:3');
  assert.deepEqual(
    all.map((f) => [f.type, f.ansno, f.text]),
    [
      ['ANS', 0, 'a0'],
      ['ANS', 1, 'a1'],
      ['ANS', 2, 'a2'],
      ['NUL', 0, ''],
    ],
  );
  assert.ok(await conn.close());
});

test('sendRpyMore / sendErrMore / sendAnsMore: the peer gets whole messages; per-frame delivery shows the pieces', async () => {
  const { conn, ch } = await open(PIECES);
  assert.equal((await ch.request('rpy')).text, 'one two three');
  const e = await ch.request('err');
  assert.deepEqual([e.type, e.text], ['ERR', '550 no']);
  const all = await ch.requestAll('ans');
  assert.deepEqual(
    all.map((f) => [f.type, f.ansno, f.text]),
    [
      ['ANS', 0, 'x1x2'],
      ['ANS', 1, 'y'],
      ['NUL', 0, ''],
    ],
  );
  assert.ok(await conn.close());
  const pf = await open(PIECES, { perFrame: true });
  const q = new AsyncQueue<Frame>();
  pf.ch.setFrameReceived(queueReply, q);
  pf.ch.sendMsg('rpy');
  const frames: Frame[] = [];
  for (let f = await pf.ch.getReply(q, 5000); f !== null; f = frames.length < 3 ? await pf.ch.getReply(q, 5000) : null) frames.push(f);
  assert.deepEqual(
    frames.map((f) => [f.type, f.more]),
    [
      ['RPY', true],
      ['RPY', true],
      ['RPY', false],
    ],
  );
  assert.equal(frames.map((f) => new TextDecoder().decode(f.content)).join(''), '\r\none two three');
  pf.conn.shutdown();
});

test('setCompleteFlag(false) (PyVortex set_complete_flag) delivers frames on that channel only; true restores whole messages', async () => {
  const { conn, ch } = await open(PIECES);
  const other = (await conn.openChannel(0, PIECES))!;
  assert.equal(ch.getCompleteFlag(), true);
  ch.setCompleteFlag(false);
  assert.equal(ch.getCompleteFlag(), false);
  const q = new AsyncQueue<Frame>();
  ch.setFrameReceived(queueReply, q);
  ch.sendMsg('rpy');
  const frames: Frame[] = [];
  for (let f = await ch.getReply(q, 5000); f !== null; f = frames.length < 3 ? await ch.getReply(q, 5000) : null) frames.push(f);
  assert.deepEqual(
    frames.map((f) => [f.type, f.more]),
    [
      ['RPY', true],
      ['RPY', true],
      ['RPY', false],
    ],
  );
  assert.equal((await other.request('rpy')).text, 'one two three', 'another channel of the session still gets whole messages');
  ch.setCompleteFlag(true);
  ch.setFrameReceived(undefined);
  assert.equal((await ch.request('rpy')).text, 'one two three');
  assert.ok(await conn.close());
  // A context with perFrame: the channel's flag overrides it.
  const pf = await open(PIECES, { perFrame: true });
  assert.equal(pf.ch.getCompleteFlag(), false);
  pf.ch.setCompleteFlag(true);
  assert.equal((await pf.ch.request('rpy')).text, 'one two three');
  assert.ok(await pf.conn.close());
});

test('sendMsgMore then request(): one MSG, completed by the request, answered as a whole', async () => {
  const { conn, ch } = await open(ECHO);
  const n = ch.sendMsgMore('abc');
  assert.equal(typeof n, 'number');
  assert.equal(ch.msgOpen, true);
  assert.equal(ch.sendMsgMore('def'), n, 'same msgno');
  const r = await ch.request('ghi');
  assert.equal(ch.msgOpen, false);
  assert.equal(r.msgno, n);
  assert.equal(r.text, 'abcdefghi');
  await assert.rejects(ch.request('x', { more: true }), RangeError);
  assert.ok(await conn.close());
});

test('a handler that throws with a reply in pieces: the reply is ended (empty last piece) and the fault reported', async () => {
  const { conn, ch } = await open(FAULT);
  const before = faults.length;
  const r = await ch.request('go', { timeout: 5000 });
  assert.deepEqual([r.type, r.text], ['RPY', 'partial']);
  assert.equal(faults.length, before + 1);
  assert.equal(faults.at(-1)?.code, 'BEEP_ERR_HANDLER');
  assert.ok(await conn.close());
});

test('queueReply / getReply: frames queued in order, the handler data is the queue, getReply times out and ends with the channel', async () => {
  const { conn, ch } = await open(ECHO);
  const q = new AsyncQueue<Frame>();
  ch.setFrameReceived(queueReply, q);
  for (const t of ['one', 'two', 'three']) assert.notEqual(ch.sendMsg(t), null);
  const got: string[] = [];
  for (let i = 0; i < 3; i++) got.push((await ch.getReply(q, 5000))!.text);
  assert.deepEqual(got, ['one', 'two', 'three']);
  assert.equal(await ch.getReply(q, 20), null, 'nothing more: null after the timeout');
  assert.equal(conn.session.buffered, 0, 'taken frames gave their budget back');
  ch.sendMsg('held');
  for (let i = 0; i < 200 && q.items === 0; i++) await new Promise((r) => setTimeout(r, 5));
  assert.equal(q.items, 1);
  assert.ok(conn.session.buffered > 0, 'a queued frame counts against the inbound budget');
  const waiting = ch.getReply(new AsyncQueue<Frame>());
  assert.ok(await ch.close());
  assert.equal(await waiting, null, 'a getReply on an empty queue ends when the channel goes');
  assert.equal((await ch.getReply(q))!.text, 'held', 'what was queued stays readable');
  assert.ok(await conn.close());
});

test('setFrameReceived passes its data as the fourth argument; queueReply without a queue is a handler fault', async () => {
  const { conn, ch } = await open(ECHO);
  const seen: unknown[] = [];
  ch.setFrameReceived((_c, _ch, _f, data) => {
    seen.push(data);
  }, 'my-data');
  await ch.request('x').catch(() => undefined); // request() claims its reply: send one more for the handler
  ch.sendMsg('y');
  for (let i = 0; i < 200 && seen.length === 0; i++) await new Promise((r) => setTimeout(r, 5));
  assert.deepEqual(seen, ['my-data']);
  const errors: BeepError[] = [];
  conn.ctx.setOnError((e) => {
    errors.push(e);
  });
  ch.setFrameReceived(queueReply);
  ch.sendMsg('z');
  for (let i = 0; i < 200 && errors.length === 0; i++) await new Promise((r) => setTimeout(r, 5));
  assert.match(String((errors[0]?.cause as Error)?.message), /needs an AsyncQueue/);
  assert.ok(await conn.close());
});
