// Session limits and their defaults. Every limit is an option; violations by the peer end
// the session with a typed error, misuse by the application throws RangeError.

/** Limits and tuning of one session. */
export interface SessionLimits {
  /** Longest frame header accepted, CRLF included (default 1024). */
  maxHeader?: number;
  /** Largest frame payload accepted (default 1 MiB). */
  maxFrame?: number;
  /** Largest frame payload we send; messages are fragmented to this (default 256 KiB). */
  sendFrameSize?: number;
  /** Largest reassembled message accepted on a profile channel (default 64 MiB). */
  maxMessage?: number;
  /** Largest message accepted on channel 0, greeting included (default 64 KiB). */
  maxMgmtMessage?: number;
  /** Channels open at once, channel 0 excluded (default 1024). */
  maxChannels?: number;
  /** Peer MSGs awaiting our reply on one channel (default 4096). */
  maxOutstanding?: number;
  /** Receive window granted per channel after it starts (default 256 KiB; RFC 3081 starts at 4096). */
  window?: number;
  /** Upper bound for auto-raised windows during large transfers (default 4 MiB). */
  maxWindow?: number;
  /** Sum of windows granted across the session's channels (default 16 MiB). */
  windowBudget?: number;
  /**
   * Inbound octets one session may hold in partly received messages across all its channels
   * (default the larger of 64 MiB and maxMessage). Exceeding it ends the session (BEEP_ERR_BUDGET).
   */
  maxBuffered?: number;
  /**
   * Outbound octets one session may queue (default 4 MiB). At the budget the session stops
   * reading from the peer until the queue drains below half; the application sees
   * `conn.writable === false`.
   */
  maxQueued?: number;
}

/** Limits with every default filled in. */
export type ResolvedLimits = Required<SessionLimits>;

let last: ResolvedLimits | undefined;

/** Fills defaults and validates ranges; sessions with equal limits share one frozen object. */
export function resolveLimits(l: SessionLimits = {}): ResolvedLimits {
  const r = resolveFresh(l);
  if (last !== undefined && (Object.keys(r) as Array<keyof ResolvedLimits>).every((k) => r[k] === last![k])) return last;
  return (last = Object.freeze(r));
}

function resolveFresh(l: SessionLimits): ResolvedLimits {
  const r: ResolvedLimits = {
    maxHeader: l.maxHeader ?? 1024,
    maxFrame: l.maxFrame ?? 1 << 20,
    sendFrameSize: l.sendFrameSize ?? 1 << 18,
    maxMessage: l.maxMessage ?? 64 << 20,
    maxMgmtMessage: l.maxMgmtMessage ?? 64 << 10,
    maxChannels: l.maxChannels ?? 1024,
    maxOutstanding: l.maxOutstanding ?? 4096,
    window: l.window ?? 256 << 10,
    maxWindow: l.maxWindow ?? 4 << 20,
    windowBudget: l.windowBudget ?? 16 << 20,
    maxBuffered: l.maxBuffered ?? Math.max(64 << 20, l.maxMessage ?? 0),
    maxQueued: l.maxQueued ?? 4 << 20,
  };
  for (const [k, v] of Object.entries(r)) {
    if (!Number.isInteger(v) || v < 1 || v > 0x7fffffff) throw new RangeError(`limit ${k} must be an integer in 1..2147483647`);
  }
  if (r.window < 4096 || r.maxWindow < r.window) throw new RangeError('window must be >= 4096 and <= maxWindow');
  return r;
}
