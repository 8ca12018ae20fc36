// beepwire's own WebSocket reader on Node (ws-link.ts over ws-read.ts), against raw TCP peers
// that do the opening handshake by hand and then send crafted frames: a BEEP session in frames
// cut inside their headers and merged many to a write, TEXT and BINARY, a ping inside a message;
// every protocol violation answered with the close code RFC 6455 asks for (1002, 1009) and
// reported to the session as a BeepWebSocketError; the closing handshake both ways with the
// codes echoed; a silent peer cut off after the linger; reading that really stops while the
// session blocks it; a peer that pings without reading the pongs. Both sides: the listener and
// the client (Connection.connect to a raw listener).
import { before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Ctx, registerProfile, createListener, Connection, BeepWebSocketError, type Listener } from '../../src/index.js';
import type { WsNodeTransport } from '../../src/transport/ws-node.js';
import { CLOSE_LINGER_MS } from '../../src/transport/ws-link.js';
import { frame as beepFrame, greetingPayload } from '../session/raw.js';
import { frame, concat, closeBody, bytes, KEY } from './ws-frames.js';
import { rawWsClient, rawWsListener, type RawWs } from './ws-raw.js';
import { testNeeding } from '../runtime-limits.js';

const RAW = 'http://beepwire.test/raw-echo';
const MAX_PAYLOAD = 64 * 1024;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const K = KEY;
const START = `Content-Type: application/beep+xml\r\n\r\n<start number='1'><profile uri='${RAW}'/></start>`;

let ctx: Ctx;
let listener: Listener;
/** Sessions the listener accepted and not yet taken by a test, in order. */
const waiting: Array<{ conn: Connection; ended: Promise<Error | undefined> }> = [];

before(async () => {
  ctx = new Ctx();
  registerProfile(ctx, RAW, {
    mime: false,
    frameReceived: (_c, ch, f) => {
      if (f.type === 'MSG') ch.sendRpy(f.payload, undefined, f.msgNo);
    },
  });
  listener = await createListener(ctx, '127.0.0.1', 0, {
    websocket: { maxPayload: MAX_PAYLOAD },
    onAccept: (conn) => {
      waiting.push({ conn, ended: new Promise((res) => conn.setOnClose((_c, err) => res(err))) });
    },
  });
  assert.ok(listener.isOk(), listener.errorMsg);
});

after(async () => {
  await ctx?.exit();
});

/** The next session the listener accepted (tests run one at a time). */
async function accepted(): Promise<{ conn: Connection; ended: Promise<Error | undefined> }> {
  for (let i = 0; i < 400 && waiting.length === 0; i++) await sleep(5);
  const a = waiting.shift();
  assert.ok(a, 'the listener accepted a session');
  return a;
}

/** A raw client, upgraded, with the listener's greeting received. */
async function client(): Promise<{ ws: RawWs; conn: Connection; ended: Promise<Error | undefined> }> {
  const ws = await rawWsClient(listener.port);
  await ws.waitFor('</greeting>');
  return { ws, ...(await accepted()) };
}

async function endedWith(ended: Promise<Error | undefined>, ms = 3000): Promise<Error | undefined> {
  let t: ReturnType<typeof setTimeout> | undefined;
  const r = await Promise.race([ended, new Promise<'timeout'>((res) => (t = setTimeout(() => res('timeout'), ms)))]);
  clearTimeout(t);
  assert.notEqual(r, 'timeout', 'the session ended');
  return r as Error | undefined;
}

const masked = (op: number, payload: string | Uint8Array, fin = true): Uint8Array => frame({ op, payload, fin, key: K });

testNeeding(
  'ws-own-reader',
  'Node: beepwire reads the frames on both sides; frameReader "ws" gives the frames to ws instead, and the echo is the same',
  async () => {
    const conn = await Connection.connect(new Ctx(), `ws://127.0.0.1:${listener.port}/`);
    const mine = await accepted();
    assert.equal((conn.transport as WsNodeTransport).frameReader, 'beepwire');
    assert.equal((mine.conn.transport as WsNodeTransport).frameReader, 'beepwire');
    const ch = (await conn.openChannel(0, RAW, { mime: false }))!;
    assert.equal((await ch.request('through beepwire')).text, 'through beepwire');
    conn.shutdown();

    const c2 = new Ctx();
    registerProfile(c2, RAW, {
      mime: false,
      frameReceived: (_c, ch2, f) => void (f.type === 'MSG' && ch2.sendRpy(f.payload, undefined, f.msgNo)),
    });
    let theirs: Connection | undefined;
    const l2 = await createListener(c2, '127.0.0.1', 0, { websocket: { frameReader: 'ws' }, onAccept: (c) => void (theirs = c) });
    try {
      const conn2 = await Connection.connect(new Ctx(), `ws://127.0.0.1:${l2.port}/`, { websocket: { frameReader: 'ws' } });
      assert.equal((conn2.transport as WsNodeTransport).frameReader, 'ws');
      assert.equal((theirs!.transport as WsNodeTransport).frameReader, 'ws');
      const ch2 = (await conn2.openChannel(0, RAW, { mime: false }))!;
      assert.equal((await ch2.request('through ws')).text, 'through ws');
      conn2.shutdown();
    } finally {
      await c2.exit();
    }
  },
);

testNeeding(
  'ws-own-reader',
  'listener: a BEEP session in masked frames cut inside their headers, many frames to a write, TEXT and BINARY, a ping inside a message: echoed intact, the ping answered with its payload',
  async () => {
    const { ws, conn } = await client();
    const g = greetingPayload();
    // The greeting and the start, 5 BEEP octets per frame, alternately TEXT and BINARY, all in one write.
    const beep = bytes(beepFrame('RPY', 0, 0, 0, g) + beepFrame('MSG', 0, 1, g.length, START));
    const small: Uint8Array[] = [];
    for (let i = 0; i < beep.length; i += 5) small.push(masked(i % 2 === 0 ? 1 : 2, beep.subarray(i, i + 5)));
    await ws.write(concat(...small));
    await ws.waitFor(/RPY 0 1 [\s\S]*END\r\n/);
    // A MSG of 300 octets (not UTF-8) in three fragments, a ping between the first two; every
    // frame's header written octet by octet.
    const body = Array.from({ length: 300 }, (_, i) => String.fromCharCode(0x80 + (i % 128))).join('');
    const msg = bytes(beepFrame('MSG', 1, 0, 0, body));
    const parts = [
      masked(1, msg.subarray(0, 100), false),
      masked(9, 'are you there?'),
      masked(0, msg.subarray(100, 250), false),
      masked(0, msg.subarray(250)),
    ];
    for (const p of parts) await ws.writeCut(p, [1, 2, 3, 4, 5, 6, 7, 8]);
    const all = await ws.waitFor(/RPY 1 0 [\s\S]*END\r\n/);
    assert.ok(all.includes(body), 'the body came back');
    const pong = await ws.waitForFrame((f) => f.op === 10);
    assert.equal(pong.payload.toString(), 'are you there?');
    assert.equal(pong.masked, false, 'the listener does not mask');
    for (const f of ws.frames.filter((x) => x.op <= 2)) assert.ok(f.fin && f.op === 2 && !f.masked, 'FIN BINARY frames, unmasked');
    assert.ok(conn.isOk());
    ws.socket.destroy();
  },
);

/** Violations of RFC 6455 §5 a client can commit, the close code each must get. */
const VIOLATIONS: Array<[string, Uint8Array, number]> = [
  ['RSV1 set', frame({ op: 2, payload: 'x', rsv: 0x40, key: K }), 1002],
  ['RSV3 set', frame({ op: 2, payload: 'x', rsv: 0x10, key: K }), 1002],
  ['opcode 0x3', frame({ op: 3, payload: 'x', key: K }), 1002],
  ['opcode 0xB', frame({ op: 0xb, key: K }), 1002],
  ['a continuation with no message started', frame({ op: 0, payload: 'x', key: K }), 1002],
  ['a BINARY frame inside an unfinished TEXT message', concat(masked(1, 'RPY', false), masked(2, ' 0')), 1002],
  ['a fragmented ping', frame({ op: 9, fin: false, key: K }), 1002],
  ['a ping of 126 octets', masked(9, 'p'.repeat(126)), 1002],
  ['a frame without a mask', frame({ op: 2, payload: 'RPY 0' }), 1002],
  ['a 64-bit length with its top bit set', frame({ op: 2, payload: 'x', key: K, form: 64, hi: 0x80000000 }), 1002],
  ['a close frame with a 1-octet body', masked(8, Uint8Array.of(3)), 1002],
  ['a close frame with code 1005 (reserved)', masked(8, closeBody(1005)), 1002],
  ['a close frame with code 999', masked(8, closeBody(999)), 1002],
  // The header alone says 1 MiB: refused before any payload arrives.
  ['a message over maxPayload', Uint8Array.of(0x82, 0xff, 0, 0, 0, 0, 0, 0x10, 0, 0, ...K), 1009],
];

for (const [what, octets, code] of VIOLATIONS) {
  testNeeding(
    'ws-own-reader',
    `listener: ${what}: a close frame with ${code}, the listener ends TCP, the session gets a BeepWebSocketError (${code})`,
    async () => {
      const { ws, ended } = await client();
      await ws.writeCut(octets, [1, 3]);
      const close = await ws.waitForFrame((f) => f.op === 8);
      assert.deepEqual(ws.close, { code, reason: '' });
      assert.equal(close.masked, false);
      for (let i = 0; i < 600 && !ws.ended; i++) await sleep(5);
      assert.ok(ws.ended, 'the listener ended TCP');
      const err = await endedWith(ended);
      assert.ok(err instanceof BeepWebSocketError, String(err));
      assert.equal(err.code, 'BEEP_ERR_WEBSOCKET');
      assert.equal(err.closeCode, code);
      ws.socket.destroy();
    },
  );
}

testNeeding(
  'ws-own-reader',
  'listener: a message of valid BEEP in fragments adding up past maxPayload: the fragments are read as they come (never held for the whole message), then 1009',
  async () => {
    const c2 = new Ctx();
    let ended: Promise<Error | undefined> | undefined;
    const l2 = await createListener(c2, '127.0.0.1', 0, {
      websocket: { maxPayload: 1000 },
      onAccept: (c) => void (ended = new Promise((res) => c.setOnClose((_x, err) => res(err)))),
    });
    try {
      const ws = await rawWsClient(l2.port);
      await ws.waitFor('greeting');
      // Our greeting, then starts of unknown profiles (each refused with an ERR): 1,100 octets of
      // well-formed BEEP within channel 0's window, in one message of 100-octet fragments.
      let seq = 0;
      const f = (kw: string, msgno: number, p: string): string => {
        const s = beepFrame(kw, 0, msgno, seq, p);
        seq += p.length;
        return s;
      };
      let beep = f('RPY', 0, greetingPayload());
      for (let i = 1; beep.length < 1100; i++)
        beep += f(
          'MSG',
          i,
          `Content-Type: application/beep+xml\r\n\r\n<start number='${2 * i + 1}'><profile uri='http://x/${i}'/></start>`,
        );
      const octets = bytes(beep.slice(0, 1100));
      const frags: Uint8Array[] = [];
      for (let i = 0; i < octets.length; i += 100)
        frags.push(masked(i === 0 ? 2 : 0, octets.subarray(i, i + 100), i + 100 >= octets.length));
      // All but the last fragment (1,000 octets, maxPayload): read as they come, the message still open.
      await ws.write(concat(...frags.slice(0, -1)));
      await ws.waitFor(/ERR 0 1 /);
      assert.equal(ws.close, undefined);
      await ws.write(frags[frags.length - 1]!);
      await ws.waitForFrame((x) => x.op === 8);
      assert.deepEqual(ws.close, { code: 1009, reason: '' });
      const err = await endedWith(ended!);
      assert.ok(err instanceof BeepWebSocketError, String(err));
      assert.equal(err.closeCode, 1009);
      ws.socket.destroy();
    } finally {
      await c2.exit();
    }
  },
);

testNeeding(
  'ws-own-reader',
  'listener: the client closes with 1000: the close is echoed (1000), TCP ends, the session ends as after a TCP close (BEEP_ERR_CONNECTION_CLOSED)',
  async () => {
    const { ws, ended } = await client();
    await ws.write(masked(8, closeBody(1000, 'bye')));
    await ws.waitForFrame((f) => f.op === 8);
    assert.deepEqual(ws.close, { code: 1000, reason: '' });
    for (let i = 0; i < 600 && !ws.ended; i++) await sleep(5);
    assert.ok(ws.ended);
    ws.socket.end();
    assert.equal(((await endedWith(ended)) as { code?: string } | undefined)?.code, 'BEEP_ERR_CONNECTION_CLOSED');
  },
);

testNeeding(
  'ws-own-reader',
  'listener: close 4001 is echoed and named in the session error (closeCode 4001, the reason in the text); an empty close is echoed empty',
  async () => {
    const a = await client();
    await a.ws.writeCut(masked(8, closeBody(4001, 'custom reason')), [1, 7]);
    await a.ws.waitForFrame((f) => f.op === 8);
    assert.deepEqual(a.ws.close, { code: 4001, reason: '' });
    a.ws.socket.end();
    const err = await endedWith(a.ended);
    assert.ok(err instanceof BeepWebSocketError);
    assert.equal(err.closeCode, 4001);
    assert.match(err.message, /closed with code 4001 \(custom reason\)/);

    const b = await client();
    await b.ws.write(masked(8, new Uint8Array(0)));
    const f = await b.ws.waitForFrame((x) => x.op === 8);
    assert.equal(f.payload.length, 0, 'no code given, none echoed (RFC 6455 §5.5.1)');
    b.ws.socket.end();
    assert.equal(((await endedWith(b.ended)) as { code?: string } | undefined)?.code, 'BEEP_ERR_CONNECTION_CLOSED');
  },
);

testNeeding('ws-own-reader', 'listener: TCP ends without a close frame: the session gets a BeepWebSocketError with 1006', async () => {
  const { ws, ended } = await client();
  await ws.write(masked(2, 'RPY 0 0 . 0 ')); // half a frame of BEEP: the session is mid-greeting
  ws.socket.end();
  const err = await endedWith(ended);
  assert.ok(err instanceof BeepWebSocketError, String(err));
  assert.equal(err.closeCode, 1006);
  ws.socket.destroy();
});

testNeeding(
  'ws-own-reader',
  `listener: after its close frame, a peer that answers nothing is cut off within the linger (${CLOSE_LINGER_MS} ms)`,
  async () => {
    const { ws, conn } = await client();
    const t0 = Date.now();
    conn.drop(new Error('test: drop'));
    await ws.waitForFrame((f) => f.op === 8);
    assert.deepEqual(ws.close, { code: 1000, reason: '' });
    for (let i = 0; i < (CLOSE_LINGER_MS + 2000) / 5 && !ws.ended; i++) await sleep(5);
    assert.ok(ws.ended, 'cut off');
    assert.ok(Date.now() - t0 >= CLOSE_LINGER_MS - 200, `waited ${Date.now() - t0} ms for the peer's close`);
    ws.socket.destroy();
  },
);

testNeeding('ws-own-reader', 'listener: a peer that answers our close frame gets TCP ended at once, long before the linger', async () => {
  const { ws, conn } = await client();
  conn.drop(new Error('test: drop'));
  await ws.waitForFrame((f) => f.op === 8);
  const t0 = Date.now();
  await ws.write(masked(8, closeBody(1000)));
  for (let i = 0; i < 400 && !ws.ended; i++) await sleep(5);
  assert.ok(ws.ended, 'TCP ended');
  assert.ok(Date.now() - t0 < CLOSE_LINGER_MS / 2, `after ${Date.now() - t0} ms`);
  ws.socket.destroy();
});

testNeeding(
  'ws-own-reader',
  'listener: while the application blocks reading, the socket is not read (the peer stays stuck writing, no budget error); unblocked, reading goes on',
  async () => {
    const c2 = new Ctx();
    let conn: Connection | undefined;
    let ended: Promise<Error | undefined> | undefined;
    const l2 = await createListener(c2, '127.0.0.1', 0, {
      websocket: true,
      onAccept: (c) => {
        conn = c;
        c.block(true);
        (c.transport as WsNodeTransport).maxPausedInput = 1 << 20; // at most a read or two may wait
        ended = new Promise((res) => c.setOnClose((_x, err) => res(err)));
      },
    });
    try {
      const ws = await rawWsClient(l2.port);
      const chunk = masked(2, 'z'.repeat(60000)); // not BEEP: the session would refuse it, were it read
      let written = 0;
      // 48 MiB: past the default maxPausedInput (32 MiB) and far past the kernel's buffers.
      while (written < 48 << 20 && ws.socket.writableLength < 16 << 20) {
        ws.socket.write(chunk);
        written += chunk.length;
        if (written % (4 << 20) < chunk.length) await sleep(20);
      }
      await sleep(300);
      const taken = written - ws.socket.writableLength;
      assert.ok(ws.socket.writableLength > 8 << 20, `the listener stopped reading: ${ws.socket.writableLength} octets wait in the peer`);
      assert.ok(taken < 32 << 20, `only ${taken} octets left the peer`);
      assert.ok(
        !conn!.transport.closed && conn!.error === undefined,
        `no budget error, nothing piled up in memory: ${conn!.error?.message}`,
      );
      conn!.block(false);
      const err = await endedWith(ended!, 10_000);
      assert.equal((err as { code?: string } | undefined)?.code, 'BEEP_ERR_FRAMING', 'reading went on: the garbage was read');
      ws.socket.destroy();
    } finally {
      await c2.exit();
    }
  },
);

testNeeding(
  'ws-own-reader',
  'listener: a peer that pings and never reads the pongs is dropped (1008) once 60 pongs wait; memory stays bounded',
  async () => {
    const { ws, ended } = await client();
    ws.socket.pause(); // never reads
    const ping = masked(9, 'p'.repeat(125));
    const burst = concat(...Array.from({ length: 500 }, () => ping));
    for (let i = 0; i < 400 && !ws.socket.destroyed; i++) {
      if (ws.socket.writableLength < 4 << 20) ws.socket.write(burst);
      else await sleep(5);
      if (i % 20 === 0) await sleep(1);
      if (ws.isClosed) break;
    }
    const err = await endedWith(ended, 10_000);
    assert.ok(err instanceof BeepWebSocketError, String(err));
    assert.equal(err.closeCode, 1008);
    ws.socket.destroy();
  },
);

// ---- the client's side: Connection.connect to a raw listener ---------------------------------

/** A raw listener that greets (offering RAW) and then does `then` with the client's connection. */
async function greetingListener(then: (ws: RawWs) => Promise<void>): Promise<{ port: number; close: () => Promise<void> }> {
  return rawWsListener((ws) => {
    void (async () => {
      await ws.write(frame({ op: 1, payload: beepFrame('RPY', 0, 0, 0, greetingPayload([RAW])) }));
      await ws.waitFor(/RPY 0 0 [\s\S]*END\r\n/); // the client's greeting
      await then(ws);
    })().catch(() => {});
  });
}

/** Connects; resolves with the connection and the error it ended with. */
async function connectTo(port: number): Promise<{ conn: Connection; ended: Promise<Error | undefined> }> {
  const conn = await Connection.connect(new Ctx(), `ws://127.0.0.1:${port}/`);
  // The listener may act as soon as it has our greeting, before connect() resolved.
  const ended = new Promise<Error | undefined>((res) => {
    if (conn.session.ended) res(conn.error);
    else conn.setOnClose((_c, err) => res(err));
  });
  return { conn, ended };
}

testNeeding(
  'ws-own-reader',
  'client: a masked frame from the listener fails the connection: a masked close frame with 1002, a BeepWebSocketError',
  async () => {
    let peer: RawWs | undefined;
    const srv = await greetingListener(async (ws) => {
      peer = ws;
      await ws.write(frame({ op: 2, payload: 'masked!', key: K }));
    });
    try {
      const { ended } = await connectTo(srv.port);
      const err = await endedWith(ended);
      assert.ok(err instanceof BeepWebSocketError, String(err));
      assert.equal(err.closeCode, 1002);
      const f = await peer!.waitForFrame((x) => x.op === 8);
      assert.ok(f.masked, 'the client masks its close frame');
      assert.deepEqual(peer!.close, { code: 1002, reason: '' });
    } finally {
      await srv.close();
    }
  },
);

testNeeding(
  'ws-own-reader',
  'client: pings get masked pongs with the same payload; a close (1001) is echoed masked and named in the error',
  async () => {
    let peer: RawWs | undefined;
    const srv = await greetingListener(async (ws) => {
      peer = ws;
      await ws.writeCut(concat(frame({ op: 9, payload: 'one' }), frame({ op: 9, payload: 'p'.repeat(125) })), [1, 7]);
      await ws.waitForFrame((f) => f.op === 10 && f.payload.length === 125);
      await ws.write(frame({ op: 8, payload: closeBody(1001, 'going away') }));
      await ws.waitForFrame((f) => f.op === 8);
      for (let i = 0; i < 400 && !ws.ended; i++) await sleep(5);
      ws.socket.end(); // after the client's FIN: the listener's side of the closing handshake
    });
    try {
      const { ended } = await connectTo(srv.port);
      const err = await endedWith(ended);
      assert.ok(err instanceof BeepWebSocketError, String(err));
      assert.equal(err.closeCode, 1001);
      assert.match(err.message, /1001 \(going away\)/);
      const pongs = peer!.frames.filter((f) => f.op === 10);
      assert.deepEqual(
        pongs.map((f) => [f.masked, f.payload.toString()]),
        [
          [true, 'one'],
          [true, 'p'.repeat(125)],
        ],
      );
      const close = await peer!.waitForFrame((f) => f.op === 8);
      assert.ok(close.masked);
      assert.deepEqual(peer!.close, { code: 1001, reason: '' });
      for (let i = 0; i < 400 && !peer!.ended; i++) await sleep(5);
      assert.ok(peer!.ended, 'the client ended TCP after the closing handshake');
    } finally {
      await srv.close();
    }
  },
);
