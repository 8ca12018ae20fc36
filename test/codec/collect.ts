// Test helper: feeds chunks to a SessionCodec and returns chunking-independent events
// (payload pieces merged into whole frames).
import type { FrameHandler, SessionCodec } from '../../src/codec/types.js';

/** One normalized decode event. */
export type Ev =
  | {
      kind: 'frame';
      type: number;
      channel: number;
      msgno: number;
      more: boolean;
      seqno: number;
      size: number;
      ansno: number;
      payload: string;
      end: boolean;
    }
  | { kind: 'seq'; channel: number; ackno: number; window: number }
  | { kind: 'hint'; channel: number; ackno: number; unacked: number }
  | { kind: 'error'; status: number; channel: number; offset: number };

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

/**
 * A handler that records normalized events (payload pieces merged into whole frames, as hex);
 * `finish()` gives frames still open at the end the payload received so far. For decoding that
 * interleaves several codecs, one recorder each.
 */
export function recorder(): { handler: FrameHandler; out: Ev[]; finish(): Ev[] } {
  const out: Ev[] = [];
  const open = new Map<number, { ev: Extract<Ev, { kind: 'frame' }>; parts: string[] }>();
  const handler: FrameHandler = {
    onFrame(type, channel, msgno, more, seqno, size, ansno, buf, offset, length, end) {
      const ev = { kind: 'frame' as const, type, channel, msgno, more, seqno, size, ansno, payload: '', end };
      const parts = [hex(buf.subarray(offset, offset + length))];
      out.push(ev);
      if (end) ev.payload = parts.join('');
      else open.set(channel, { ev, parts });
    },
    onData(channel, buf, offset, length, end) {
      const f = open.get(channel);
      if (!f) throw new Error(`onData without a frame on channel ${channel}`);
      f.parts.push(hex(buf.subarray(offset, offset + length)));
      if (end) {
        f.ev.payload = f.parts.join('');
        f.ev.end = true;
        open.delete(channel);
      }
    },
    onSeq(channel, ackno, window) {
      out.push({ kind: 'seq', channel, ackno, window });
    },
    onSeqHint(channel, ackno, unacked) {
      out.push({ kind: 'hint', channel, ackno, unacked });
    },
    onError(status, channel, offset) {
      out.push({ kind: 'error', status, channel, offset });
    },
  };
  return {
    handler,
    out,
    finish() {
      for (const f of open.values()) f.ev.payload = f.parts.join('');
      return out;
    },
  };
}

/** Decodes `chunks` in order; payloads are hex strings. */
export function collect(codec: SessionCodec, chunks: Uint8Array[]): Ev[] {
  const r = recorder();
  for (const c of chunks) if (!codec.decode(c, r.handler)) break;
  return r.finish();
}

/** Splits `bytes` at the given offsets. */
export function splitAt(bytes: Uint8Array, ...cuts: number[]): Uint8Array[] {
  const out: Uint8Array[] = [];
  let prev = 0;
  for (const c of cuts) {
    out.push(bytes.subarray(prev, c));
    prev = c;
  }
  out.push(bytes.subarray(prev));
  return out;
}

/** Latin-1 string to bytes (wire text in vectors is 8-bit). */
export function latin1(s: string): Uint8Array {
  const b = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) b[i] = s.charCodeAt(i) & 0xff;
  return b;
}

/** MSG frames on channel 1 with payloads of `sizes` octets of `fill`, seqnos in order. */
export function msgStream(sizes: number[], fill = 0x61): Uint8Array {
  let seq = 0,
    text = '';
  sizes.forEach((n, i) => {
    text += `MSG 1 ${i} . ${seq} ${n}\r\n${String.fromCharCode(fill).repeat(n)}END\r\n`;
    seq += n;
  });
  return latin1(text);
}

/** Opens channel 1 on `c` with a receive window wide enough for any test stream. */
export function openedWide(c: SessionCodec): SessionCodec {
  c.openChannel(1);
  c.setSeqState(1, 0, 0, { recvWindow: 0x7fffffff });
  return c;
}
