// Hand-written RFC 6455 frames for the reader's tests (test/transport/ws-read.test.ts, the raw
// peers of websocket-reader.test.ts and the soak): built octet by octet here, independently of
// src/transport/ws-frame.ts, with every knob a hostile peer has (RSV bits, FIN, length form,
// mask or none).

/** How to build one frame. */
export interface FrameSpec {
  /** Opcode (0..15). */
  op: number;
  /** Payload (default empty). */
  payload?: Uint8Array | string;
  /** FIN (default true). */
  fin?: boolean;
  /** RSV1..3 bits, as 0x40/0x20/0x10 (default 0). */
  rsv?: number;
  /** Masking key: masked with it (default unmasked). */
  key?: Uint8Array | undefined;
  /** Length form: 7-bit, 16-bit or 64-bit (default the smallest that fits). */
  form?: 7 | 16 | 64 | undefined;
  /** 64-bit form: the high 32 bits written (default 0; set the top bit to break the rule). */
  hi?: number;
}

/** Octets of Latin-1 text. */
export const bytes = (s: string): Uint8Array => Uint8Array.from(s, (c) => c.charCodeAt(0) & 0xff);

/** Octets of hex text (spaces ignored). */
export const hex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s.replace(/\s+/g, ''), 'hex'));

/** One frame's octets. */
export function frame(s: FrameSpec): Uint8Array {
  const p = typeof s.payload === 'string' ? bytes(s.payload) : (s.payload ?? new Uint8Array(0));
  const n = p.length;
  const form = s.form ?? (n < 126 ? 7 : n < 65536 ? 16 : 64);
  const head: number[] = [((s.fin ?? true) ? 0x80 : 0) | (s.rsv ?? 0) | s.op];
  const m = s.key === undefined ? 0 : 0x80;
  if (form === 7) head.push(m | n);
  else if (form === 16) head.push(m | 126, n >>> 8, n & 0xff);
  else {
    const hi = s.hi ?? Math.floor(n / 2 ** 32);
    head.push(
      m | 127,
      hi >>> 24,
      (hi >>> 16) & 0xff,
      (hi >>> 8) & 0xff,
      hi & 0xff,
      n >>> 24,
      (n >>> 16) & 0xff,
      (n >>> 8) & 0xff,
      n & 0xff,
    );
  }
  if (s.key !== undefined) head.push(...s.key);
  const out = new Uint8Array(head.length + n);
  out.set(head, 0);
  for (let i = 0; i < n; i++) out[head.length + i] = s.key === undefined ? p[i]! : p[i]! ^ s.key[i & 3]!;
  return out;
}

/** Frames one after the other. */
export function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((s, p) => s + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** A close frame's payload: the code, then the reason. */
export function closeBody(code: number, reason = ''): Uint8Array {
  return concat(Uint8Array.of(code >>> 8, code & 0xff), bytes(reason));
}

/** The key of RFC 6455 §5.7's masked example. */
export const KEY = hex('37fa213d');
