// The raw baselines of bench/echo.bench.ts in a process of their own (forked by rawBaselines()):
// a ceiling must not pay for the bench's heap. In the bench's process (beepwire, ws, node-forge
// and every earlier run's state loaded) V8 ran a full mark-compact every ~25 ms during the
// 64 KiB raw echo, where a process holding only the baseline ran a handful in the same time, and
// the raw echo lost a third of its throughput to it; beepwire then "beat" it. The parent forks
// one such process per case (the servers and the client of that case), driven over IPC.
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { Server } from 'node:net';
import { rawServer, portOf, rawEcho, rawRtt, bestInFlight, type EchoResult, type RawMode } from './echo-raw.js';
import { forkBenchChild, serveBenchParent, InFlightPicks } from './child.js';

/** A request from the parent. */
type Request =
  | { op: 'echo'; mode: RawMode | 'tls'; size: number; inFlight: number; seconds: number }
  | { op: 'best'; mode: RawMode | 'tls'; size: number; inFlight: number }
  | { op: 'rtt'; count: number };

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

/** Forks the child and starts its servers. */
export async function rawBaselines(setup: Setup): Promise<RawBaselines> {
  const child = await forkBenchChild<Request>('raw baseline', fileURLToPath(import.meta.url), setup);
  const picks = new InFlightPicks();
  return {
    echo: async (mode, size, inFlight, seconds) => {
      const n = await picks.get(`${mode} ${size} ${inFlight}`, () => child.ask<number>({ op: 'best', mode, size, inFlight }));
      return { ...(await child.ask<EchoResult>({ op: 'echo', mode, size, inFlight: n, seconds })), inFlight: n };
    },
    rtt: (count) => child.ask<number[]>({ op: 'rtt', count }),
    close: () => child.close(),
  };
}

/** The child: servers up, then one request at a time. */
async function startServers(setup: Setup): Promise<{ handle: (m: Request) => Promise<unknown>; stop: () => void }> {
  const servers: Record<'byte' | 'length-prefixed' | 'tls', Server> = {
    byte: await rawServer('byte'),
    'length-prefixed': await rawServer('length-prefixed'),
    tls: await rawServer('length-prefixed', { cert: setup.cert, key: setup.key }),
  };
  return {
    handle: async (m) => {
      if (m.op === 'rtt') return rawRtt(portOf(servers['length-prefixed']), m.count);
      const port = portOf(servers[m.mode]);
      const ca = m.mode === 'tls' ? setup.ca : undefined;
      if (m.op === 'best') return bestInFlight(m.inFlight, m.size, (n, s) => rawEcho(port, m.size, n, s, ca));
      return rawEcho(port, m.size, m.inFlight, m.seconds, ca);
    },
    stop: () => {
      for (const s of Object.values(servers)) s.close();
    },
  };
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

if (process.argv[2] === '--child') await serveBenchParent(startServers);
else if (process.argv[2] === '--certs') {
  const certs = await import('../src/tls/certs.js');
  const ca = certs.generateCa();
  const leaf = certs.generateLeaf(ca, { commonName: 'localhost' });
  process.stdout.write(JSON.stringify({ ca: { cert: ca.cert, key: ca.key }, leaf: { cert: leaf.cert, key: leaf.key } }));
}
