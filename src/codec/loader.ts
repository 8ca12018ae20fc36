// Synchronous, portable loader for the codec module. Hand-written rather than
// @assemblyscript/loader (deprecated upstream, and built for GC-managed bindings we do not use):
// the module has no imports and exports numbers only, so instantiation is one line.
import { CODEC_WASM_BASE64 } from './wasm-inline.generated.js';
import { BeepCodecPanic } from '../errors.js';
import { fromBase64 } from '../util/base64.js';

/** The codec module's function exports (docs/codec.md). */
export interface CodecExports {
  /** The module's fixed-size memory. */
  readonly memory: WebAssembly.Memory;
  /** Clears every table. */
  init(): void;
  /** Opens a session slot. */
  sessionOpen(maxHeader: number, maxFrame: number): number;
  /** Releases a session slot. */
  sessionClose(slot: number): number;
  /** Tuning reset of a session slot. */
  sessionReset(slot: number): number;
  /** Starts tracking a channel. */
  channelOpen(slot: number, channel: number): number;
  /** Stops tracking a channel. */
  channelClose(slot: number, channel: number): number;
  /** Channel slot or R_UNKNOWN_CHANNEL. */
  channelFind(slot: number, channel: number): number;
  /** Reads a CS_* field. */
  channelGet(slot: number, channel: number, field: number): number;
  /** Sets seqno counters and window edges. */
  channelSetSeq(slot: number, channel: number, recvNext: number, recvAckno: number, recvWindow: number, sendNext: number, sendLimit: number): number;
  /** Decodes input-window bytes [start, end). */
  decode(slot: number, start: number, end: number): number;
  /** Accounts for payload octets delivered without copying; returns octets still to come. */
  skip(slot: number, n: number): number;
  /** Encodes a data-frame header. */
  encodeFrame(slot: number, channel: number, type: number, msgno: number, more: number, size: number, ansno: number): number;
  /** Encodes the next frame of a message within window and frame size. */
  encodeFit(slot: number, channel: number, type: number, msgno: number, left: number, maxFrame: number, ansno: number): number;
  /** Encodes a SEQ frame. */
  encodeSeq(slot: number, channel: number, ackno: number, window: number): number;
  /** Octets we may send now. */
  sendWindow(slot: number, channel: number): number;
}

/** A loaded codec instance with views over its memory. */
export interface CodecModule {
  /** Raw exports. */
  readonly exports: CodecExports;
  /** Byte view of memory (re-created if the buffer is ever replaced). */
  u8(): Uint8Array;
  /** int32 view of memory. */
  i32(): Int32Array;
}

/**
 * Instantiates the codec from wasm bytes or a compiled `WebAssembly.Module` (workerd forbids
 * compiling bytes at run time: import the .wasm as a module there).
 */
export function instantiateCodec(source: BufferSource | WebAssembly.Module): CodecModule {
  const module = source instanceof WebAssembly.Module ? source : new WebAssembly.Module(source);
  const instance = new WebAssembly.Instance(module, {});
  const exports = instance.exports as unknown as CodecExports;
  let u8 = new Uint8Array(exports.memory.buffer);
  let i32 = new Int32Array(exports.memory.buffer);
  // Memory is fixed-size (initial == maximum), but re-view defensively if it ever changes.
  const refresh = (): void => {
    u8 = new Uint8Array(exports.memory.buffer);
    i32 = new Int32Array(exports.memory.buffer);
  };
  try {
    exports.init();
  } catch (e) {
    throw new BeepCodecPanic(e);
  }
  // A grown memory detaches the old buffer (length 0): a cheaper test than reading .buffer.
  return {
    exports,
    u8: () => (u8.length !== 0 ? u8 : (refresh(), u8)),
    i32: () => (i32.length !== 0 ? i32 : (refresh(), i32)),
  };
}

let shared: CodecModule | undefined;

/**
 * The process-wide codec instance (one per process; sessions share it through slots).
 * The first call may pass the module or bytes; otherwise the embedded release build is used.
 */
export function loadCodec(source?: BufferSource | WebAssembly.Module): CodecModule {
  if (shared === undefined) shared = instantiateCodec(source ?? fromBase64(CODEC_WASM_BASE64));
  return shared;
}
