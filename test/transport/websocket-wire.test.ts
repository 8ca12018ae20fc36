// The BEEP-over-WebSocket wire, against hand-written peers (ws): BEEP frames split and merged
// across WebSocket messages at will, TEXT frames whose octets are not UTF-8 (LibVortex sends
// BEEP in TEXT frames), one BEEP frame per message from us, ping/pong and close handled by the
// transport and never seen by the session.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { WebSocket as WsClient } from 'ws';
import {
  Ctx,
  registerProfile,
  createListener,
  Connection,
  BeepWebSocketError,
  type Listener,
  type WebSocketConstructor,
} from '../../src/index.js';
import { frame, greetingPayload } from '../session/raw.js';
import { latin1, isOneFrame, sendSplit, rawClient, rawServer, type Messages } from './ws-peer.js';
import { testNeeding, lacks } from '../runtime-limits.js';

const RAW = 'http://beepwire.test/raw-echo';
/** Octets that are not UTF-8: a lone continuation, an overlong lead, 0xff, a truncated sequence. */
const NOT_UTF8 = '\x80 \xc0\xaf \xff\xfe \xc3\x28 beep \xe2\x82';
let ctx: Ctx;
let listener: Listener;

const ended: Array<{ port: number; err: Error | undefined }> = [];
/** Remote port of each session the listener accepted, in order. */
const accepted: number[] = [];

before(async () => {
  if (lacks('ws-listener')) return;
  ctx = new Ctx();
  registerProfile(ctx, RAW, {
    mime: false,
    frameReceived: (_c, ch, f) => {
      if (f.type === 'MSG') ch.sendRpy(f.payload, undefined, f.msgNo);
    },
  });
  listener = await createListener(ctx, '127.0.0.1', 0, {
    websocket: true,
    onAccept: (c) => {
      accepted.push(c.port);
      c.setOnClose((conn, err) => {
        ended.push({ port: conn.port, err });
      });
    },
  });
  assert.ok(listener.isOk(), listener.errorMsg);
});

after(async () => {
  await ctx?.exit();
});

const START = `Content-Type: application/beep+xml\r\n\r\n<start number='1'><profile uri='${RAW}'/></start>`;

/** The payload of the first `kw ch msgno` frame in `stream` (Latin-1), or undefined. */
function payloadOf(stream: string, kw: string, ch: number, msgno: number): string | undefined {
  const h = new RegExp(`${kw} ${ch} ${msgno} \\. \\d+ (\\d+)\\r\\n`).exec(stream);
  if (h === null) return undefined;
  const at = h.index + h[0].length;
  return stream.slice(at, at + Number(h[1]));
}

testNeeding(
  'ws-listener',
  'listener: greeting and start merged in one TEXT message and cut mid-frame; a MSG of non-UTF-8 octets one octet per message, TEXT and BINARY mixed; echoed intact',
  async () => {
    const { ws, msgs } = await rawClient(listener.port, '/whatever/path');
    const greet = frame('RPY', 0, 0, 0, greetingPayload());
    const start = frame('MSG', 0, 1, greetingPayload().length, START);
    // Greeting + the start's first 7 octets in one message, the rest of the start in another.
    await sendSplit(ws, latin1(greet + start), [greet.length + 7], () => true);
    await msgs.waitFor(/RPY 0 1 [\s\S]*END\r\n/);
    const msg = latin1(frame('MSG', 1, 0, 0, NOT_UTF8));
    await sendSplit(ws, msg, [...msg.keys()], (i) => i % 3 !== 0);
    const all = await msgs.waitFor(/RPY 1 0 [\s\S]*END\r\n/);
    assert.equal(payloadOf(all, 'RPY', 1, 0), NOT_UTF8, 'the octets came back as sent');
    for (const m of msgs.list) {
      assert.ok(isOneFrame(m.data), `one BEEP frame per message: ${JSON.stringify(m.data.toString('latin1').slice(0, 80))}`);
      assert.equal(m.text, false, 'we send BINARY messages');
    }
    ws.close();
  },
);

testNeeding(
  'ws-listener',
  'listener: on a MIME channel every frame is one message, the frames that hold a header block and the start of the body included',
  async () => {
    // Small frames cut the reply (a 15-octet header block, then the body) at 10-octet steps:
    // frames that hold only headers, headers and body, and only body. Each must be one message.
    const mimeCtx = new Ctx({ sendFrameSize: 10 });
    const MIME = 'http://beepwire.test/mime-echo';
    registerProfile(mimeCtx, MIME, {
      frameReceived: (_c, ch, f) => {
        if (f.type === 'MSG') ch.sendRpy(f.payload, undefined, f.msgNo, { headers: { 'X-Echo': 'abc' } });
      },
    });
    const l = await createListener(mimeCtx, '127.0.0.1', 0, { websocket: true });
    try {
      const { ws, msgs } = await rawClient(l.port);
      const g = greetingPayload();
      const start = `Content-Type: application/beep+xml\r\n\r\n<start number='1'><profile uri='${MIME}'/></start>`;
      await sendSplit(ws, latin1(frame('RPY', 0, 0, 0, g) + frame('MSG', 0, 1, g.length, start)), [], () => false);
      await msgs.waitFor(/RPY 0 1 [\s\S]*END\r\n/);
      await sendSplit(ws, latin1(frame('MSG', 1, 0, 0, '\r\nthe body, long enough for three frames')), [], () => false);
      const all = await msgs.waitFor(/RPY 1 0 \. \d+ \d+\r\n[\s\S]*END\r\n$/); // the last frame, whole
      assert.ok((all.match(/RPY 1 0 /g) ?? []).length >= 4, 'the reply went in several frames');
      for (const m of msgs.list) {
        assert.ok(isOneFrame(m.data), `one BEEP frame per message: ${JSON.stringify(m.data.toString('latin1').slice(0, 80))}`);
      }
      ws.close();
    } finally {
      await mimeCtx.exit();
    }
  },
);

testNeeding('ws-listener', 'listener: two MSGs merged in one message, a third split across three; every reply comes back', async () => {
  const { ws, msgs } = await rawClient(listener.port);
  const g = greetingPayload();
  await sendSplit(ws, latin1(frame('RPY', 0, 0, 0, g) + frame('MSG', 0, 1, g.length, START)), [], () => true);
  await msgs.waitFor(/RPY 0 1 [\s\S]*END\r\n/);
  const a = frame('MSG', 1, 0, 0, 'first');
  const b = frame('MSG', 1, 1, 5, 'second');
  const c = frame('MSG', 1, 2, 11, 'third \xff');
  await sendSplit(ws, latin1(a + b + c), [a.length + b.length + 2, a.length + b.length + 9], (i) => i === 0);
  const all = await msgs.waitFor(/RPY 1 2 [\s\S]*END\r\n/);
  assert.equal(payloadOf(all, 'RPY', 1, 0), 'first');
  assert.equal(payloadOf(all, 'RPY', 1, 1), 'second');
  assert.equal(payloadOf(all, 'RPY', 1, 2), 'third \xff');
  ws.close();
});

testNeeding('ws-listener', 'listener: a ping is answered with a pong by the transport; the session never sees it and goes on', async () => {
  const { ws, msgs } = await rawClient(listener.port);
  const g = greetingPayload();
  await sendSplit(ws, latin1(frame('RPY', 0, 0, 0, g)), [], () => false);
  ws.ping(latin1('are you there'));
  await sendSplit(ws, latin1(frame('MSG', 0, 1, g.length, START)), [], () => false);
  await msgs.waitFor(/RPY 0 1 [\s\S]*END\r\n/);
  ws.ping();
  await sendSplit(ws, latin1(frame('MSG', 1, 0, 0, 'after pings')), [], () => false);
  await msgs.waitFor('after pings');
  for (let i = 0; i < 100 && msgs.pongs < 2; i++) await new Promise((r) => setTimeout(r, 5));
  assert.equal(msgs.pongs, 2);
  assert.ok(msgs.list.every((m) => isOneFrame(m.data)));
  ws.close();
});

testNeeding(
  'ws-listener',
  "listener: the client's close frame ends the listener's session like a TCP close (BEEP_ERR_CONNECTION_CLOSED)",
  async () => {
    const n = accepted.length; // tests run one at a time: the next accepted session is this client's
    const { ws, msgs } = await rawClient(listener.port);
    await msgs.waitFor('</greeting>');
    const port = accepted[n]; // (Bun's built-in ws has no _socket.localPort)
    assert.equal(accepted.length, n + 1);
    ws.close(1000, 'done');
    let e: { port: number; err: Error | undefined } | undefined;
    for (let i = 0; i < 200 && e === undefined; i++) {
      e = ended.find((x) => x.port === port);
      await new Promise((r) => setTimeout(r, 5));
    }
    assert.ok(e, 'the listener session ended');
    assert.equal((e.err as { code?: string } | undefined)?.code, 'BEEP_ERR_CONNECTION_CLOSED');
  },
);

/**
 * A LibVortex-like listener by hand: greets in TEXT messages cut at `cuts`, accepts a start of
 * RAW, and answers each MSG with `reply` (TEXT, cut in three); records what it received.
 */
async function handListener(
  reply: string,
  cuts: number[],
  then?: (ws: WsClient) => void,
): Promise<{ port: number; close: () => Promise<void>; seen: Messages[] }> {
  const seen: Messages[] = [];
  const srv = await rawServer((ws, msgs) => {
    seen.push(msgs);
    void (async () => {
      const g = greetingPayload([RAW]);
      await sendSplit(ws, latin1(frame('RPY', 0, 0, 0, g)), cuts, () => true);
      await msgs.waitFor(/<start number='1'/);
      const ok = `Content-Type: application/beep+xml\r\n\r\n<profile uri='${RAW}'/>`;
      await sendSplit(ws, latin1(frame('RPY', 0, 1, g.length, ok)), [], () => true);
      await msgs.waitFor(/MSG 1 0 [\s\S]*END\r\n/);
      const r = latin1(frame('RPY', 1, 0, 0, reply));
      await sendSplit(ws, r, [3, Math.floor(r.length / 2)], () => true);
      then?.(ws);
    })().catch(() => {
      /* the client went away */
    });
  });
  return { ...srv, seen };
}

testNeeding(
  'ws-client-text-octets',
  'client (ws): a greeting cut into TEXT messages, a non-UTF-8 TEXT reply split three ways; one BEEP frame per message sent',
  async () => {
    const peer = await handListener(NOT_UTF8, [1, 2, 10, 40, 41]);
    try {
      const conn = await Connection.connect(new Ctx(), `ws://127.0.0.1:${peer.port}/`);
      assert.ok(conn.isOk(), JSON.stringify(conn.popChannelError()));
      assert.deepEqual(conn.remoteProfiles, [RAW]);
      const ch = (await conn.openChannel(0, RAW, { mime: false }))!;
      assert.ok(ch, JSON.stringify(conn.popChannelError()));
      const r = await ch.request('hello');
      assert.equal(Buffer.from(r.payload).toString('latin1'), NOT_UTF8);
      for (const m of peer.seen[0]!.list)
        assert.ok(isOneFrame(m.data) && !m.text, `one BINARY frame per message: ${JSON.stringify(m.data.toString('latin1').slice(0, 60))}`);
      conn.shutdown();
    } finally {
      await peer.close();
    }
  },
);

test('client (ws): pings from the listener get pongs; its close frame ends the session (421 recorded), an abnormal code is named', async () => {
  let pongs = 0;
  const peer = await handListener('pong?', [], (ws) => {
    ws.on('pong', () => {
      pongs++;
      if (pongs === 2) ws.close(1000, 'bye');
    });
    ws.ping();
    ws.ping();
  });
  const conn = await Connection.connect(new Ctx(), `ws://127.0.0.1:${peer.port}/`);
  const ch = (await conn.openChannel(0, RAW, { mime: false }))!;
  assert.equal((await ch.request('x')).text, 'pong?');
  for (let i = 0; i < 200 && conn.isOk(); i++) await new Promise((r) => setTimeout(r, 5));
  assert.equal(pongs, 2);
  assert.equal(conn.isOk(), false);
  assert.equal(conn.popChannelError()?.[0], 421);
  await peer.close();

  const rude = await handListener('x', [], (ws) => ws.close(1011, 'internal trouble'));
  const c2 = await Connection.connect(new Ctx(), `ws://127.0.0.1:${rude.port}/`);
  const ch2 = (await c2.openChannel(0, RAW, { mime: false }))!;
  await ch2.request('x').catch(() => undefined);
  for (let i = 0; i < 200 && c2.isOk(); i++) await new Promise((r) => setTimeout(r, 5));
  assert.equal(c2.isOk(), false);
  const errs = [c2.popChannelError(), c2.popChannelError()]
    .filter((e) => e !== null)
    .map((e) => e![1])
    .join(' | ');
  assert.match(errs, /1011/);
  assert.ok(c2.error instanceof BeepWebSocketError, String(c2.error));
  assert.equal(c2.error.closeCode, 1011);
  await rude.close();
});

test("client (WHATWG adapter over ws's WHATWG class): split TEXT messages of valid UTF-8 come through; a non-UTF-8 TEXT message fails the connection, as RFC 6455 §8.1 asks of such clients", async () => {
  const WHATWG = WsClient as unknown as WebSocketConstructor;
  const fine = await handListener('plain ascii \xc3\xa9', [5, 6, 7]); // é in UTF-8
  const conn = await Connection.connect(new Ctx(), `ws://127.0.0.1:${fine.port}/`, { websocket: { WebSocket: WHATWG } });
  assert.ok(conn.isOk(), JSON.stringify(conn.popChannelError()));
  const ch = (await conn.openChannel(0, RAW, { mime: false }))!;
  assert.equal(new TextDecoder().decode((await ch.request('x')).payload), 'plain ascii é');
  conn.shutdown();
  await fine.close();

  const bad = await handListener(NOT_UTF8, []);
  const c2 = await Connection.connect(new Ctx(), `ws://127.0.0.1:${bad.port}/`, { websocket: { WebSocket: WHATWG } });
  const ch2 = (await c2.openChannel(0, RAW, { mime: false }))!;
  await assert.rejects(ch2.request('x', { timeout: 5000 }));
  for (let i = 0; i < 200 && c2.isOk(); i++) await new Promise((r) => setTimeout(r, 5));
  assert.equal(c2.isOk(), false);
  // Failing the connection (RFC 6455 §7.1.7) closes without a closing handshake: the client
  // sees 1006, the peer is told 1007.
  const errs = [c2.popChannelError(), c2.popChannelError()]
    .filter((e) => e !== null)
    .map((e) => e![1])
    .join(' | ');
  assert.match(errs, /1006/);
  assert.ok(c2.error instanceof BeepWebSocketError, String(c2.error));
  assert.equal(c2.error.closeCode, 1006);
  await bad.close();
});
