// API behaviour around the PyVortex shape: listeners, waits, timeouts, refusals, limits.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { Ctx, registerProfile, createListener, waitListeners, unlockListeners, Connection } from '../src/index.js';

const ECHO = 'http://beepwire.test/echo';
const echo = (ctx: Ctx): void => {
  registerProfile(ctx, ECHO, {
    frameReceived: (_c, ch, f) => {
      if (f.type === 'MSG') ch.sendRpy(f.payload, undefined, f.msgNo);
    },
  });
};

test('waitListeners resolves on unlockListeners', async () => {
  const ctx = new Ctx();
  echo(ctx);
  const l = await createListener(ctx, '127.0.0.1', 0);
  assert.ok(l.isOk());
  let done = false;
  const w = waitListeners(ctx).then(() => {
    done = true;
  });
  await new Promise((r) => setTimeout(r, 20));
  assert.equal(done, false);
  unlockListeners(ctx);
  await w;
  assert.equal(done, true);
  await ctx.exit();
});

test('createListener on a port in use reports isOk() false and errorMsg', async () => {
  const ctx = new Ctx();
  const a = await createListener(ctx, '127.0.0.1', 0);
  const b = await createListener(ctx, '127.0.0.1', a.port);
  assert.equal(b.isOk(), false);
  assert.match(b.errorMsg, /EADDRINUSE/);
  await ctx.exit();
});

test('greeting timeout: a peer that never greets leaves isOk() false with a timeout error', async () => {
  const silent = createServer(() => undefined);
  await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
  const port = (silent.address() as { port: number }).port;
  const conn = await Connection.connect(new Ctx({ greetingTimeout: 150 }), '127.0.0.1', port);
  assert.equal(conn.isOk(), false);
  const err = conn.popChannelError();
  assert.ok(err);
  assert.match(err[1], /greeting timed out/);
  silent.close();
});

test('a listener refusing service (421) yields a failed connection with code 421', async () => {
  const ctx = new Ctx();
  echo(ctx);
  const l = await createListener(ctx, '127.0.0.1', 0, { refuse: { code: 421, text: 'maintenance' } });
  const conn = await Connection.connect(new Ctx(), '127.0.0.1', l.port);
  assert.equal(conn.isOk(), false);
  const err = conn.popChannelError();
  assert.deepEqual(err, [421, 'maintenance']); // the code once, not repeated in the text (issue 14)
  await ctx.exit();
});

test('maxChannels: a start beyond the limit is refused with 550, the session goes on', async () => {
  const ctx = new Ctx({ maxChannels: 2 });
  echo(ctx);
  const l = await createListener(ctx, '127.0.0.1', 0);
  const conn = await Connection.connect(new Ctx(), '127.0.0.1', l.port);
  assert.ok(await conn.openChannel(0, ECHO));
  assert.ok(await conn.openChannel(0, ECHO));
  assert.equal(await conn.openChannel(0, ECHO), null);
  assert.equal(conn.popChannelError()?.[0], 550);
  assert.ok(conn.isOk());
  assert.ok(await conn.close());
  await ctx.exit();
});

test('maxMessage: an oversized message ends that session with BEEP_ERR_MESSAGE_TOO_LARGE', async () => {
  const ctx = new Ctx({ maxMessage: 10_000 });
  echo(ctx);
  let serverErr: Error | undefined;
  const l = await createListener(ctx, '127.0.0.1', 0, {
    onAccept: (c) =>
      c.setOnClose((_c, e) => {
        serverErr = e;
      }),
  });
  const conn = await Connection.connect(new Ctx(), '127.0.0.1', l.port);
  const ch = (await conn.openChannel(0, ECHO))!;
  const closed = new Promise<void>((r) => conn.setOnClose(() => r()));
  ch.sendMsg(new Uint8Array(20_000));
  await closed;
  assert.equal((serverErr as { code?: string }).code, 'BEEP_ERR_MESSAGE_TOO_LARGE');
  assert.equal(conn.isOk(), false);
  await ctx.exit();
});

test('serverName is fixed by the first successful start', async () => {
  const ctx = new Ctx();
  const names: Array<string | undefined> = [];
  registerProfile(ctx, ECHO, {
    start: (i) => {
      names.push(i.serverName);
      return true;
    },
  });
  const l = await createListener(ctx, '127.0.0.1', 0);
  const conn = await Connection.connect(new Ctx(), '127.0.0.1', l.port);
  await conn.openChannel(0, ECHO, { serverName: 'first.example' });
  await conn.openChannel(0, ECHO, { serverName: 'second.example' });
  assert.deepEqual(names, ['first.example', 'second.example']);
  assert.equal(conn.serverName, 'first.example');
  const [server] = l.connections;
  assert.ok(server, 'the listener holds the connection');
  assert.equal(server.serverName, 'first.example');
  assert.ok(await conn.close());
  await ctx.exit();
});

test('piggybacked start content reaches the start handler and its reply content comes back', async () => {
  const ctx = new Ctx();
  registerProfile(ctx, ECHO, { start: (i) => ({ content: `got ${i.content}` }) });
  const l = await createListener(ctx, '127.0.0.1', 0);
  const conn = await Connection.connect(new Ctx(), '127.0.0.1', l.port);
  const ch = await conn.openChannel(0, ECHO, { content: Buffer.from('hello <&>').toString('base64'), encoding: 'base64' });
  assert.ok(ch);
  assert.equal(ch.startReply, 'got hello <&>');
  assert.ok(await conn.close());
  await ctx.exit();
});

test('NUL on the wire: the empty MIME header block (size 2, as LibVortex) by default, size 0 with { bare: true }', async () => {
  const { RawPeer } = await import('./session/raw.js');
  const ctx = new Ctx();
  const ANS = 'http://beepwire.test/ans';
  registerProfile(ctx, ANS, {
    frameReceived: (_c, ch, f) => {
      if (f.type !== 'MSG') return;
      ch.sendAns('x', undefined, f.msgNo);
      ch.finalizeAns(f.msgNo, { bare: f.text === 'bare' });
    },
  });
  const l = await createListener(ctx, '127.0.0.1', 0);
  const p = await RawPeer.connect(l.port);
  await p.greetAndStart(ANS);
  await p.send(p.frame('MSG', 1, 0, '\r\nmime') + p.frame('MSG', 1, 1, '\r\nbare'));
  const got = await p.waitFor(/NUL 1 1 \. \d+ \d+\r\n/);
  // ANS 0 (3 octets: CRLF + "x") at seqno 0, NUL at 3 with its CRLF; then msg 1's ANS at 5, NUL at 8, empty.
  assert.match(
    got,
    /ANS 1 0 \. 0 3 0\r\n\r\nxEND\r\nNUL 1 0 \. 3 2\r\n\r\nEND\r\nANS 1 1 \. 5 3 0\r\n\r\nxEND\r\nNUL 1 1 \. 8 0\r\nEND\r\n/,
  );
  p.socket.destroy();
  await ctx.exit();
});

test('isOk() is false as soon as await close() resolved true (issue 14)', async () => {
  const ctx = new Ctx();
  echo(ctx);
  const l = await createListener(ctx, '127.0.0.1', 0);
  const conn = await Connection.connect(new Ctx(), '127.0.0.1', l.port);
  assert.ok(conn.isOk());
  assert.ok(await conn.close());
  assert.equal(conn.isOk(), false);
  await ctx.exit();
});

test('a frame handler that throws or rejects: reported through setOnError, the MSG gets ERR 451, the session carries on', async () => {
  const ctx = new Ctx();
  const faults: string[] = [];
  ctx.setOnError((err, where) => {
    faults.push(`${err.code} ${(err.cause as Error)?.message} ch${where.channel?.number}`);
  });
  registerProfile(ctx, ECHO, {
    frameReceived: (_c, ch, f) => {
      if (f.text === 'throw') throw new Error('boom');
      if (f.text === 'reject') return Promise.reject(new Error('later'));
      ch.sendRpy(f.payload, undefined, f.msgNo);
    },
  });
  const l = await createListener(ctx, '127.0.0.1', 0);
  const conn = await Connection.connect(new Ctx(), '127.0.0.1', l.port);
  const ch = (await conn.openChannel(0, ECHO))!;
  const a = await ch.request('throw');
  const b = await ch.request('reject');
  assert.equal(a.type, 'ERR');
  assert.match(a.text, /code='451'/);
  assert.equal(b.type, 'ERR');
  assert.equal((await ch.request('ok')).text, 'ok');
  assert.deepEqual(faults, ['BEEP_ERR_HANDLER boom ch1', 'BEEP_ERR_HANDLER later ch1']);
  assert.ok(await conn.close());
  await ctx.exit();
});

test("openChannel(0, '') (the PyVortex manual's form): null with 501 in popChannelError, and a peer's malformed <start> is answered, not fatal (issue 14)", async () => {
  const ctx = new Ctx();
  echo(ctx);
  const l = await createListener(ctx, '127.0.0.1', 0);
  const conn = await Connection.connect(new Ctx(), '127.0.0.1', l.port);
  assert.equal(await conn.openChannel(0, ''), null);
  assert.deepEqual(conn.popChannelError(), [501, 'a profile URI must be a non-empty string']);
  // The same start sent on the wire anyway: the listener answers 501 and the session stays up.
  const st = conn.session.mgmt.startChannel(1, [{ uri: '', encoding: 'none' }]);
  await assert.rejects(st, (e: Error & { replyCode?: number }) => e.replyCode === 501);
  assert.ok(conn.isOk());
  assert.ok(await conn.openChannel(0, ECHO));
  assert.ok(await conn.close());
  await ctx.exit();
});

test('popChannelError never gives code 0: a connection refused is 421 (the manual loops while err_code)', async () => {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  const port = (srv.address() as { port: number }).port;
  await new Promise<void>((r) => srv.close(() => r()));
  const conn = await Connection.connect(new Ctx(), '127.0.0.1', port);
  assert.equal(conn.isOk(), false);
  const e = conn.popChannelError();
  assert.equal(e?.[0], 421, String(e));
  assert.equal(conn.popChannelError(), null, 'one failure, one entry');
});
