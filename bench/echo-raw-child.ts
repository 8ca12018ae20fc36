// The raw baselines of bench/echo.bench.ts in a process of their own (forked by rawBaselines()):
// a ceiling must not pay for the bench's heap. In the bench's process (beepwire, ws, node-forge
// and every earlier run's state loaded) V8 ran a full mark-compact every ~25 ms during the
// 64 KiB raw echo, where a process holding only the baseline ran a handful in the same time, and
// the raw echo lost a third of its throughput to it; beepwire then "beat" it. Servers and clients
// of every raw case live here, one case at a time, driven over IPC by the parent.
import { execFileSync, fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { Server } from 'node:net';
import { rawServer, portOf, rawEcho, rawRtt, bestInFlight, type EchoResult, type RawMode } from './echo-raw.js';

/** A request from the parent. */
type Request =
  | { op: 'echo'; mode: RawMode | 'tls'; size: number; inFlight: number; seconds: number }
  | { op: 'best'; mode: RawMode | 'tls'; size: number; inFlight: number }
  | { op: 'rtt'; count: number }
  | { op: 'exit' };

/** The TLS material of the baseline server (the parent generates it). */
interface Setup {
  cert: string;
  key: string;
  ca: string;
}

/** The raw baselines, run in the child process. */
export interface RawBaselines {
  /**
   * rawEcho against the byte, length-prefixed or TLS length-prefixed server, with the number
   * of messages in flight (up to `inFlight`) that bestInFlight found fastest for that server
   * and size (tried on the first call); `inFlight` in the result says which.
   */
  echo(mode: RawMode | 'tls', size: number, inFlight: number, seconds: number): Promise<EchoResult & { inFlight: number }>;
  /** rawRtt against the length-prefixed server (milliseconds per round trip). */
  rtt(count: number): Promise<number[]>;
  /** Ends the child. */
  close(): void;
}

/**
 * Fixed glibc malloc thresholds (see rawBaselines). The bench's own process, where beepwire runs,
 * is started with the same ones (echo.bench.ts), so neither side of a ratio gets an allocator
 * the other lacks.
 */
export const MALLOC_ENV = { MALLOC_MMAP_THRESHOLD_: String(1 << 20), MALLOC_TRIM_THRESHOLD_: String(256 << 20) };

/** Forks the child and starts its servers. */
export async function rawBaselines(setup: Setup): Promise<RawBaselines> {
  // glibc's malloc adapts its mmap and trim thresholds as a process runs: until it has, the 64 KiB
  // read buffers Node allocates per read are mapped and unmapped (page faults, brk), and the
  // 64 KiB raw echo ran at ~73 CPU us per message for its first runs and ~32 after (bimodal
  // medians, sometimes below beepwire: BASELINE BROKEN). Fixed thresholds put it in its fast
  // mode from the start. Other C libraries ignore these variables.
  const env = { ...process.env, ...MALLOC_ENV };
  const child: ChildProcess = fork(fileURLToPath(import.meta.url), ['--child'], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], env });
  let pending: ((v: unknown) => void) | undefined;
  child.on('message', (m) => {
    const p = pending;
    pending = undefined;
    p?.(m);
  });
  child.once('exit', (code) => {
    if (pending !== undefined) throw new Error(`raw baseline process exited (${code}) during a run`);
  });
  const ask = <T>(m: Request | Setup): Promise<T> =>
    new Promise<T>((res) => {
      pending = res as (v: unknown) => void;
      child.send(m);
    });
  await ask<'ready'>(setup);
  const best = new Map<string, number>();
  return {
    echo: async (mode, size, inFlight, seconds) => {
      const key = `${mode} ${size} ${inFlight}`;
      let n = best.get(key);
      if (n === undefined) best.set(key, (n = await ask<number>({ op: 'best', mode, size, inFlight })));
      return { ...(await ask<EchoResult>({ op: 'echo', mode, size, inFlight: n, seconds })), inFlight: n };
    },
    rtt: (count) => ask<number[]>({ op: 'rtt', count }),
    close: () => {
      child.send({ op: 'exit' } satisfies Request);
    },
  };
}

/** The child: servers up, then one request at a time. */
async function serveParent(): Promise<void> {
  const setup = await new Promise<Setup>((res) => process.once('message', (m) => res(m as Setup)));
  const servers: Record<'byte' | 'length-prefixed' | 'tls', Server> = {
    byte: await rawServer('byte'),
    'length-prefixed': await rawServer('length-prefixed'),
    tls: await rawServer('length-prefixed', { cert: setup.cert, key: setup.key }),
  };
  process.on('message', (m: Request) => {
    void (async () => {
      if (m.op === 'exit') {
        for (const s of Object.values(servers)) s.close();
        process.exit(0);
      }
      const ca = m.op !== 'rtt' && m.mode === 'tls' ? setup.ca : undefined;
      if (m.op === 'rtt') process.send!(await rawRtt(portOf(servers['length-prefixed']), m.count));
      else if (m.op === 'best') process.send!(await bestInFlight(portOf(servers[m.mode]), m.size, m.inFlight, ca));
      else process.send!(await rawEcho(portOf(servers[m.mode]), m.size, m.inFlight, m.seconds, ca));
    })();
  });
  process.send!('ready');
}

/**
 * A CA and a localhost leaf made in a short-lived process of their own: node-forge's RSA key
 * generation in the measuring process left V8 collecting its old generation ~7x as often for
 * the rest of the run (64 KiB echo: 167 mark-compacts in 3 s instead of 24, 90 instead of 52
 * CPU us per message). A server loads its certificate; it does not make one per run.
 */
export function benchCertificates(): { ca: { cert: string; key: string }; leaf: { cert: string; key: string } } {
  return JSON.parse(execFileSync(process.execPath, [fileURLToPath(import.meta.url), '--certs'], { encoding: 'utf8' })) as ReturnType<
    typeof benchCertificates
  >;
}

if (process.argv[2] === '--child') await serveParent();
else if (process.argv[2] === '--certs') {
  const certs = await import('../src/tls/certs.js');
  const ca = certs.generateCa();
  const leaf = certs.generateLeaf(ca, { commonName: 'localhost' });
  process.stdout.write(JSON.stringify({ ca: { cert: ca.cert, key: ca.key }, leaf: { cert: leaf.cert, key: leaf.key } }));
}
