// The browser demo's BEEP client, free of the DOM so that `npm test` runs it under Node too
// (test/examples-browser.test.ts) and the page (app.ts) only draws what it reports. Over a
// ws:// URL: greetings, an echo channel, 64-octet round trips timed one by one, then one
// 8 MiB MSG sent in pieces and its RPY received frame by frame, checked octet for octet.
import { Ctx, Connection, type Channel, type Frame } from '../../src/index.js';

/** The echo profile the demo listener runs (the `beepwire listen` one, so `beepwire ping` works on it too). */
export const PROFILE = 'http://beepwire.dev/profiles/echo';
/** Size of the large message. */
export const LARGE = 8 << 20;
/** Size of each piece the large MSG is handed to the session in (sendMsgMore; 256 KiB = the default sendFrameSize). */
export const PIECE = 256 << 10;
/** 64-octet round trips timed. */
export const ROUNDS = 20;
/** Give up on a reply after this long (ms). */
export const REPLY_TIMEOUT = 60_000;

/** What a run found: window.__beepwireResult on the page. */
export interface DemoResult {
  /** Both echoes passed. */
  ok: boolean;
  /** The ws:// URL connected to. */
  url: string;
  /** Connect and greetings, ms. */
  connectMs: number;
  /** 64-octet echoes. */
  echo64: { ok: boolean; rounds: number; rttMs: { min: number; median: number; max: number }; error?: string };
  /** The 8 MiB echo. */
  echo8MiB: {
    ok: boolean;
    /** Octets sent (and expected back). */
    octets: number;
    /** From the first piece queued to the last reply octet checked, ms. */
    ms: number;
    /** When the last piece was handed to the WebSocket, ms after the start. */
    sentMs: number;
    /** Reply frames received (per-frame delivery). */
    replyFrames: number;
    /** 2 × 8 MiB over `ms`, MiB/s. */
    mibPerS: number;
    error?: string;
  };
  /** Why the run stopped early, if it did. */
  error?: string;
}

/** Progress as the demo sees it; every count is in octets. */
export interface DemoEvents {
  /** Text for the log. */
  log?(line: string): void;
  /** A 64-octet round trip took `ms`. */
  rtt?(round: number, ms: number): void;
  /** MSG octets handed to the WebSocket (counted when each piece's last frame is written: SendOptions.onSent). */
  sent?(octets: number, total: number): void;
  /** RPY body octets received (counted per BEEP frame as the session delivers it; the MIME header block not counted). */
  received?(octets: number, total: number): void;
}

/** A payload whose octets depend on their position, so a reordered or truncated echo is caught. */
export function pattern(n: number): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = (i * 31 + (i >>> 11)) & 0xff;
  return b;
}

function errors(conn: Connection): string {
  const out: string[] = [];
  for (let e = conn.popChannelError(); e; e = conn.popChannelError()) out.push(`${e[0]} ${e[1]}`);
  return out.join('; ') || 'no error recorded';
}

/** Offset of the body in a MIME entity (RFC 3080 §2.2: headers, then an empty line; no headers: just CRLF). */
function bodyOffset(content: Uint8Array): number {
  if (content[0] === 13 && content[1] === 10) return 2;
  for (let i = 0; i + 3 < content.length; i++) {
    if (content[i] === 13 && content[i + 1] === 10 && content[i + 2] === 13 && content[i + 3] === 10) return i + 4;
  }
  return -1;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  if (s.length === 0) return 0;
  const mid = s.length >> 1; // s is not empty: s[mid] exists, and s[mid - 1] too when the length is even
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

const round2 = (x: number): number => Math.round(x * 100) / 100;

async function echo64(ch: Channel, ev: DemoEvents): Promise<DemoResult['echo64']> {
  const rtts: number[] = [];
  const payload = pattern(64);
  try {
    for (let i = 0; i < ROUNDS; i++) {
      const t0 = performance.now();
      const reply = await ch.request(payload, { timeout: REPLY_TIMEOUT });
      const ms = performance.now() - t0;
      const p = reply.payload;
      if (reply.type !== 'RPY' || p.length !== 64 || p.some((x, j) => x !== payload[j]))
        throw new Error(`round ${i}: ${reply.type} of ${p.length} octets, not the 64 sent`);
      rtts.push(ms);
      ev.rtt?.(i, ms);
    }
    const rttMs = { min: round2(Math.min(...rtts)), median: round2(median(rtts)), max: round2(Math.max(...rtts)) };
    ev.log?.(`${ROUNDS} echoes of 64 octets: RTT min ${rttMs.min} ms, median ${rttMs.median} ms, max ${rttMs.max} ms`);
    return { ok: true, rounds: rtts.length, rttMs };
  } catch (e) {
    return { ok: false, rounds: rtts.length, rttMs: { min: 0, median: 0, max: 0 }, error: (e as Error).message };
  }
}

/**
 * One 8 MiB MSG, handed to the session in 256 KiB pieces (sendMsgMore: one message on the wire,
 * every frame but the last flagged `*`), waiting for room whenever the outbound queue is at its
 * budget. The listener answers once it has the whole MSG; the RPY arrives frame by frame (the
 * context delivers frames, not messages) and is checked against what was sent.
 */
async function echoLarge(ch: Channel, ev: DemoEvents): Promise<DemoResult['echo8MiB']> {
  const payload = pattern(LARGE);
  const t0 = performance.now();
  let sentMs = 0;
  let sent = 0;
  let received = 0;
  let replyFrames = 0;
  const parts: Uint8Array[] = [];
  const fail = (error: string): DemoResult['echo8MiB'] => ({
    ok: false,
    octets: LARGE,
    ms: round2(performance.now() - t0),
    sentMs: round2(sentMs),
    replyFrames,
    mibPerS: 0,
    error,
  });
  const reply = new Promise<Frame>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no whole reply within ${REPLY_TIMEOUT} ms (${received} octets came)`)), REPLY_TIMEOUT);
    let head = 0; // the MIME header block, in the first frame (RFC 3080 §2.2)
    ch.setFrameReceived((_conn, _ch, f) => {
      if (replyFrames++ === 0) head = Math.max(0, bodyOffset(f.content));
      parts.push(f.content);
      received += f.content.length;
      ev.received?.(Math.max(0, received - head), LARGE);
      if (!f.more) {
        clearTimeout(timer);
        resolve(f);
      }
    });
  });
  reply.catch(() => {
    /* awaited below */
  });
  for (let at = 0; at < LARGE; at += PIECE) {
    if (!ch.writable) await ch.whenWritable();
    const piece = payload.subarray(at, Math.min(at + PIECE, LARGE));
    const last = at + PIECE >= LARGE;
    const onSent = (): void => {
      sent += piece.length;
      ev.sent?.(sent, LARGE);
      if (last) sentMs = performance.now() - t0;
    };
    const n = last ? ch.sendMsg(piece, undefined, { onSent }) : ch.sendMsgMore(piece, undefined, { onSent });
    if (n === null) return fail(`send: ${errors(ch.conn)}`);
  }
  let final: Frame;
  try {
    final = await reply;
  } catch (e) {
    return fail((e as Error).message);
  } finally {
    ch.setFrameReceived(undefined);
  }
  if (final.type !== 'RPY') return fail(`the answer was ${final.type}`);
  const whole = new Uint8Array(received);
  let off = 0;
  for (const p of parts) {
    whole.set(p, off);
    off += p.length;
  }
  const body = whole.subarray(Math.max(0, bodyOffset(whole)));
  if (body.length !== LARGE) return fail(`${body.length} octets came back, not ${LARGE}`);
  for (let i = 0; i < LARGE; i++) if (body[i] !== payload[i]) return fail(`the echo differs at octet ${i}`);
  const ms = performance.now() - t0;
  const mibPerS = round2((2 * LARGE) / (1 << 20) / (ms / 1000));
  ev.log?.(
    `8 MiB echoed intact in ${Math.round(ms)} ms (sent by ${Math.round(sentMs)} ms; ${replyFrames} reply frames; ${mibPerS} MiB/s both ways)`,
  );
  return { ok: true, octets: LARGE, ms: round2(ms), sentMs: round2(sentMs), replyFrames, mibPerS };
}

const notRun = (why: string): DemoResult['echo8MiB'] => ({
  ok: false,
  octets: LARGE,
  ms: 0,
  sentMs: 0,
  replyFrames: 0,
  mibPerS: 0,
  error: why,
});

/** Runs the demo against `url` (ws:// or wss://); never rejects: failures are in the result. */
export async function runDemo(url: string, ev: DemoEvents = {}): Promise<DemoResult> {
  const t0 = performance.now();
  // Frames, not whole messages: the 8 MiB reply shows its progress as it comes.
  const conn = await Connection.connect(new Ctx({ perFrame: true }), url).catch((e: Error) => e);
  const connectMs = round2(performance.now() - t0);
  const none = { ok: false, rounds: 0, rttMs: { min: 0, median: 0, max: 0 } };
  if (conn instanceof Error || !conn.isOk()) {
    const error = `connect ${url}: ${conn instanceof Error ? conn.message : errors(conn)}`;
    return { ok: false, url, connectMs, echo64: { ...none, error }, echo8MiB: notRun(error), error };
  }
  ev.log?.(`connected to ${url} in ${Math.round(connectMs)} ms; the listener offers ${conn.remoteProfiles.join(', ')}`);
  const ch = await conn.openChannel(0, PROFILE);
  if (ch === null) {
    const error = `start ${PROFILE}: ${errors(conn)}`;
    conn.shutdown();
    return { ok: false, url, connectMs, echo64: { ...none, error }, echo8MiB: notRun(error), error };
  }
  ev.log?.(`channel ${ch.number} runs ${PROFILE}`);
  const small = await echo64(ch, ev);
  const large = small.ok ? await echoLarge(ch, ev) : notRun('not run: the 64-octet echo failed');
  const released = small.ok && large.ok && (await conn.close());
  if (!released) conn.shutdown();
  else ev.log?.('session released');
  return {
    ok: small.ok && large.ok,
    url,
    connectMs,
    echo64: small,
    echo8MiB: large,
    ...(small.ok && large.ok && !released ? { error: `release: ${errors(conn)}` } : {}),
  };
}
