// Codec limits shared by the WASM and reference codecs.
import type { CodecLimits } from './types.js';
import { MAX_HEADER_LIMIT } from './layout.js';

/** Default header-length limit: every valid header is under 64 octets. */
export const DEFAULT_MAX_HEADER = 1024;
/** Default maximum frame payload. */
export const DEFAULT_MAX_FRAME = 1 << 20;

/** Validates limits and fills defaults (shared by both codecs). */
export function checkLimits(limits: CodecLimits): Required<CodecLimits> {
  const maxHeader = limits.maxHeader ?? DEFAULT_MAX_HEADER;
  const maxFrame = limits.maxFrame ?? DEFAULT_MAX_FRAME;
  if (!Number.isInteger(maxHeader) || maxHeader < 16 || maxHeader > MAX_HEADER_LIMIT) {
    throw new RangeError(`maxHeader must be an integer in 16..${MAX_HEADER_LIMIT}`);
  }
  if (!Number.isInteger(maxFrame) || maxFrame < 0 || maxFrame > 0x7fffffff) {
    throw new RangeError('maxFrame must be an integer in 0..2147483647');
  }
  return { maxHeader, maxFrame };
}
