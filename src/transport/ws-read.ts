// RFC 6455 §5 frames read from a byte stream, for BEEP over WebSocket (sans-I/O: ws-link.ts
// feeds it a socket's reads). BEEP over WebSocket is a pure byte stream: the payloads of the
// data frames, concatenated, are the BEEP octets, and a receiver assumes no alignment. So no
// message is ever reassembled: each payload piece goes to the sink as a view of the chunk it
// arrived in (unmasked in place on the listener's side: the chunk is ours), a frame spanning
// reads as one piece per read. `ws`'s Receiver copied every message that spanned two reads (a
// 64 KiB BEEP frame always does) into a new buffer before handing it over.
//
// Rules (RFC 6455 §5.2–5.5; no extension is negotiated): RSV bits clear; opcodes 0 (continuation),
// 1 (text: taken as octets, never checked as UTF-8, since LibVortex sends BEEP in text frames),
// 2 (binary), 8 (close), 9 (ping), 10 (pong); control frames unfragmented and at most 125
// octets; a continuation only inside a message, a new text or binary frame only outside one;
// the client's frames masked, the listener's not (§5.1); a 64-bit length with its top bit clear.
// A violation fails the connection with 1002; a message over maxPayload with 1009. Lengths in a
// longer form than needed are accepted (as `ws` does).
import { BeepWebSocketError } from '../errors.js';

/** RFC 6455 §7.4.1: normal closure. */
export const CLOSE_NORMAL = 1000;
/** RFC 6455 §7.4.1: protocol error. */
export const CLOSE_PROTOCOL_ERROR = 1002;
/** RFC 6455 §7.4.1: no status code in the close frame (never sent). */
export const CLOSE_NO_STATUS = 1005;
/** RFC 6455 §7.4.1: closed without a close frame (never sent). */
export const CLOSE_ABNORMAL = 1006;
/** RFC 6455 §7.4.1: policy violation. */
export const CLOSE_POLICY = 1008;
/** RFC 6455 §7.4.1: message too big. */
export const CLOSE_TOO_BIG = 1009;

/**
 * Data pieces smaller than this are moved within their chunk to follow the data before them
 * (see push()): a move of a few KiB costs less than a delivery to the session, which decodes
 * each piece in its own codec call; larger pieces go as they lie.
 */
const MOVE_BELOW = 4096;

/** Largest control frame payload (RFC 6455 §5.5). */
export const MAX_CONTROL = 125;

/** Opcodes (RFC 6455 §5.2). */
export const enum Opcode {
  Continuation = 0x0,
  Text = 0x1,
  Binary = 0x2,
  Close = 0x8,
  Ping = 0x9,
  Pong = 0xa,
}

/** A close code a peer may send (RFC 6455 §7.4: 1000–1014 less the reserved 1004–1006, and 3000–4999). */
export function validCloseCode(c: number): boolean {
  return (c >= 1000 && c <= 1014 && c !== 1004 && c !== 1005 && c !== 1006) || (c >= 3000 && c <= 4999);
}

/** Unmasks `buf` in place with `key` from its first octet (bufferutil's unmask signature). */
export type UnmaskFn = (buf: Uint8Array, key: Uint8Array) => void;

/** The JS unmask, for when bufferutil is not installed (and for short runs). */
export const jsUnmask: UnmaskFn = (buf, key) => {
  for (let i = 0; i < buf.length; i++) buf[i]! ^= key[i & 3]!;
};

/** What a reader reports. Called synchronously from push(); a sink may call stop() from any of them. */
export interface WsReadSink {
  /**
   * Payload octets of a data frame: a view of the pushed chunk, unmasked, never touched again by
   * the reader. `more`: another piece of the same push follows (false on the push's last).
   */
  data(piece: Uint8Array, more: boolean): void;
  /** A ping and its payload (a view valid only during the call). */
  ping(payload: Uint8Array): void;
  /** The peer's close frame: its code (1005 when it gave none) and reason (a view valid during the call); nothing is read after it. */
  close(code: number, reason: Uint8Array): void;
  /** The peer broke the protocol: fail the connection with `err.closeCode`; nothing is read after it. */
  fail(err: BeepWebSocketError): void;
}

/** Options of a reader. */
export interface WsReadOptions {
  /** The listener's side: frames must be masked (true); the client's: they must not be. */
  server: boolean;
  /** Largest message (the payloads of one data frame and its continuations), in octets. */
  maxPayload: number;
  /** In-place unmask (bufferutil's when loaded); default the JS loop. */
  unmask?: UnmaskFn;
}

const S_HEADER = 0;
const S_DATA = 1;
const S_CONTROL = 2;
const S_DONE = 3;

/** Octets of a header whose second octet is `b1`: 2, plus 2 or 8 of extended length, plus a 4-octet key when masked. */
function headerSize(b1: number): number {
  const len7 = b1 & 0x7f;
  return 2 + (len7 === 126 ? 2 : len7 === 127 ? 8 : 0) + (b1 & 0x80 ? 4 : 0);
}

/**
 * A streaming frame reader: push() each chunk as read; at most 14 octets of a header are kept
 * between pushes (and a control frame's ≤ 125), never payload.
 */
export class WsFrameReader {
  readonly #sink: WsReadSink;
  readonly #server: boolean;
  readonly #max: number;
  readonly #unmask: UnmaskFn;
  #state = S_HEADER;
  readonly #hdr = new Uint8Array(14); // a header cut by the end of a chunk
  #hdrLen = 0;
  #opcode = 0; // of the frame being read
  #fin = false;
  #masked = false;
  readonly #key = new Uint8Array(4);
  readonly #rot = new Uint8Array(4); // the key rotated to the payload offset a chunk starts at
  #need = 0; // payload octets of this frame still to come
  #done = 0; // payload octets of this frame already read (the key's phase)
  #inMessage = false; // a text or binary frame without FIN was read
  #size = 0; // octets of the current message so far
  readonly #ctrl = new Uint8Array(MAX_CONTROL);
  #ctrlLen = 0;
  // The data found in the current push and not yet delivered: chunk[#pStart, #pEnd) (#pChunk
  // set), held until the next piece says whether more follow.
  #pChunk: Uint8Array | undefined;
  #pStart = 0;
  #pEnd = 0;
  #offset = 0; // stream octets before the current chunk (for error messages)
  #frameAt = 0; // stream offset of the current frame's header

  /** A reader reporting to `sink`. */
  constructor(sink: WsReadSink, opts: WsReadOptions) {
    if (!(opts.maxPayload > 0)) throw new RangeError('maxPayload must be > 0');
    this.#sink = sink;
    this.#server = opts.server;
    this.#max = opts.maxPayload;
    this.#unmask = opts.unmask ?? jsUnmask;
  }

  /** Octets of a cut header held for the next push (at most 14). */
  get heldHeader(): number {
    return this.#hdrLen;
  }

  /** True once a close frame or a violation was read, or stop() was called: push() ignores input. */
  get stopped(): boolean {
    return this.#state === S_DONE;
  }

  /** Ignores all further input (the connection is going). */
  stop(): void {
    this.#state = S_DONE;
    this.#pChunk = undefined;
  }

  /** Delivers the data held (if any); false when the sink stopped us meanwhile. */
  #deliver(more: boolean): boolean {
    const c = this.#pChunk;
    if (c === undefined) return true;
    this.#pChunk = undefined;
    this.#sink.data(c.subarray(this.#pStart, this.#pEnd), more);
    return this.#state !== S_DONE;
  }

  /** Reads a chunk; data pieces may be unmasked in place (the chunk must be the caller's to change). */
  push(chunk: Uint8Array): void {
    const end = chunk.length;
    let off = 0;
    while (off < end) {
      const state = this.#state;
      if (state === S_DATA) {
        const n = Math.min(this.#need, end - off);
        const at = off;
        off += n;
        if (this.#masked) this.#unmaskAt(chunk, at, n, this.#done);
        this.#need -= n;
        this.#done += n;
        if (this.#pChunk !== undefined && n < MOVE_BELOW) {
          // A small piece moves down over the frame header(s) before it to follow the data held,
          // so the many small frames of one read reach the session as one view (the octets it
          // overwrites were read already; none of them was delivered).
          if (this.#pEnd !== at) chunk.copyWithin(this.#pEnd, at, at + n);
          this.#pEnd += n;
        } else {
          if (!this.#deliver(true)) return; // the sink stopped us
          this.#pChunk = chunk;
          this.#pStart = at;
          this.#pEnd = at + n;
        }
        if (this.#need === 0) this.#frameEnd();
      } else if (state === S_HEADER) {
        let buf = chunk;
        let at = off;
        if (this.#hdrLen > 0 || end - off < 2 || end - off < headerSize(chunk[off + 1]!)) {
          const h = this.#hdr;
          while (this.#hdrLen < 2 && off < end) h[this.#hdrLen++] = chunk[off++]!;
          if (this.#hdrLen < 2) break;
          const size = headerSize(h[1]!);
          while (this.#hdrLen < size && off < end) h[this.#hdrLen++] = chunk[off++]!;
          if (this.#hdrLen < size) break;
          this.#hdrLen = 0;
          buf = h;
          at = 0;
        } else off += headerSize(chunk[off + 1]!);
        if (!this.#header(buf, at, this.#offset + off - headerSize(buf[at + 1]!))) return;
      } else if (state === S_CONTROL) {
        const n = Math.min(this.#need, end - off);
        this.#ctrl.set(chunk.subarray(off, off + n), this.#ctrlLen);
        this.#ctrlLen += n;
        this.#need -= n;
        off += n;
        if (this.#need === 0 && !this.#control()) return;
      } else return;
    }
    this.#offset += end;
    this.#deliver(false);
  }

  /** Unmasks buf[start, start + n), payload that starts `phase` octets into its frame. */
  #unmaskAt(buf: Uint8Array, start: number, n: number, phase: number): void {
    const key = this.#key;
    if (n < 32) {
      // Short runs in place without a view (bufferutil's unmask is also JS below 32 octets).
      for (let i = 0; i < n; i++) buf[start + i]! ^= key[(phase + i) & 3]!;
      return;
    }
    const k = phase & 3;
    let rot = key;
    if (k !== 0) {
      rot = this.#rot;
      for (let i = 0; i < 4; i++) rot[i] = key[(i + k) & 3]!;
    }
    this.#unmask(buf.subarray(start, start + n), rot);
  }

  /** Parses a complete header at buf[at]; false when it breaks a rule (the connection is failed). */
  #header(buf: Uint8Array, at: number, where: number): boolean {
    const b0 = buf[at]!;
    const b1 = buf[at + 1]!;
    const op = b0 & 0x0f;
    const fin = (b0 & 0x80) !== 0;
    const masked = (b1 & 0x80) !== 0;
    if ((b0 & 0x70) !== 0) return this.#violation(`RSV bits set (0x${(b0 & 0x70).toString(16)}) with no extension negotiated`, where);
    const control = op >= 8;
    if (control) {
      if (op !== Opcode.Close && op !== Opcode.Ping && op !== Opcode.Pong)
        return this.#violation(`unknown opcode 0x${op.toString(16)}`, where);
      if (!fin) return this.#violation('a fragmented control frame', where);
      if ((b1 & 0x7f) > MAX_CONTROL) return this.#violation(`a control frame longer than ${MAX_CONTROL} octets`, where);
    } else if (op === Opcode.Continuation) {
      if (!this.#inMessage) return this.#violation('a continuation frame with no message started', where);
    } else if (op === Opcode.Text || op === Opcode.Binary) {
      if (this.#inMessage) return this.#violation('a new data frame inside an unfinished message', where);
    } else return this.#violation(`unknown opcode 0x${op.toString(16)}`, where);
    if (masked !== this.#server)
      return this.#violation(this.#server ? 'an unmasked frame from the client' : 'a masked frame from the listener', where);
    let len = b1 & 0x7f;
    let o = at + 2;
    if (len === 126) {
      len = (buf[o]! << 8) | buf[o + 1]!;
      o += 2;
    } else if (len === 127) {
      const hi = ((buf[o]! << 24) | (buf[o + 1]! << 16) | (buf[o + 2]! << 8) | buf[o + 3]!) >>> 0;
      const lo = ((buf[o + 4]! << 24) | (buf[o + 5]! << 16) | (buf[o + 6]! << 8) | buf[o + 7]!) >>> 0;
      if (hi >= 0x80000000) return this.#violation('a 64-bit length with its most significant bit set', where);
      len = hi * 0x100000000 + lo; // exact below 2^53; anything near it is over maxPayload anyway
      o += 8;
    }
    if (masked) {
      const k = this.#key;
      k[0] = buf[o]!;
      k[1] = buf[o + 1]!;
      k[2] = buf[o + 2]!;
      k[3] = buf[o + 3]!;
    }
    this.#frameAt = where;
    this.#opcode = op;
    this.#fin = fin;
    this.#masked = masked;
    this.#need = len;
    this.#done = 0;
    if (control) {
      this.#ctrlLen = 0;
      this.#state = S_CONTROL;
      return len > 0 || this.#control();
    }
    if (this.#size + len > this.#max) {
      this.#fail(new BeepWebSocketError(`WebSocket message over maxPayload (${this.#max} octets) at octet ${where}`, CLOSE_TOO_BIG));
      return false;
    }
    this.#size += len;
    this.#inMessage = !fin;
    if (len === 0) this.#frameEnd();
    else this.#state = S_DATA;
    return true;
  }

  /** A data frame's payload was all read. */
  #frameEnd(): void {
    if (this.#fin) this.#size = 0;
    this.#state = S_HEADER;
  }

  /** A control frame's payload was all read: answers it; false once nothing more is to be read. */
  #control(): boolean {
    const p = this.#ctrl.subarray(0, this.#ctrlLen);
    if (this.#masked) this.#unmaskAt(p, 0, p.length, 0);
    this.#state = S_HEADER;
    const op = this.#opcode;
    if (op === Opcode.Pong) return true; // unsolicited or not, a pong asks for nothing (RFC 6455 §5.5.3)
    // Data found before a control frame goes first.
    if (!this.#deliver(op !== Opcode.Close)) return false;
    if (op === Opcode.Ping) {
      this.#sink.ping(p);
      return this.#state !== S_DONE;
    }
    // Close (RFC 6455 §5.5.1): empty, or a 2-octet code and a reason.
    if (p.length === 1) return this.#violation('a close frame with a 1-octet body', this.#frameAt);
    const code = p.length === 0 ? CLOSE_NO_STATUS : (p[0]! << 8) | p[1]!;
    if (p.length >= 2 && !validCloseCode(code)) return this.#violation(`a close frame with the invalid code ${code}`, this.#frameAt);
    this.#state = S_DONE;
    this.#sink.close(code, p.subarray(p.length === 0 ? 0 : 2));
    return false;
  }

  #violation(what: string, where: number): false {
    this.#fail(new BeepWebSocketError(`WebSocket protocol error (1002): ${what}, at octet ${where} of the stream`, CLOSE_PROTOCOL_ERROR));
    return false;
  }

  #fail(err: BeepWebSocketError): void {
    // Data found before the violation goes first: it was well formed.
    if (!this.#deliver(false)) return;
    this.#state = S_DONE;
    this.#sink.fail(err);
  }
}
