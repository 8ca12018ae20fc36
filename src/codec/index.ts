/**
 * Public codec API: the WASM codec, its pure-TS reference twin, and the shared contract.
 * @module beepwire/codec
 */
import type { CodecLimits, SessionCodec } from './types.js';
import { WasmCodec } from './wasm-codec.js';
import { RefCodec } from './ref-codec.js';

export type { FrameHandler, CodecLimits, FrameDecoder, FrameEncoder, SessionCodec, SeqEdges, RecvSeqState, SendSeqState } from './types.js';
export { WasmCodec } from './wasm-codec.js';
export { DEFAULT_MAX_FRAME, DEFAULT_MAX_HEADER, checkLimits } from './limits.js';
export { RefCodec } from './ref-codec.js';
export { loadCodec, instantiateCodec, type CodecModule, type CodecExports } from './loader.js';
export { statusText, returnText } from './status.js';
export { setCodecLimits, codecUsage, type CodecCapacityLimits, type CodecUsage } from './capacity.js';
/** The codec's linear-memory layout, statuses and event format (the TS mirror of assembly/layout.ts). */
export * as layout from './layout.js';

/** Which codec implementation a session uses. */
export type CodecImpl = 'wasm' | 'ref';

/** Creates the codec state for one session. */
export function createCodec(limits: CodecLimits = {}, impl: CodecImpl = 'wasm'): SessionCodec {
  return impl === 'ref' ? new RefCodec(limits) : new WasmCodec(limits);
}
