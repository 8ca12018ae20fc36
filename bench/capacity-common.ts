// Shared by the capacity benchmark's processes: the IPC request/reply shape, memory readings
// taken after forced GC and a settle delay, fd counting, bounded waits.
import { readdirSync, readFileSync } from 'node:fs';
import type { ChildProcess } from 'node:child_process';

/** The echo profile the capacity listener runs (bystander round trips). */
export const ECHO_PROFILE = 'http://beepwire.bench/capacity-echo';

/** One memory reading of a process (bytes). */
export interface MemReading {
  rss: number;
  heapUsed: number;
  heapTotal: number;
  external: number;
  arrayBuffers: number;
  /** Open file descriptors (/proc/self/fd), -1 where unknown. */
  fds: number;
}

/** A request sent to a child over IPC. */
export interface Request {
  id: number;
  cmd: string;
  [k: string]: unknown;
}
/** A child's answer (or an unsolicited event, which has no id). */
export interface Reply {
  id?: number;
  ok?: boolean;
  error?: string;
  event?: string;
  [k: string]: unknown;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
export { sleep };

/** Open fds of this process, or -1 when /proc is unavailable. */
export function countFds(): number {
  try {
    return readdirSync('/proc/self/fd').length - 1;
  } catch {
    return -1;
  } // minus the readdir handle
}

/** This process's open-file limit (soft) from /proc/self/limits, or `fallback`. */
export function fdLimit(fallback = 20000): number {
  try {
    const m = /Max open files\s+(\d+)/.exec(readFileSync('/proc/self/limits', 'utf8'));
    return m ? Number(m[1]) : fallback;
  } catch {
    return fallback;
  }
}

/** Forces full GCs (needs --expose-gc), waits `settleMs`, collects again, then reads memory. */
export async function readMemory(settleMs: number): Promise<MemReading> {
  const gc = (globalThis as { gc?: () => void }).gc;
  for (let i = 0; i < 3; i++) {
    gc?.();
    await sleep(10);
  }
  await sleep(settleMs);
  gc?.();
  const m = process.memoryUsage();
  return { rss: m.rss, heapUsed: m.heapUsed, heapTotal: m.heapTotal, external: m.external, arrayBuffers: m.arrayBuffers, fds: countFds() };
}

/**
 * Serves IPC requests in a child: `handlers[cmd](req)` resolves with the reply fields. A
 * handler's failure is answered, not thrown. The child exits when the parent goes away.
 */
export function serve(handlers: Record<string, (req: Request) => Promise<Record<string, unknown>> | Record<string, unknown>>): void {
  if (process.send === undefined) {
    console.error('run this file through capacity.bench.js');
    process.exit(2);
  }
  process.on('disconnect', () => process.exit(0));
  process.on('message', (req: Request) => {
    const h = handlers[req.cmd];
    if (h === undefined) {
      process.send!({ id: req.id, ok: false, error: `unknown command ${req.cmd}` });
      return;
    }
    Promise.resolve()
      .then(() => h(req))
      .then(
        (r) => process.send!({ ...r, id: req.id, ok: true }),
        (e: unknown) => process.send!({ id: req.id, ok: false, error: (e as Error)?.stack ?? String(e) }),
      );
  });
  process.send({ event: 'up', pid: process.pid });
}

/** Sends an event (progress) to the parent. */
export function emit(event: string, fields: Record<string, unknown> = {}): void {
  process.send?.({ event, ...fields });
}

/** Parent-side handle of a child: request/reply with a timeout, events, exit and stderr tail. */
export class ChildHandle {
  readonly name: string;
  readonly proc: ChildProcess;
  exited: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  stderr = '';
  #next = 1;
  readonly #waiting = new Map<number, { resolve(r: Reply): void; reject(e: Error): void; timer: NodeJS.Timeout }>();
  onEvent: ((r: Reply) => void) | undefined;
  readonly up: Promise<void>;

  constructor(name: string, proc: ChildProcess, upTimeoutMs = 15_000) {
    this.name = name;
    this.proc = proc;
    proc.stderr?.on('data', (d: Buffer) => {
      this.stderr = (this.stderr + d.toString()).slice(-4000);
    });
    proc.stdout?.on('data', (d: Buffer) => {
      this.stderr = (this.stderr + d.toString()).slice(-4000);
    });
    let upResolve!: () => void;
    this.up = new Promise<void>((res, rej) => {
      upResolve = res;
      const t = setTimeout(() => rej(new Error(`${name}: no 'up' within ${upTimeoutMs} ms`)), upTimeoutMs);
      t.unref();
      proc.once('exit', () => rej(new Error(`${name} exited before it was up: ${this.stderr.slice(-500)}`)));
    });
    this.up.catch(() => {
      /* awaited by the caller */
    });
    proc.on('message', (r: Reply) => {
      if (r.event === 'up') {
        upResolve();
        return;
      }
      if (r.id === undefined) {
        this.onEvent?.(r);
        return;
      }
      const w = this.#waiting.get(r.id);
      if (w === undefined) return;
      this.#waiting.delete(r.id);
      clearTimeout(w.timer);
      if (r.ok) w.resolve(r);
      else w.reject(new Error(`${name}: ${r.error}`));
    });
    proc.on('exit', (code, signal) => {
      this.exited = { code, signal };
      for (const w of this.#waiting.values()) {
        clearTimeout(w.timer);
        w.reject(new Error(`${name} exited (code ${code}, signal ${signal}) during a request; stderr: ${this.stderr.slice(-800)}`));
      }
      this.#waiting.clear();
    });
  }

  /** True while the process runs. */
  get alive(): boolean {
    return this.exited === undefined && this.proc.exitCode === null && this.proc.signalCode === null;
  }

  /** Sends a command; rejects on timeout, child failure or exit. */
  call(cmd: string, args: Record<string, unknown> = {}, timeoutMs = 30_000): Promise<Reply> {
    if (!this.alive)
      return Promise.reject(
        new Error(`${this.name} is not running (exit ${JSON.stringify(this.exited)}); stderr: ${this.stderr.slice(-800)}`),
      );
    const id = this.#next++;
    return new Promise<Reply>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiting.delete(id);
        reject(new Error(`${this.name}: '${cmd}' timed out after ${timeoutMs} ms`));
      }, timeoutMs);
      this.#waiting.set(id, { resolve, reject, timer });
      this.proc.send({ id, cmd, ...args });
    });
  }

  /** Kills the process (SIGKILL after a grace period) and waits for its exit, bounded. */
  async kill(graceMs = 1000): Promise<void> {
    if (!this.alive) return;
    const gone = new Promise<void>((r) => this.proc.once('exit', () => r()));
    try {
      this.proc.kill('SIGTERM');
    } catch {
      /* gone */
    }
    const t = setTimeout(() => {
      try {
        this.proc.kill('SIGKILL');
      } catch {
        /* gone */
      }
    }, graceMs);
    await Promise.race([gone, sleep(graceMs + 2000)]);
    clearTimeout(t);
  }
}

/** Per-session figure: (after - before) / n, in bytes. */
export function perSession(
  after: MemReading,
  before: MemReading,
  n: number,
): { rss: number; heapUsed: number; external: number; arrayBuffers: number } {
  const d = (k: keyof MemReading): number => (n > 0 ? ((after[k] as number) - (before[k] as number)) / n : 0);
  return { rss: d('rss'), heapUsed: d('heapUsed'), external: d('external'), arrayBuffers: d('arrayBuffers') };
}

/** Sums readings field by field (several client processes). */
export function sumReadings(rs: MemReading[]): MemReading {
  const s: MemReading = { rss: 0, heapUsed: 0, heapTotal: 0, external: 0, arrayBuffers: 0, fds: 0 };
  for (const r of rs) for (const k of Object.keys(s) as Array<keyof MemReading>) s[k] += r[k];
  return s;
}
