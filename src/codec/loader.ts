// Synchronous, portable loader for the codec module. Hand-written rather than
// @assemblyscript/loader (deprecated upstream, and built for GC-managed bindings we do not use):
// the module has no imports and exports numbers only, so instantiation is one line.
import { CODEC_WASM_BASE64 } from './wasm-inline.generated.js';
import { BeepCodecPanic, BeepError } from '../errors.js';
import { fromBase64 } from '../util/base64.js';
import { OUTPUT_OFFSET, OUTPUT_SIZE } from './layout.js';

/** The codec module's function exports (docs/codec.md). */
export interface CodecExports {
  /** The module's memory; it grows (detaching its buffer) when a table grows. */
  readonly memory: WebAssembly.Memory;
  /** Clears every table; 0 or R_NO_MEMORY. */
  init(): number;
  /** Opens a session slot; may grow memory. */
  sessionOpen(maxHeader: number, maxFrame: number): number;
  /** Byte address of a session record (stable while the slot is open). */
  sessionAddress(slot: number): number;
  /** Releases a session slot. */
  sessionClose(slot: number): number;
  /** Tuning reset of a session slot. */
  sessionReset(slot: number): number;
  /** Starts tracking a channel; may grow memory. */
  channelOpen(slot: number, channel: number): number;
  /** Stops tracking a channel. */
  channelClose(slot: number, channel: number): number;
  /** Channel slot or R_UNKNOWN_CHANNEL. */
  channelFind(slot: number, channel: number): number;
  /** Reads a CS_* field. */
  channelGet(slot: number, channel: number, field: number): number;
  /** Sets seqno counters and window edges. */
  channelSetSeq(
    slot: number,
    channel: number,
    recvNext: number,
    recvAckno: number,
    recvWindow: number,
    sendNext: number,
    sendLimit: number,
  ): number;
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
  /** Sets the limits on sessions and channels in use; 0 or R_ARG. */
  setLimits(maxSessions: number, maxChannels: number): number;
  /** The limit on sessions in use. */
  sessionLimit(): number;
  /** The limit on channels in use. */
  channelLimit(): number;
  /** Sessions in use. */
  sessionCount(): number;
  /** Channels in use over all sessions. */
  channelCount(): number;
  /** Bytes of memory the fixed regions and tables occupy. */
  heapEnd(): number;
  /** Entries of the current channel hash table. */
  hashCapacity(): number;
}

/** A loaded codec instance with views over its memory. */
export interface CodecModule {
  /** Raw exports. */
  readonly exports: CodecExports;
  /** Byte view of memory (re-created if the buffer is ever replaced). */
  u8(): Uint8Array;
  /** int32 view of memory. */
  i32(): Int32Array;
  /** View of the first `len` octets of the output region (one cached view per length, shared by every session). */
  header(len: number): Uint8Array;
}

/** Whether `s` is a compiled module, also one from another realm (a vm context, an iframe), where instanceof fails. */
const isModule = (s: unknown): s is WebAssembly.Module => Object.prototype.toString.call(s) === '[object WebAssembly.Module]';

/**
 * Instantiates the codec from wasm bytes or a compiled `WebAssembly.Module` (workerd forbids
 * compiling bytes at run time: import the .wasm as a module there).
 */
export function instantiateCodec(source: BufferSource | WebAssembly.Module): CodecModule {
  const module = isModule(source) ? source : new WebAssembly.Module(source);
  const instance = new WebAssembly.Instance(module, {});
  const exports = instance.exports as unknown as CodecExports;
  let u8 = new Uint8Array(exports.memory.buffer);
  let i32 = new Int32Array(exports.memory.buffer);
  // Memory grows when a table grows (sessionOpen/channelOpen, never inside decode/encode); a
  // grown memory detaches the old buffer, so every view is re-made from the new one.
  const refresh = (): void => {
    u8 = new Uint8Array(exports.memory.buffer);
    i32 = new Int32Array(exports.memory.buffer);
  };
  let status: number;
  try {
    status = exports.init();
  } catch (e) {
    throw new BeepCodecPanic(e);
  }
  if (status !== 0) throw new BeepCodecPanic(new Error(`codec init returned ${status}`));
  // Header views by length, per module rather than per session (an idle session costs no array).
  const views: Uint8Array[] = new Array(OUTPUT_SIZE + 1);
  // A detached buffer reports length 0: a cheaper test than reading memory.buffer.
  const refreshed = <T>(view: () => T): T => {
    refresh();
    return view();
  };
  const bytes = (): Uint8Array => (u8.length !== 0 ? u8 : refreshed(() => u8));
  return {
    exports,
    u8: bytes,
    i32: () => (i32.length !== 0 ? i32 : refreshed(() => i32)),
    header: (len) => {
      const v = views[len];
      if (v !== undefined && v.length !== 0) return v;
      return (views[len] = bytes().subarray(OUTPUT_OFFSET, OUTPUT_OFFSET + len));
    },
  };
}

let shared: CodecModule | undefined;

/**
 * The process-wide codec instance (one per process; sessions share it through slots).
 * The first call may pass the module or bytes; otherwise the embedded release build is used.
 * Every other path (sessions, `setCodecLimits`, `codecUsage`) calls this without a source, so
 * on workerd, which compiles no wasm from bytes, one line before anything else is enough:
 * `import wasm from 'beepwire/codec.wasm'` and `loadCodec(wasm)`. A source passed once the
 * codec is loaded is ignored: the first instance stays.
 */
export function loadCodec(source?: BufferSource | WebAssembly.Module): CodecModule {
  if (shared === undefined) shared = source === undefined ? embedded() : instantiateCodec(source);
  return shared;
}

/** The embedded build; where wasm cannot be compiled from bytes, the error says what to do instead. */
function embedded(): CodecModule {
  let module: WebAssembly.Module;
  try {
    // A fresh Uint8Array over an ArrayBuffer; TS types fromBase64's result over ArrayBufferLike.
    module = new WebAssembly.Module(fromBase64(CODEC_WASM_BASE64) as Uint8Array<ArrayBuffer>);
  } catch (e) {
    throw new BeepError(
      'cannot compile the embedded codec here (workerd compiles no wasm from bytes): ' +
        "import wasm from 'beepwire/codec.wasm' and call loadCodec(wasm) first",
      'BEEP_ERR_CODEC_LOAD',
      { cause: e },
    );
  }
  return instantiateCodec(module);
}
