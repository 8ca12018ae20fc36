// beepwire's side of bench/echo.bench.ts: the echo listener and the client loops. Both peers use
// the raw handler form (ProfileHandlers.rawReceived, docs/profiles.md), the one meant for hot
// profiles, with a Frame handler beside it for messages of several frames or reads (echoed in
// their pieces: replyRaw(msgno, contentParts)); FRAME_PROFILE is the echo with Frame handlers
// only, as the PyVortex manual writes it, for one row beside it.
import {
  Ctx,
  registerProfile,
  createListener,
  Connection,
  tls,
  type Channel,
  type Listener,
  type WebSocketClientOptions,
} from '../src/index.js';
import { cpuSince, type EchoResult } from './echo-raw.js';

/** The echo profile with both handler forms. */
export const PROFILE = 'http://beepwire.bench/echo';
/** The echo profile with Frame handlers only. */
export const FRAME_PROFILE = 'http://beepwire.bench/echo-frames';

/** Settings every beepwire context of a bench run shares. */
export interface BeepSettings {
  /** Codec implementation (BEEPWIRE_CODEC). */
  codec: 'wasm' | 'ref';
  /** sendFrameSize when set (BENCH_FRAME). */
  sendFrameSize?: number;
}

/** A Ctx with the bench's settings. */
function benchCtx(s: BeepSettings): Ctx {
  return new Ctx(s.sendFrameSize === undefined ? { codec: s.codec } : { codec: s.codec, sendFrameSize: s.sendFrameSize });
}

/** The listening context: both echo profiles and TLS (when a certificate is given). */
export function beepServerCtx(s: BeepSettings, leaf?: { cert: string; key: string }): Ctx {
  const ctx = benchCtx(s);
  registerProfile(ctx, PROFILE, {
    rawReceived: (ch, type, msgno, _ansno, bytes, offset, length) => {
      if (type === 'MSG') ch.replyRaw(msgno, bytes, offset, length);
    },
    // Messages of several frames or reads (the large sizes): echoed as the pieces they came in.
    frameReceived: (_c, ch, f) => {
      if (f.type === 'MSG') ch.replyRaw(f.msgno, f.contentParts);
    },
  });
  registerProfile(ctx, FRAME_PROFILE, {
    frameReceived: (_c, ch, f) => {
      if (f.type === 'MSG') ch.sendRpy(f.payload, undefined, f.msgNo);
    },
  });
  if (leaf !== undefined) tls.acceptTls(ctx, { certHandler: () => leaf.cert, keyHandler: () => leaf.key });
  return ctx;
}

/** A TCP listener on 127.0.0.1 (an ephemeral port). */
export function beepListener(ctx: Ctx): Promise<Listener> {
  return createListener(ctx, '127.0.0.1', 0);
}

/** One echo run: what beepEcho connects with and how. */
export interface BeepEchoCase {
  /** A TCP port, or a ws:// URL (the same session over BEEP-over-WebSocket). */
  target: number | string;
  size: number;
  channels: number;
  inFlight: number;
  seconds: number;
  /** The CA to check the listener's certificate with: the session is upgraded to TLS first. */
  caPem?: string | undefined;
  /** Frame handlers only (FRAME_PROFILE). */
  frames?: boolean;
  websocket?: WebSocketClientOptions;
}

/** Keeps `inFlight` messages outstanding over `channels` channels for `seconds`; a fresh client session per run. */
export async function beepEcho(s: BeepSettings, c: BeepEchoCase): Promise<EchoResult> {
  const ctx = benchCtx(s);
  const conn =
    typeof c.target === 'string'
      ? await Connection.connect(ctx, c.target, c.websocket === undefined ? {} : { websocket: c.websocket })
      : await Connection.connect(ctx, '127.0.0.1', c.target);
  if (c.caPem !== undefined && !(await tls.startTls(conn, { serverName: 'localhost', ca: c.caPem })))
    throw new Error(`TLS failed: ${conn.popChannelError()}`);
  const profile = c.frames === true ? FRAME_PROFILE : PROFILE;
  const chans = (await Promise.all(Array.from({ length: c.channels }, () => conn.openChannel(0, profile)))) as Channel[];
  const body = new Uint8Array(c.size).fill(0x61);
  let msgs = 0;
  // The run ends on a timer, not a clock read per reply: the raw client reads the clock once
  // per read (64 replies), and a read per message (~30 ns) is the harness's cost, not beepwire's.
  let running = true;
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const timer = setTimeout(() => {
    running = false;
  }, c.seconds * 1000);
  await new Promise<void>((resolve) => {
    let outstanding = 0;
    for (const ch of chans) {
      const onReply = (ch: Channel): void => {
        msgs++;
        outstanding--;
        if (running) {
          ch.sendMsg(body);
          outstanding++;
        } else if (outstanding === 0) resolve();
      };
      ch.setFrameReceived((_c, ch) => onReply(ch)); // with the raw one: the messages it does not take
      if (c.frames !== true) ch.setRawReceived(onReply);
    }
    for (let i = 0; i < c.inFlight; i++) {
      chans[i % chans.length]!.sendMsg(body);
      outstanding++;
    }
  });
  clearTimeout(timer);
  const secs = (performance.now() - t0) / 1000;
  const cpu = cpuSince(c0);
  await conn.close();
  return { msgs, secs, cpu };
}

/** `count` round trips of one 64-octet message (Channel.request); milliseconds each. */
export async function beepRtt(s: BeepSettings, port: number, count: number): Promise<number[]> {
  const ctx = benchCtx(s);
  const conn = await Connection.connect(ctx, '127.0.0.1', port);
  const ch = (await conn.openChannel(0, PROFILE))!;
  const body = new Uint8Array(64).fill(0x61);
  const times: number[] = [];
  for (let i = 0; i < count; i++) {
    const t = performance.now();
    await ch.request(body);
    times.push(performance.now() - t);
  }
  await conn.close();
  return times;
}
