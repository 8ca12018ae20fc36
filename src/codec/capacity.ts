// Process-wide codec capacity: limits on sessions and channels held by the shared WASM
// instance, and its usage. The limits are enforced inside the module (sessionOpen and
// channelOpen return R_TABLE_FULL); WasmCodec turns that into BeepError 'BEEP_ERR_CAPACITY'.
// The pure-TS reference codec (a test oracle) is not counted.
import { loadCodec, type CodecModule } from './loader.js';
import { MAX_SESSIONS, MAX_CHANNELS } from './layout.js';

/** Process-wide limits on the codec's tables; an omitted field keeps its current value. */
export interface CodecCapacityLimits {
  /** Concurrent codec sessions (1..4,194,304; default 1,000,000). */
  maxSessions?: number;
  /** Concurrent channels over all sessions (1..16,777,216; default 4,000,000). */
  maxChannels?: number;
}

/** What the codec instance holds now. */
export interface CodecUsage {
  /** Sessions in use. */
  sessions: number;
  /** Channels in use over all sessions. */
  channels: number;
  /** The limit on sessions. */
  maxSessions: number;
  /** The limit on channels. */
  maxChannels: number;
  /** Bytes of linear memory (it grows with the tables and never shrinks). */
  memoryBytes: number;
  /** Bytes in use by the fixed regions and the tables (chunks, hash), leaked hash regions included. */
  tableBytes: number;
  /** Entries of the channel hash table. */
  hashEntries: number;
}

function checkCount(name: string, v: number, max: number): void {
  if (!Number.isInteger(v) || v < 1 || v > max) throw new RangeError(`${name} must be an integer in 1..${max}`);
}

/**
 * Sets the process-wide limits on codec sessions and channels. Lowering a limit below what is
 * in use keeps what is open and refuses new ones until usage drops under it.
 */
export function setCodecLimits(limits: CodecCapacityLimits, module: CodecModule = loadCodec()): void {
  const ex = module.exports;
  const sessions = limits.maxSessions ?? ex.sessionLimit();
  const channels = limits.maxChannels ?? ex.channelLimit();
  checkCount('maxSessions', sessions, MAX_SESSIONS);
  checkCount('maxChannels', channels, MAX_CHANNELS);
  ex.setLimits(sessions, channels);
}

/** Sessions, channels and memory of the codec instance, with its limits. */
export function codecUsage(module: CodecModule = loadCodec()): CodecUsage {
  const ex = module.exports;
  return {
    sessions: ex.sessionCount(),
    channels: ex.channelCount(),
    maxSessions: ex.sessionLimit(),
    maxChannels: ex.channelLimit(),
    memoryBytes: ex.memory.buffer.byteLength,
    tableBytes: ex.heapEnd(),
    hashEntries: ex.hashCapacity(),
  };
}
