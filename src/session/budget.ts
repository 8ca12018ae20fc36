// Process-wide budgets shared by every session of the process: inbound octets held in partly
// received messages, outbound octets queued, live sessions. Per-session budgets are limits
// (limits.ts); these bound what many sessions together may hold, so that many strangers cannot
// add up to gigabytes where one cannot. Sans-I/O: plain counters, no timers.

/** Process-wide limits (setProcessLimits). */
export interface ProcessLimits {
  /** Inbound octets held by all sessions together (default 1 GiB). */
  maxBuffered?: number;
  /** Outbound octets queued by all sessions together (default 1 GiB). */
  maxQueued?: number;
  /** Sessions alive at once; new ones are refused with 421 (default 1,000,000). */
  maxSessions?: number;
}

/** The process's limits and what all its sessions hold now (processUsage). */
export interface ProcessUsage {
  /** Limit on held inbound octets. */
  readonly maxBuffered: number;
  /** Limit on queued outbound octets. */
  readonly maxQueued: number;
  /** Limit on live sessions. */
  readonly maxSessions: number;
  /** Inbound octets held now. */
  readonly buffered: number;
  /** Outbound octets queued now. */
  readonly queued: number;
  /** Sessions alive now. */
  readonly sessions: number;
}

/** The process's counters and limits (one object per process, read on the hot path). */
export const processBudget = {
  /** Limit on held inbound octets. */
  maxBuffered: 1 << 30,
  /** Limit on queued outbound octets. */
  maxQueued: 1 << 30,
  /** Limit on live sessions. */
  maxSessions: 1_000_000,
  /** Inbound octets held now. */
  buffered: 0,
  /** Outbound octets queued now. */
  queued: 0,
  /** Sessions alive now. */
  sessions: 0,
};

/** Sessions waiting for the process outbound budget to drain (they paused their input). */
const queueWaiters = new Set<() => void>();

/** Sets process-wide budgets; omitted fields keep their value. */
export function setProcessLimits(l: ProcessLimits): void {
  for (const [k, v] of Object.entries(l)) {
    if (v !== undefined && (!Number.isInteger(v) || v < 1)) throw new RangeError(`process limit ${k} must be a positive integer`);
  }
  processBudget.maxBuffered = l.maxBuffered ?? processBudget.maxBuffered;
  processBudget.maxQueued = l.maxQueued ?? processBudget.maxQueued;
  processBudget.maxSessions = l.maxSessions ?? processBudget.maxSessions;
  releaseQueueWaiters();
}

/** Current process-wide usage and limits (for diagnostics and tests). */
export function processUsage(): ProcessUsage {
  return { ...processBudget };
}

/** True while the process outbound budget is exhausted. */
export function processQueueFull(): boolean {
  return processBudget.queued >= processBudget.maxQueued;
}

/** Calls `wake` once the process outbound budget has drained below half. */
export function waitProcessQueue(wake: () => void): void {
  queueWaiters.add(wake);
}

/** Forgets a waiter (its session ended). */
export function cancelProcessQueueWait(wake: () => void): void {
  queueWaiters.delete(wake);
}

/** Adds (or with a negative `n` removes) queued outbound octets. */
export function addQueued(n: number): void {
  processBudget.queued += n;
  if (n < 0 && queueWaiters.size > 0 && processBudget.queued < processBudget.maxQueued / 2) releaseQueueWaiters();
}

function releaseQueueWaiters(): void {
  if (processBudget.queued >= processBudget.maxQueued / 2) return;
  const ws = [...queueWaiters];
  queueWaiters.clear();
  for (const w of ws) w();
}
