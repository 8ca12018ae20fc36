// Seeded random WebSocket frame streams (SOAK_SEED replays a run). The reader alone: streams of
// valid frames (data in fragments, pings, pongs, a close now and then, both sides, every length
// form) cut at random, and the same streams mutated, truncated or spliced with garbage; no throw
// may escape, a valid stream's data must come out exactly, a failure must be one typed error,
// and no more than 14 header octets may be held. Then over sockets: raw clients upgrade to a
// listener and send such streams, cut into random writes, then end their side; the listener must
// close every connection within its linger, no fault may reach the process, and a bystander
// still echoes. Bounded by time and count.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { WsFrameReader, type WsReadSink } from '../../src/transport/ws-read.js';
import { CLOSE_LINGER_MS } from '../../src/transport/ws-link.js';
import { BeepWebSocketError, Connection, Ctx, createListener, registerProfile } from '../../src/index.js';
import { frame, concat } from '../transport/ws-frames.js';
import { rawWsClient } from '../transport/ws-raw.js';
import { frame as beepFrame, greetingPayload } from '../session/raw.js';
import { installFaultRecorders, faults, sleep } from '../hostile/harness.js';
import { testNeeding } from '../runtime-limits.js';
import { Rng, seed } from './rand.js';

installFaultRecorders();

const BUDGET_MS = 1500;
const MAX_ITER = 20_000;
const MAX_PAYLOAD = 4096;

interface Stream {
  octets: Uint8Array;
  /** The data frames' payloads, concatenated, up to a close (a valid stream). */
  data: string;
  /** A close frame ends it. */
  closes: boolean;
}

/**
 * A random valid stream for one side: `server` streams are the client's (masked). The data
 * frames carry random octets, or `source` cut at random (then empty payloads once it ran out).
 */
function validStream(r: Rng, server: boolean, source?: string): Stream {
  const parts: Uint8Array[] = [];
  let data = '';
  let closes = false;
  const key = (): Uint8Array | undefined => (server ? r.bytes(4) : undefined);
  let at = 0;
  const text = (n: number): string => Buffer.from(r.bytes(n)).toString('latin1');
  const next = (n: number): string => {
    if (source === undefined) return text(n);
    const p = source.slice(at, at + n);
    at += p.length;
    return p;
  };
  const form = (n: number): 7 | 16 | 64 | undefined =>
    r.chance(0.2) ? r.pick(n < 126 ? ([7, 16, 64] as const) : n < 65536 ? ([16, 64] as const) : ([64] as const)) : undefined;
  const n = 1 + r.int(12);
  for (let i = 0; i < n && !closes; i++) {
    const k = r.int(10);
    if (k < 6) {
      // A message of 1..4 fragments, within maxPayload; a control frame may come between fragments.
      const frags = 1 + r.int(4);
      for (let f = 0; f < frags; f++) {
        const p = next(r.chance(0.1) ? r.int(MAX_PAYLOAD / frags) : r.int(140));
        data += p;
        const op = f === 0 ? r.pick([1, 2]) : 0;
        parts.push(frame({ op, payload: p, fin: f === frags - 1, key: key(), form: form(p.length) }));
        if (f < frags - 1 && r.chance(0.3)) parts.push(frame({ op: r.pick([9, 10]), payload: text(r.int(126)), key: key() }));
      }
    } else if (k < 9) parts.push(frame({ op: r.pick([9, 10]), payload: text(r.int(126)), key: key() }));
    else {
      closes = true;
      parts.push(frame({ op: 8, payload: r.chance(0.3) ? new Uint8Array(0) : Uint8Array.of(3, 0xe8, ...r.bytes(r.int(20))), key: key() }));
    }
  }
  return { octets: concat(...parts), data, closes };
}

/** The stream mutated: octets flipped, cut short, or garbage spliced in. */
function mutated(r: Rng, s: Uint8Array): Uint8Array {
  const b = Uint8Array.from(s);
  const k = r.int(4);
  if (k === 0) for (let i = 0; i < 1 + r.int(4); i++) b[r.int(b.length)] = r.int(256);
  else if (k === 1) return b.subarray(0, r.int(b.length + 1));
  else if (k === 2) {
    const at = r.int(b.length + 1);
    return concat(b.subarray(0, at), r.bytes(1 + r.int(30)), b.subarray(at));
  } else for (let i = 0; i < 1 + r.int(3); i++) b[r.int(b.length)]! ^= 1 << r.int(8);
  return b;
}

/** Random cut points. */
function cutsOf(r: Rng, n: number): number[] {
  const c: number[] = [];
  for (let i = 0; i < r.int(8); i++) c.push(r.int(n + 1));
  return c.sort((a, b) => a - b);
}

test(`soak: WsFrameReader on random frame streams, valid and mutated, cut at random (<= ${BUDGET_MS} ms, seeded)`, (t) => {
  const s0 = seed(7101);
  const r = new Rng(s0);
  const counts = new Map<string, number>();
  const t0 = Date.now();
  let iter = 0;
  while (iter < MAX_ITER && Date.now() - t0 < BUDGET_MS) {
    iter++;
    const server = r.chance(0.5);
    const s = validStream(r, server);
    const valid = r.chance(0.4);
    const octets = valid ? s.octets : mutated(r, s.octets);
    let data = '';
    let failures = 0;
    let closes = 0;
    let failure: BeepWebSocketError | undefined;
    const sink: WsReadSink = {
      data: (p) => {
        data += Buffer.from(p).toString('latin1');
      },
      ping: (p) => assert.ok(p.length <= 125),
      close: () => void closes++,
      fail: (e) => {
        failures++;
        failure = e;
      },
    };
    const reader = new WsFrameReader(sink, { server, maxPayload: MAX_PAYLOAD });
    let outcome: string;
    try {
      const points = [0, ...cutsOf(r, octets.length), octets.length];
      for (let i = 0; i + 1 < points.length; i++) {
        reader.push(Uint8Array.from(octets.subarray(points[i], points[i + 1])));
        assert.ok(reader.heldHeader <= 14);
      }
      assert.ok(failures + closes <= 1, 'one end at most');
      if (failure !== undefined) assert.ok(failure instanceof BeepWebSocketError && [1002, 1009].includes(failure.closeCode));
      outcome = failures > 0 ? `failed ${failure!.closeCode}` : closes > 0 ? 'closed' : 'read';
      if (valid) {
        assert.equal(failures, 0, 'a valid stream is not refused');
        assert.equal(data, s.data, 'a valid stream gives its data exactly');
        assert.equal(closes, s.closes ? 1 : 0);
      }
    } catch (e) {
      assert.fail(
        `seed ${s0}, input ${iter} (${valid ? 'valid' : 'mutated'}, ${server ? 'server' : 'client'} side): ${(e as Error).message}`,
      );
    }
    const key = `${valid ? 'valid' : 'mutated'} -> ${outcome}`;
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  t.diagnostic(
    `seed ${s0}, ${iter} streams in ${Date.now() - t0} ms: ${[...counts]
      .sort()
      .map(([k, n]) => `${k} ${n}`)
      .join(', ')}`,
  );
  assert.ok(iter >= 200, `only ${iter} streams`);
});

testNeeding(
  'ws-own-reader',
  'soak: raw clients send random frame streams to a WebSocket listener: every connection is closed within the linger, no fault escapes, a bystander echoes',
  async (t) => {
    const ECHO = 'http://beepwire.test/soak-echo';
    const ctx = new Ctx();
    registerProfile(ctx, ECHO, { frameReceived: (_c, ch, f) => void (f.type === 'MSG' && ch.sendRpy(f.payload, undefined, f.msgNo)) });
    const l = await createListener(ctx, '127.0.0.1', 0, { websocket: { maxPayload: MAX_PAYLOAD } });
    const g = greetingPayload();
    const start = `Content-Type: application/beep+xml\r\n\r\n<start number='1'><profile uri='${ECHO}'/></start>`;
    const BEEP = beepFrame('RPY', 0, 0, 0, g) + beepFrame('MSG', 0, 1, g.length, start);
    const s0 = seed(7202);
    const r = new Rng(s0);
    const counts = new Map<string, number>();
    try {
      const bystander = await Connection.connect(new Ctx(), `ws://127.0.0.1:${l.port}/`);
      const ch = (await bystander.openChannel(0, ECHO))!;
      const t0 = Date.now();
      let n = 0;
      while (n < 60 && Date.now() - t0 < 8000) {
        // Four at a time.
        await Promise.all(
          Array.from({ length: 4 }, async () => {
            n++;
            const ws = await rawWsClient(l.port);
            // Half the streams carry well-formed BEEP (a greeting and a channel start), cut anywhere
            // into their data frames, so the frames reach a running session; the rest random octets.
            const s = validStream(r, true, r.chance(0.5) ? BEEP : undefined);
            const octets = r.chance(0.4) ? s.octets : mutated(r, s.octets);
            await ws.writeCut(octets, cutsOf(r, octets.length), 1);
            ws.socket.end();
            const closed = await ws.closedWithin(CLOSE_LINGER_MS + 3000);
            const how = !closed ? 'STILL OPEN' : ws.close !== undefined ? `closed ${ws.close.code}` : 'closed without a close frame';
            const key = `${how}${/RPY 0 1 /.test(ws.text) ? ', channel started first' : ''}`;
            counts.set(key, (counts.get(key) ?? 0) + 1);
            ws.socket.destroy();
          }),
        );
      }
      t.diagnostic(
        `seed ${s0}, ${n} connections in ${Date.now() - t0} ms: ${[...counts]
          .sort()
          .map(([k, v]) => `${k} ${v}`)
          .join(', ')}`,
      );
      assert.equal(counts.get('STILL OPEN') ?? 0, 0, 'every connection was closed');
      await sleep(50);
      assert.deepEqual(faults.uncaught, []);
      assert.deepEqual(faults.rejections, []);
      assert.equal((await ch.request('still here')).text, 'still here');
      bystander.shutdown();
    } finally {
      await ctx.exit();
    }
  },
);
