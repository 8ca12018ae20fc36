// A bench process of its own, driven by its parent over IPC, one request at a time: what a
// bench measures must not pay for the harness's heap (echo-raw-child.ts gives the figures).
import { fork, type ChildProcess } from 'node:child_process';

/**
 * Fixed glibc malloc thresholds for every measuring process (the raw baselines', beepwire's and
 * the harness's own), so that no side of a ratio gets an allocator the other lacks: glibc adapts
 * its mmap and trim thresholds as a process runs, and until it has, the 64 KiB read buffers Node
 * allocates per read are mapped and unmapped (page faults, brk); the 64 KiB raw echo ran at ~73
 * CPU us per message for its first runs and ~32 after. Other C libraries ignore these variables.
 */
export const MALLOC_ENV = { MALLOC_MMAP_THRESHOLD_: String(1 << 20), MALLOC_TRIM_THRESHOLD_: String(256 << 20) };

/** The parent's handle on a child: one request at a time. */
export interface BenchChild<Req> {
  /** Sends a request and resolves with the child's answer. */
  ask<T>(m: Req): Promise<T>;
  /** Ends the child. */
  close(): void;
}

/** Forks `modulePath` with `--child`, hands it `setup` and waits until it is ready. */
export async function forkBenchChild<Req>(name: string, modulePath: string, setup: unknown): Promise<BenchChild<Req>> {
  const env = { ...process.env, ...MALLOC_ENV };
  const child: ChildProcess = fork(modulePath, ['--child'], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], env });
  let pending: ((v: unknown) => void) | undefined;
  child.on('message', (m) => {
    const p = pending;
    pending = undefined;
    p?.(m);
  });
  child.once('exit', (code) => {
    if (pending !== undefined) throw new Error(`${name} process exited (${code}) during a run`);
  });
  const send = <T>(m: unknown): Promise<T> =>
    new Promise<T>((res) => {
      pending = res as (v: unknown) => void;
      child.send(m as object);
    });
  await send<'ready'>(setup);
  return {
    ask: (m) => send(m),
    close: () => {
      child.send({ op: 'exit' });
    },
  };
}

/** The messages in flight of each case a child runs: found by a trial on the case's first run, then kept. */
export class InFlightPicks {
  readonly #picks = new Map<string, number>();

  /** The count for case `key`, asking `trial` (the child's bestInFlight) the first time. */
  async get(key: string, trial: () => Promise<number>): Promise<number> {
    let n = this.#picks.get(key);
    if (n === undefined) this.#picks.set(key, (n = await trial()));
    return n;
  }
}

/**
 * The child's side: waits for the setup, starts with it, then answers each request with
 * `handle` (`{ op: 'exit' }` ends the process after `stop`).
 */
export async function serveBenchParent<Setup, Req>(
  start: (setup: Setup) => Promise<{ handle: (m: Req) => Promise<unknown>; stop: () => Promise<void> | void }>,
): Promise<void> {
  const setup = await new Promise<Setup>((res) => process.once('message', (m) => res(m as Setup)));
  const { handle, stop } = await start(setup);
  process.on('message', (m: Req | { op: 'exit' }) => {
    void (async () => {
      if ((m as { op: string }).op === 'exit') {
        await stop();
        process.exit(0);
      }
      process.send!(await handle(m as Req));
    })();
  });
  process.send!('ready');
}
