// Pure-TS reference codec: the same contract as the WASM codec (docs/codec.md), written for
// clarity. It is the differential-test oracle and the benchmark baseline. No node: imports.
import type { FrameHandler, CodecLimits, SessionCodec, SeqEdges, RecvSeqState, SendSeqState } from './types.js';
import { checkLimits } from './limits.js';
import {
  T_MSG,
  T_RPY,
  T_ERR,
  T_ANS,
  T_NUL,
  T_SEQ,
  INITIAL_WINDOW,
  S_BAD_KEYWORD,
  S_BAD_FIELD,
  S_FIELD_RANGE,
  S_MISSING_CRLF,
  S_HEADER_TOO_LONG,
  S_BAD_TRAILER,
  S_BAD_SEQNO,
  S_WINDOW_EXCEEDED,
  S_SIZE_TOO_LARGE,
  S_UNKNOWN_CHANNEL,
  S_BAD_MORE,
  S_CONTINUATION,
  S_NUL_CONTINUED,
  S_BAD_ACKNO,
} from './layout.js';

const MAX_31 = 2147483647;
const MAX_32 = 4294967295;
const TRAILER = [69, 78, 68, 13, 10]; // "END\r\n"
const KEYWORDS = ['MSG', 'RPY', 'ERR', 'ANS', 'NUL', 'SEQ'];
const TYPES = [T_MSG, T_RPY, T_ERR, T_ANS, T_NUL, T_SEQ];

/** Per-channel sequence and window state (RFC 3081 §3.1). */
interface Chan {
  recvNext: number;
  recvAckno: number;
  recvWindow: number;
  sendNext: number;
  sendLimit: number;
  hinted: boolean;
  continued: boolean;
  contType: number;
  contMsgno: number;
}

const enum St {
  Header,
  Payload,
  Trailer,
  Failed,
}

/** Thrown inside header parsing to carry a status out of nested helpers. */
class HeaderError {
  constructor(
    readonly status: number,
    readonly channel: number,
  ) {}
}

/** The pure-TS session codec. */
export class RefCodec implements SessionCodec {
  /** Implementation tag. */
  readonly impl = 'ref' as const;
  readonly #maxHeader: number;
  readonly #maxFrame: number;
  readonly #chans = new Map<number, Chan>();
  #state = St.Header;
  #remaining = 0;
  #matched = 0;
  #cur: Chan | undefined;
  #curChannel = -1;
  #carry: Uint8Array = new Uint8Array(0); // partial header from the previous chunk
  #offset = 0;

  /** Creates codec state with the given limits. */
  constructor(limits: CodecLimits = {}) {
    const l = checkLimits(limits);
    this.#maxHeader = l.maxHeader;
    this.#maxFrame = l.maxFrame;
  }

  /** True after poorly formed input. */
  get failed(): boolean {
    return this.#state === St.Failed;
  }
  /** Octets consumed from the peer so far. */
  get streamOffset(): number {
    return this.#offset;
  }

  #fail(handler: FrameHandler, status: number, channel: number, at: number): false {
    this.#state = St.Failed;
    this.#offset = at;
    handler.onError(status, channel, at);
    return false;
  }

  /** Decodes a chunk; see FrameDecoder. */
  decode(chunk: Uint8Array, handler: FrameHandler): boolean {
    if (this.#state === St.Failed) return false;
    let p = 0;
    const n = chunk.length;
    // Stream offset of chunk[0].
    const base = this.#offset + this.#carry.length;
    while (p < n) {
      if (this.#state === St.Header) {
        // Header line: LF within maxHeader octets of the header start (which may be in the carry).
        const carry = this.#carry;
        const room = this.#maxHeader - carry.length;
        const limit = Math.min(n, p + room);
        let lf = p;
        while (lf < limit && chunk[lf] !== 10) lf++;
        const headerStart = base + p - carry.length;
        if (lf === limit) {
          if (carry.length + (n - p) >= this.#maxHeader) return this.#fail(handler, S_HEADER_TOO_LONG, -1, headerStart);
          const next = new Uint8Array(carry.length + n - p);
          next.set(carry, 0);
          next.set(chunk.subarray(p), carry.length);
          this.#carry = next;
          this.#offset = headerStart;
          return true;
        }
        let line: Uint8Array;
        if (carry.length > 0) {
          line = new Uint8Array(carry.length + lf + 1 - p);
          line.set(carry, 0);
          line.set(chunk.subarray(p, lf + 1), carry.length);
          this.#carry = new Uint8Array(0);
        } else {
          line = chunk.subarray(p, lf + 1);
        }
        p = lf + 1;
        try {
          this.#header(line, handler, chunk, p, n);
        } catch (e) {
          if (e instanceof HeaderError) return this.#fail(handler, e.status, e.channel, headerStart);
          throw e;
        }
        if (this.#state === St.Header) {
          this.#offset = base + p;
          continue;
        }
        // A data frame: the FRAME event was emitted with its first piece; skip past it.
        p = this.#afterPiece(chunk, p + this.#pieceLen, n, handler, base);
        if (p < 0) return false;
        this.#offset = base + p;
        continue;
      }
      if (this.#state === St.Payload) {
        const piece = Math.min(this.#remaining, n - p);
        this.#remaining -= piece;
        const endsHere = this.#remaining === 0 && this.#trailerCompletes(chunk, p + piece, n);
        if (this.#remaining === 0) this.#state = St.Trailer;
        handler.onData(this.#curChannel, chunk, p, piece, endsHere);
        p = this.#afterPiece(chunk, p + piece, n, handler, base);
        if (p < 0) return false;
        this.#offset = base + p;
        continue;
      }
      // St.Trailer at the start of a call: the last piece went out in an earlier call.
      const r = this.#trailer(chunk, p, n, handler, base, false);
      if (r < 0) return false;
      p = r;
      this.#offset = base + p;
    }
    this.#offset = base + p;
    return true;
  }

  #pieceLen = 0;

  /** After a payload piece went out in this call: match the trailer if the payload is done. */
  #afterPiece(chunk: Uint8Array, p: number, n: number, handler: FrameHandler, base: number): number {
    return this.#state === St.Trailer ? this.#trailer(chunk, p, n, handler, base, true) : p;
  }

  /** True when "END\r\n" is wholly present and correct at chunk[p..]. */
  #trailerCompletes(chunk: Uint8Array, p: number, n: number): boolean {
    if (n - p < 5 - this.#matched) return false;
    for (let k = this.#matched; k < 5; k++) if (chunk[p + k - this.#matched] !== TRAILER[k]) return false;
    return true;
  }

  /**
   * Matches trailer octets from p. `announced`: the record that carried the last payload piece
   * was emitted in this call (with end=true when the trailer completes here).
   * Returns the new position, or -1 after an error.
   */
  #trailer(chunk: Uint8Array, p: number, n: number, handler: FrameHandler, base: number, announced: boolean): number {
    while (this.#matched < 5 && p < n) {
      if (chunk[p] !== TRAILER[this.#matched]) {
        this.#fail(handler, S_BAD_TRAILER, this.#curChannel, base + p);
        return -1;
      }
      p++;
      this.#matched++;
    }
    if (this.#matched < 5) return p;
    if (!announced) handler.onData(this.#curChannel, chunk, p, 0, true);
    this.#matched = 0;
    this.#state = St.Header;
    const c = this.#cur;
    if (c !== undefined) {
      const unacked = (c.recvNext - c.recvAckno) >>> 0;
      if (unacked >= Math.floor(c.recvWindow / 2) && !c.hinted) {
        c.hinted = true;
        handler.onSeqHint(this.#curChannel, c.recvNext, unacked);
      }
    }
    return p;
  }

  /** Parses one header line (CRLF included) and emits its event. */
  #header(line: Uint8Array, handler: FrameHandler, chunk: Uint8Array, pay: number, n: number): void {
    const len = line.length; // line[len-1] is LF
    if (len < 2 || line[len - 2] !== 13) throw new HeaderError(S_MISSING_CRLF, -1);
    const end = len - 2;
    if (end < 4 || line[3] !== 32) throw new HeaderError(S_BAD_KEYWORD, -1);
    // end >= 4: octets 0..2 exist.
    const kw = KEYWORDS.indexOf(String.fromCharCode(line[0]!, line[1]!, line[2]!));
    const type = TYPES[kw]; // undefined for kw -1 (TYPES parallels KEYWORDS)
    if (type === undefined) throw new HeaderError(S_BAD_KEYWORD, -1);
    let q = 4;
    // A numeric field (RFC 3080 §2.2.1, 1*DIGIT); syntax is judged before range.
    const num = (max: number): number => {
      const first = q;
      let v = 0;
      while (q < end) {
        const d = line[q];
        if (d === undefined || d < 48 || d > 57) break;
        if (v <= MAX_32) v = v * 10 + (d - 48);
        q++;
      }
      if (q === first || (q < end && line[q] !== 32)) throw new HeaderError(S_BAD_FIELD, -1);
      if (v > max) throw new HeaderError(S_FIELD_RANGE, -1);
      return v;
    };
    // Separator before a further field; a header that ends here is missing a field.
    const sep = (): void => {
      if (q >= end) throw new HeaderError(S_BAD_FIELD, -1);
      q++;
    };
    const channel = num(MAX_31);
    if (type === T_SEQ) {
      sep();
      const ackno = num(MAX_32);
      sep();
      const window = num(MAX_31);
      if (q !== end) throw new HeaderError(S_BAD_FIELD, -1);
      const c = this.#chans.get(channel);
      if (c === undefined) throw new HeaderError(S_UNKNOWN_CHANNEL, -1);
      // RFC 3081 §3.1.3: ackno may not acknowledge octets we never sent.
      if ((c.sendNext - ackno) >>> 0 > MAX_31) throw new HeaderError(S_BAD_ACKNO, channel);
      c.sendLimit = (ackno + window) >>> 0;
      handler.onSeq(channel, ackno, window);
      return;
    }
    sep();
    const msgno = num(MAX_31);
    sep();
    const m = q < end ? line[q] : 0;
    const after = q + 1 < end ? line[q + 1] : 32;
    if ((m !== 46 && m !== 42) || after !== 32) throw new HeaderError(S_BAD_MORE, -1);
    const more = m === 42;
    q++;
    sep();
    const seqno = num(MAX_32);
    sep();
    const size = num(MAX_31);
    let ansno = 0;
    if (type === T_ANS) {
      sep();
      ansno = num(MAX_32);
    }
    if (q !== end) throw new HeaderError(S_BAD_FIELD, -1);
    if (type === T_NUL && more) throw new HeaderError(S_NUL_CONTINUED, channel);
    if (size > this.#maxFrame) throw new HeaderError(S_SIZE_TOO_LARGE, channel);
    const c = this.#chans.get(channel);
    if (c === undefined) throw new HeaderError(S_UNKNOWN_CHANNEL, -1);
    // RFC 3080 §2.2.1.1: after "*" the next frame continues the same message.
    if (c.continued && (c.contType !== type || c.contMsgno !== msgno)) throw new HeaderError(S_CONTINUATION, channel);
    if (seqno !== c.recvNext) throw new HeaderError(S_BAD_SEQNO, channel);
    // RFC 3081 §3.1.4: never more than the window we granted.
    if (((c.recvNext - c.recvAckno) >>> 0) + size > c.recvWindow) throw new HeaderError(S_WINDOW_EXCEEDED, channel);
    c.recvNext = (c.recvNext + size) >>> 0;
    c.continued = more;
    c.contType = type;
    c.contMsgno = msgno;
    this.#cur = c;
    this.#curChannel = channel;
    const piece = Math.min(size, n - pay);
    this.#pieceLen = piece;
    this.#remaining = size - piece;
    this.#matched = 0;
    this.#state = this.#remaining > 0 ? St.Payload : St.Trailer;
    const endsHere = this.#remaining === 0 && this.#trailerCompletes(chunk, pay + piece, n);
    handler.onFrame(type, channel, msgno, more, seqno, size, ansno, chunk, pay, piece, endsHere);
  }

  /** Encodes a data-frame header; see FrameEncoder. */
  encodeFrame(type: number, channel: number, msgno: number, more: boolean, size: number, ansno: number): Uint8Array {
    const bad = (why: string): never => {
      throw new RangeError(`encodeFrame: ${why}`);
    };
    if (!(type >= T_MSG && type <= T_NUL) || !inRange(msgno, MAX_31) || !inRange(size, MAX_31) || !inRange(channel, MAX_31))
      bad('argument out of range');
    if (type === T_ANS && !inRange(ansno, MAX_31)) bad('argument out of range');
    if (type === T_NUL && more) bad('argument out of range');
    const c = this.#chans.get(channel) ?? bad('channel not open');
    if (size > this.#avail(c)) bad('frame does not fit in the send window');
    const text = `${KEYWORDS[type - 1]} ${channel} ${msgno} ${more ? '*' : '.'} ${c.sendNext} ${size}${type === T_ANS ? ` ${ansno}` : ''}\r\n`;
    c.sendNext = (c.sendNext + size) >>> 0;
    return ascii(text);
  }

  /** Payload size chosen by the last encodeFit. */
  fitSize = 0;

  /** Encodes the next frame of a message within window and frame size; see FrameEncoder. */
  encodeFit(type: number, channel: number, msgno: number, left: number, maxFrame: number, ansno: number): Uint8Array | null {
    if (!inRange(left, MAX_31) || !Number.isInteger(maxFrame) || maxFrame < 1 || (type === T_NUL && left > maxFrame))
      throw new RangeError('encodeFit: argument out of range');
    const c = this.#chans.get(channel);
    if (c === undefined) throw new RangeError('encodeFit: channel not open');
    let n = Math.min(left, this.#avail(c), maxFrame);
    if (type === T_NUL && n < left) n = 0; // a NUL is never continued: whole or wait for window
    this.fitSize = n;
    if (left > 0 && n === 0) return null;
    return this.encodeFrame(type, channel, msgno, n < left, n, ansno);
  }

  /** Encodes a SEQ frame; the grant's right edge never moves left. */
  encodeSeq(channel: number, ackno: number, window: number): Uint8Array {
    const c = this.#chans.get(channel);
    if (c === undefined) throw new RangeError('encodeSeq: channel not open');
    if (!inRange(window, MAX_31)) throw new RangeError('encodeSeq: argument out of range');
    ackno >>>= 0;
    if ((ackno - c.recvAckno) >>> 0 > (c.recvNext - c.recvAckno) >>> 0) throw new RangeError('encodeSeq: argument out of range');
    const keep = (c.recvAckno + c.recvWindow - ackno) >>> 0;
    const w = Math.max(window, keep);
    if (w > MAX_31) throw new RangeError('encodeSeq: argument out of range');
    c.recvAckno = ackno;
    c.recvWindow = w;
    c.hinted = false;
    return ascii(`SEQ ${channel} ${ackno} ${w}\r\n`);
  }

  #avail(c: Chan): number {
    const d = (c.sendLimit - c.sendNext) | 0; // signed 32-bit difference
    return Math.max(d, 0);
  }

  /** Octets the peer lets us send on `channel` now. */
  sendWindow(channel: number): number {
    const c = this.#chans.get(channel);
    if (c === undefined) throw new RangeError('sendWindow: channel not open');
    return this.#avail(c);
  }

  /** Starts tracking a channel (RFC 3081 §3.1.1: seqnos 0, windows 4096). */
  openChannel(channel: number): void {
    if (!inRange(channel, MAX_31)) throw new RangeError('openChannel: argument out of range');
    if (this.#chans.has(channel)) throw new RangeError(`openChannel ${channel}: channel already open`);
    this.#chans.set(channel, {
      recvNext: 0,
      recvAckno: 0,
      recvWindow: INITIAL_WINDOW,
      sendNext: 0,
      sendLimit: INITIAL_WINDOW,
      hinted: false,
      continued: false,
      contType: 0,
      contMsgno: 0,
    });
  }

  /** Stops tracking a channel. */
  closeChannel(channel: number): void {
    const c = this.#chans.get(channel);
    if (c === undefined) throw new RangeError(`closeChannel ${channel}: channel not open`);
    if (this.#cur === c) this.#cur = undefined;
    this.#chans.delete(channel);
  }

  /** True when the channel is tracked. */
  hasChannel(channel: number): boolean {
    return this.#chans.has(channel);
  }

  #chan(channel: number): Chan {
    const c = this.#chans.get(channel);
    if (c === undefined) throw new RangeError(`channel ${channel} not open`);
    return c;
  }

  /** Receive-side sequence state. */
  recvState(channel: number): RecvSeqState {
    const c = this.#chan(channel);
    return { next: c.recvNext, ackno: c.recvAckno, window: c.recvWindow };
  }

  /** Send-side sequence state. */
  sendState(channel: number): SendSeqState {
    const c = this.#chan(channel);
    return { next: c.sendNext, limit: c.sendLimit };
  }

  /** Moves both seqno counters; window edges as `edges` says (see SeqEdges for the defaults). */
  setSeqState(channel: number, recvNext: number, sendNext: number, edges: SeqEdges = {}): void {
    const c = this.#chan(channel);
    const avail = (c.sendLimit - c.sendNext) >>> 0;
    c.recvNext = recvNext >>> 0;
    c.recvAckno = (edges.recvAckno ?? recvNext) >>> 0;
    c.recvWindow = (edges.recvWindow ?? c.recvWindow) >>> 0;
    c.sendNext = sendNext >>> 0;
    c.sendLimit = (edges.sendLimit ?? sendNext + avail) >>> 0;
  }

  /** Tuning reset: channels gone, parse state and failure cleared. */
  reset(): void {
    this.#chans.clear();
    this.#state = St.Header;
    this.#remaining = 0;
    this.#matched = 0;
    this.#cur = undefined;
    this.#carry = new Uint8Array(0);
  }

  /** Releases state; the codec is unusable afterwards. */
  dispose(): void {
    this.#chans.clear();
    this.#state = St.Failed;
  }
}

function inRange(v: number, max: number): boolean {
  return Number.isInteger(v) && v >= 0 && v <= max;
}

function ascii(s: string): Uint8Array {
  const b = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) b[i] = s.charCodeAt(i);
  return b;
}
