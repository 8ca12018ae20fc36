// SessionCodec over the shared WASM instance: one session slot per codec object. The object is
// kept small (an idle session's JS cost): a few numbers, no per-session arrays.
import type { FrameHandler, CodecLimits, SessionCodec, SeqEdges, RecvSeqState, SendSeqState } from './types.js';
import { loadCodec, type CodecModule } from './loader.js';
import { returnText } from './status.js';
import { checkLimits } from './limits.js';
import { BeepCodecPanic, BeepError } from '../errors.js';
import {
  RESULT_OFFSET,
  INPUT_OFFSET,
  INPUT_SIZE,
  EVENTS_OFFSET,
  EVENT_WORDS,
  EVENT_CAPACITY,
  EV_FRAME,
  EV_DATA,
  EV_SEQ,
  EV_SEQ_HINT,
  F_END,
  CS_RECV_NEXT,
  CS_RECV_ACKNO,
  CS_RECV_WINDOW,
  CS_SEND_NEXT,
  CS_SEND_LIMIT,
  SS_STATE,
  SS_REMAINING,
  SS_CUR_CHANNEL,
  ST_PAYLOAD,
  R_TABLE_FULL,
  R_NO_MEMORY,
  CHANNEL_DIR_OFFSET,
  CHANNEL_CHUNK_SHIFT,
  CHANNEL_CHUNK,
  CHANNEL_BYTES,
} from './layout.js';

const EV_BASE = EVENTS_OFFSET >> 2;
/**
 * Octets copied into the input window per decode call. Payload beyond a header is not copied:
 * once the codec is inside a payload, decode() hands the caller's bytes over directly and
 * tells the codec with skip(). 16 KiB keeps ~180 small frames per call.
 */
const COPY_PIECE = 16384;
/** Copy size after a call that ended inside a large frame's payload: large frames are likely, so copy little. */
const COPY_SMALL = 1024;
/** Frames below this size are medium: copying them whole costs less than receiving one in two events. */
const MEDIUM_BELOW = 16384;
/** #flags: poorly formed input seen (or disposed). */
const FAILED = 1;
/** #flags: the last decode call ended inside a large frame's payload (or one of unknown size). */
const LARGE = 2;
/**
 * #flags: the last decode call ended inside a medium frame's payload: copy the rest of the
 * chunk, so that the frames in it come whole (a frame cut by the copy window reaches the
 * session as a frame and its rest, and goes through reassembly: with 1 KiB windows after each
 * such cut, 4 KiB frames came cut nine times in ten).
 */
const MEDIUM = 4;

/**
 * Error for a negative sessionOpen/channelOpen return: a limit or memory.grow failure is
 * capacity (BeepError 'BEEP_ERR_CAPACITY', which the session layer refuses with 421/550);
 * anything else is misuse (RangeError).
 */
function openError(what: string, r: number): Error {
  if (r === R_TABLE_FULL || r === R_NO_MEMORY) return new BeepError(`${what}: ${returnText(r)}`, 'BEEP_ERR_CAPACITY');
  return new RangeError(`${what}: ${returnText(r)}`);
}

/** The WASM-backed session codec. */
export class WasmCodec implements SessionCodec {
  readonly #m: CodecModule;
  #slot: number;
  #ss: number; // int32 index of the session record (records never move when tables grow)
  #carry = 0; // octets of a partial header, put back at the start of the input window by the next call
  #kept: Uint8Array | undefined; // those octets: the window is shared by every session in the process
  #offset = 0; // octets consumed from the peer
  #flags = 0; // FAILED | LARGE
  // The last channel #record() found and its record (records never move while open; closing
  // the channel, a reset or dispose forgets it): one lookup call fewer per receive pass.
  #recChannel = -1;
  #recIndex = 0;

  /**
   * Opens a session slot in the process-wide codec instance. Throws BeepError
   * 'BEEP_ERR_CAPACITY' when the session limit is reached or memory cannot grow.
   */
  constructor(limits: CodecLimits = {}, module: CodecModule = loadCodec()) {
    const { maxHeader, maxFrame } = checkLimits(limits);
    this.#m = module;
    const slot = module.exports.sessionOpen(maxHeader, maxFrame);
    if (slot < 0) throw openError('codec session', slot);
    this.#slot = slot;
    this.#ss = module.exports.sessionAddress(slot) >> 2;
  }

  /** Implementation tag (a getter: no per-object field). */
  get impl(): 'wasm' {
    return 'wasm';
  }
  /** True after poorly formed input. */
  get failed(): boolean {
    return (this.#flags & FAILED) !== 0;
  }
  /** Octets consumed from the peer so far. */
  get streamOffset(): number {
    return this.#offset;
  }

  /** Decodes a chunk; see FrameDecoder. */
  decode(chunk: Uint8Array, handler: FrameHandler): boolean {
    if ((this.#flags & FAILED) !== 0) return false;
    const ex = this.#m.exports;
    let pos = 0;
    const ss = this.#ss;
    while (pos < chunk.length) {
      // A handler disposed this codec (its session ended): the slot is gone, stop here. Going
      // on would decode into slot -1, which consumes nothing, until the window is full and the
      // loop no longer advances (a chunk over ~68 KiB: Bun's socket reads can be that big).
      if ((this.#flags & FAILED) !== 0) return false;
      const carry = this.#carry;
      // Inside a payload: deliver the caller's bytes as they are, no copy (the ws/undici way).
      const mem = this.#m.i32();
      if (carry === 0 && mem[ss + (SS_STATE >> 2)] === ST_PAYLOAD) {
        const n = Math.min(mem[ss + (SS_REMAINING >> 2)]! >>> 0, chunk.length - pos); // session record in memory
        ex.skip(this.#slot, n);
        handler.onData(mem[ss + (SS_CUR_CHANNEL >> 2)]!, chunk, pos, n, false);
        pos += n;
        this.#offset += n;
        continue;
      }
      const piece = (this.#flags & LARGE) !== 0 ? COPY_SMALL : (this.#flags & MEDIUM) !== 0 ? INPUT_SIZE : COPY_PIECE;
      const n = Math.min(piece, INPUT_SIZE - carry, chunk.length - pos);
      const u8 = this.#m.u8();
      // The partial header of our previous call goes back first: other sessions have used the window since.
      const kept = this.#kept;
      if (kept !== undefined) {
        u8.set(kept, INPUT_OFFSET);
        this.#kept = undefined;
      }
      u8.set(pos === 0 && n === chunk.length ? chunk : chunk.subarray(pos, pos + n), INPUT_OFFSET + carry); // no view for a whole small chunk
      const end = carry + n;
      // Window offset w is chunk offset pos + w - carry (payload never lies in the carry).
      const delta = pos - carry;
      const base = this.#offset; // stream offset of window position 0 (where the carry starts)
      let start = 0;
      for (;;) {
        let count: number;
        try {
          count = ex.decode(this.#slot, start, end);
        } catch (e) {
          this.#flags |= FAILED;
          throw new BeepCodecPanic(e);
        }
        let ev = this.#m.i32();
        const consumed = ev[RESULT_OFFSET >> 2]!; // result word always in memory
        let frameSize = -1; // size of the last frame whose header this call decoded
        for (let k = 0, b = EV_BASE; k < count; k++, b += EVENT_WORDS) {
          if ((this.#flags & FAILED) !== 0) return false; // disposed by the previous handler call
          // A handler may open a session or channel, growing memory: the records survive, the view detaches.
          if (ev.length === 0) ev = this.#m.i32();
          // Event words lie inside the events area of memory: the `!` reads below cannot miss.
          switch (ev[b]) {
            case EV_FRAME:
              frameSize = ev[b + 6]! >>> 0;
              handler.onFrame(
                ev[b + 1]!,
                ev[b + 2]!,
                ev[b + 3]!,
                ev[b + 4] === 1,
                ev[b + 5]! >>> 0,
                ev[b + 6]!,
                ev[b + 7]! >>> 0,
                chunk,
                ev[b + 8]! + delta,
                ev[b + 9]!,
                (ev[b + 10]! & F_END) !== 0,
              );
              break;
            case EV_DATA:
              handler.onData(ev[b + 2]!, chunk, ev[b + 8]! + delta, ev[b + 9]!, (ev[b + 10]! & F_END) !== 0);
              break;
            case EV_SEQ:
              handler.onSeq(ev[b + 2]!, ev[b + 5]! >>> 0, ev[b + 6]!);
              break;
            case EV_SEQ_HINT:
              handler.onSeqHint(ev[b + 2]!, ev[b + 5]! >>> 0, ev[b + 6]! >>> 0);
              break;
            default: // EV_ERROR
              this.#flags |= FAILED;
              this.#offset = base + ev[b + 8]!;
              handler.onError(ev[b + 1]!, ev[b + 2]!, base + ev[b + 8]!);
              return false;
          }
        }
        // An early stop with a full event buffer is resumed; otherwise the rest is a partial header.
        if (count >= EVENT_CAPACITY - 1 && consumed < end) {
          // Handlers ran meanwhile and may have made another session decode: put the
          // undecoded rest of this window back before going on.
          const w = this.#m.u8();
          if (consumed < carry) w.set(kept!.subarray(consumed), INPUT_OFFSET + consumed);
          w.set(chunk.subarray(Math.max(pos, pos + consumed - carry), pos + n), INPUT_OFFSET + Math.max(consumed, carry));
          start = consumed;
          continue;
        }
        const left = end - consumed;
        // Kept outside the shared window until our next call (a partial header: <= maxHeader octets).
        this.#kept = left > 0 ? this.#m.u8().slice(INPUT_OFFSET + consumed, INPUT_OFFSET + end) : undefined;
        this.#carry = left;
        this.#offset = base + consumed;
        // Keep FAILED: a handler may have disposed this codec during the call. Inside a payload:
        // MEDIUM when the frame began in this call and is small enough to copy whole, else LARGE.
        const inPayload = this.#m.i32()[ss + (SS_STATE >> 2)] === ST_PAYLOAD;
        this.#flags = (this.#flags & FAILED) | (!inPayload ? 0 : frameSize >= 0 && frameSize < MEDIUM_BELOW ? MEDIUM : LARGE);
        break;
      }
      pos += n;
    }
    return true;
  }

  /** Encodes a data-frame header; see FrameEncoder. */
  encodeFrame(type: number, channel: number, msgno: number, more: boolean, size: number, ansno: number): Uint8Array {
    const len = this.#m.exports.encodeFrame(this.#slot, channel, type, msgno, more ? 1 : 0, size, ansno);
    if (len < 0) throw new RangeError(`encodeFrame: ${returnText(len)}`);
    return this.#m.header(len);
  }

  /** Encodes the next frame of a message within window and frame size; see FrameEncoder. */
  encodeFit(type: number, channel: number, msgno: number, left: number, maxFrame: number, ansno: number): Uint8Array | null {
    const len = this.#m.exports.encodeFit(this.#slot, channel, type, msgno, left, maxFrame, ansno);
    if (len < 0) throw new RangeError(`encodeFit: ${returnText(len)}`);
    if (len === 0) return null;
    return this.#m.header(len);
  }

  /** Payload size chosen by the last encodeFit (result word 1; one shared instance, read at once). */
  get fitSize(): number {
    return this.#m.i32()[(RESULT_OFFSET >> 2) + 1]!;
  }

  /** Encodes a SEQ frame; see FrameEncoder. */
  encodeSeq(channel: number, ackno: number, window: number): Uint8Array {
    const len = this.#m.exports.encodeSeq(this.#slot, channel, ackno >>> 0, window);
    if (len < 0) throw new RangeError(`encodeSeq: ${returnText(len)}`);
    return this.#m.header(len);
  }

  /** Octets the peer lets us send on `channel` now. */
  sendWindow(channel: number): number {
    const r = this.#m.exports.sendWindow(this.#slot, channel);
    if (r < 0) throw new RangeError(`sendWindow: ${returnText(r)}`);
    return r;
  }

  /** Starts tracking a channel; BeepError 'BEEP_ERR_CAPACITY' at the channel limit or when memory cannot grow. */
  openChannel(channel: number): void {
    const r = this.#m.exports.channelOpen(this.#slot, channel);
    if (r < 0) throw openError(`openChannel ${channel}`, r);
  }

  /** Stops tracking a channel. */
  closeChannel(channel: number): void {
    if (channel === this.#recChannel) this.#recChannel = -1;
    const r = this.#m.exports.channelClose(this.#slot, channel);
    if (r < 0) throw new RangeError(`closeChannel ${channel}: ${returnText(r)}`);
  }

  /** True when the channel is tracked. */
  hasChannel(channel: number): boolean {
    return this.#m.exports.channelFind(this.#slot, channel) >= 0;
  }

  /**
   * int32 index of an open channel's record in codec memory: one lookup call, then the fields
   * are read from memory (records never move; their chunk stays put when tables grow).
   */
  #record(channel: number): number {
    if (channel === this.#recChannel) return this.#recIndex;
    const cs = this.#m.exports.channelFind(this.#slot, channel);
    if (cs < 0) throw new RangeError(`channel ${channel} not open`);
    const mem = this.#m.i32();
    const chunk = mem[(CHANNEL_DIR_OFFSET >> 2) + (cs >>> CHANNEL_CHUNK_SHIFT)]! >>> 0; // directory entry of an open channel
    this.#recChannel = channel;
    return (this.#recIndex = (chunk + (cs & (CHANNEL_CHUNK - 1)) * CHANNEL_BYTES) >> 2);
  }

  /** Receive-side sequence state (read once per receive pass by the session). */
  recvState(channel: number): RecvSeqState {
    const c = this.#record(channel),
      mem = this.#m.i32();
    return {
      next: mem[c + (CS_RECV_NEXT >> 2)]! >>> 0,
      ackno: mem[c + (CS_RECV_ACKNO >> 2)]! >>> 0,
      window: mem[c + (CS_RECV_WINDOW >> 2)]! >>> 0,
    }; // record in memory
  }

  /** Send-side sequence state. */
  sendState(channel: number): SendSeqState {
    const c = this.#record(channel),
      mem = this.#m.i32();
    return { next: mem[c + (CS_SEND_NEXT >> 2)]! >>> 0, limit: mem[c + (CS_SEND_LIMIT >> 2)]! >>> 0 }; // record in memory
  }

  /** Moves both seqno counters; window edges as `edges` says (see SeqEdges for the defaults). */
  setSeqState(channel: number, recvNext: number, sendNext: number, edges: SeqEdges = {}): void {
    const r0 = this.recvState(channel),
      s0 = this.sendState(channel);
    const r = this.#m.exports.channelSetSeq(
      this.#slot,
      channel,
      recvNext >>> 0,
      (edges.recvAckno ?? recvNext) >>> 0,
      (edges.recvWindow ?? r0.window) >>> 0,
      sendNext >>> 0,
      (edges.sendLimit ?? sendNext + (s0.limit - s0.next)) >>> 0,
    );
    if (r < 0) throw new RangeError(`setSeqState: ${returnText(r)}`);
  }

  /** Tuning reset: channels gone, parse state and failure cleared. */
  reset(): void {
    this.#recChannel = -1;
    this.#m.exports.sessionReset(this.#slot);
    this.#carry = 0;
    this.#kept = undefined;
    this.#flags = 0;
  }

  /** Releases the slot. */
  dispose(): void {
    this.#recChannel = -1;
    if (this.#slot >= 0) this.#m.exports.sessionClose(this.#slot);
    this.#slot = -1;
    this.#flags = FAILED;
  }
}
