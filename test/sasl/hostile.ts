// Helpers for hostile-peer tests of the profile modules (issue 9): a raw peer that greets,
// starts channels and reads frames back, and a watch on faults that would crash a process.
import assert from 'node:assert/strict';
import { RawPeer, greetingPayload } from '../session/raw.js';

/** Content type line of every BEEP XML payload. */
export const MIME = 'Content-Type: application/beep+xml\r\n\r\n';

/** Base64 of a string's or octets' UTF-8 / raw bytes (SASL blobs). */
export const b64 = (s: string | Uint8Array): string => Buffer.from(s as Uint8Array).toString('base64');
/** The text a base64 SASL blob carries. */
export const unb64 = (s: string): string => Buffer.from(s, 'base64').toString();

/** One received frame. */
export interface RawFrame {
  /** MSG, RPY, ERR, ANS, NUL or SEQ. */
  kw: string;
  /** Channel number. */
  ch: number;
  /** msgno (ackno for SEQ). */
  msgno: number;
  /** Payload (Latin-1), '' for SEQ. */
  payload: string;
}

/** Splits received text into frames (stops at an incomplete one). */
export function parseFrames(text: string): RawFrame[] {
  const out: RawFrame[] = [];
  let i = 0;
  while (i < text.length) {
    const nl = text.indexOf('\r\n', i);
    if (nl < 0) break;
    const h = text.slice(i, nl).split(' ');
    if (h[0] === 'SEQ') {
      out.push({ kw: 'SEQ', ch: Number(h[1]), msgno: Number(h[2]), payload: '' });
      i = nl + 2;
      continue;
    }
    const size = Number(h[5]);
    if (text.length < nl + 7 + size) break;
    out.push({ kw: h[0]!, ch: Number(h[1]), msgno: Number(h[2]), payload: text.slice(nl + 2, nl + 2 + size) });
    i = nl + 7 + size;
  }
  return out;
}

/** Waits (bounded) for the first frame matching `pred` among those received. */
export async function frameWhere(p: RawPeer, pred: (f: RawFrame) => boolean, ms = 3000): Promise<RawFrame> {
  const deadline = Date.now() + ms;
  for (;;) {
    const f = parseFrames(p.received).find(pred);
    if (f !== undefined) return f;
    if (Date.now() > deadline) throw new Error(`no matching frame within ${ms} ms; got ${JSON.stringify(p.received.slice(-600))}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** A raw peer that has exchanged greetings with the listener on `port`. */
export async function greeted(port: number): Promise<RawPeer & { ch0: number }> {
  const p = (await RawPeer.connect(port)) as RawPeer & { ch0: number };
  p.ch0 = 1;
  await p.waitFor('</greeting>');
  await p.send(p.frame('RPY', 0, 0, greetingPayload()));
  return p;
}

/** Starts channel `ch` for `uri` (optional piggyback); resolves the channel-0 reply frame. */
export async function startRaw(p: RawPeer & { ch0: number }, ch: number, uri: string, piggyback?: string): Promise<RawFrame> {
  const msgno = p.ch0++;
  const body = piggyback === undefined ? `<profile uri='${uri}' />` : `<profile uri='${uri}'><![CDATA[${piggyback}]]></profile>`;
  await p.send(p.frame('MSG', 0, msgno, `${MIME}<start number='${ch}'>${body}</start>`));
  return frameWhere(p, (f) => f.ch === 0 && f.msgno === msgno && (f.kw === 'RPY' || f.kw === 'ERR'));
}

/** Sends MSG `msgno` on `ch` and resolves its reply frame. */
export async function ask(p: RawPeer, ch: number, msgno: number, payload: string): Promise<RawFrame> {
  await p.send(p.frame('MSG', ch, msgno, payload));
  return frameWhere(p, (f) => f.ch === ch && f.msgno === msgno && (f.kw === 'RPY' || f.kw === 'ERR'));
}

/** Checks the session still answers: a start of an unknown profile is refused on channel 0. */
export async function stillUp(p: RawPeer & { ch0: number }, ch: number): Promise<void> {
  const r = await startRaw(p, ch, 'http://beepwire.test/no-such-profile');
  assert.equal(r.kw, 'ERR');
}

/**
 * Collects uncaught exceptions and unhandled rejections while installed: a listener that lets
 * one escape would take the process down. Call stop() and assert the list is empty.
 */
export function watchFaults(): { faults: unknown[]; stop(): void } {
  const faults: unknown[] = [];
  const onFault = (e: unknown): void => {
    faults.push(e);
  };
  process.on('uncaughtException', onFault);
  process.on('unhandledRejection', onFault);
  return {
    faults,
    stop() {
      process.off('uncaughtException', onFault);
      process.off('unhandledRejection', onFault);
    },
  };
}

/** Lets pending I/O callbacks and microtasks run a few rounds (no timing assertion). */
export async function settle(rounds = 5): Promise<void> {
  for (let i = 0; i < rounds; i++) await new Promise((r) => setTimeout(r, 10));
}
