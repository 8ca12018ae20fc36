// One beepwire case of bench/echo.bench.ts (a TCP or TLS echo row, or the round trips) in a
// process of its own (forked by beepProcess()), for the reason the raw baselines have theirs
// (echo-raw-child.ts): what is measured must not pay for the harness's heap, nor for another
// case. In the harness's process (the ws package's own echo, the WebSocket listeners, the
// results) the 64 KiB echo ran at ~57 CPU us per message; in a process with beepwire's TCP
// listener and client only, ~36-38, and ~47-55 when the 8-channel echo ran in it between the
// 1-channel runs. Listener and client share the process, as the raw server and client share
// theirs.
import { fileURLToPath } from 'node:url';
import { forkBenchChild, serveBenchParent, InFlightPicks } from './child.js';
import { bestInFlight, type EchoResult } from './echo-raw.js';
import { beepServerCtx, beepListener, beepEcho, beepRtt, type BeepSettings, type BeepEchoCase } from './echo-beep.js';

/** An echo case as the parent names it: TLS or not instead of a CA. */
type EchoCase = Omit<BeepEchoCase, 'target' | 'caPem' | 'websocket'> & { tls: boolean };

/** A request from the parent. */
type Request = { op: 'echo'; c: EchoCase } | { op: 'best'; c: EchoCase } | { op: 'rtt'; count: number };

/** What the child needs: settings and the listener's TLS material (the parent generates it). */
interface Setup {
  settings: BeepSettings;
  leaf: { cert: string; key: string };
  ca: string;
}

/** beepwire's echo, run in the child process. */
export interface BeepProcess {
  /**
   * An echo run with the number of messages in flight (up to `c.inFlight`) that bestInFlight
   * found fastest for this case (tried on its first call), as the raw baselines choose theirs;
   * `inFlight` in the result says which.
   */
  echo(c: EchoCase): Promise<EchoResult & { inFlight: number }>;
  /** beepRtt against the child's listener (milliseconds per round trip). */
  rtt(count: number): Promise<number[]>;
  /** Ends the child. */
  close(): void;
}

/** Forks the child and starts its listener. */
export async function beepProcess(setup: Setup): Promise<BeepProcess> {
  const child = await forkBenchChild<Request>('beepwire echo', fileURLToPath(import.meta.url), setup);
  const picks = new InFlightPicks();
  return {
    echo: async (c) => {
      const n = await picks.get(JSON.stringify({ ...c, seconds: 0 }), () => child.ask<number>({ op: 'best', c }));
      return { ...(await child.ask<EchoResult>({ op: 'echo', c: { ...c, inFlight: n } })), inFlight: n };
    },
    rtt: (count) => child.ask<number[]>({ op: 'rtt', count }),
    close: () => child.close(),
  };
}

/** The child: the listener up, then one request at a time. */
async function startListener(setup: Setup): Promise<{ handle: (m: Request) => Promise<unknown>; stop: () => Promise<void> }> {
  const ctx = beepServerCtx(setup.settings, setup.leaf);
  const listener = await beepListener(ctx);
  const run = (c: EchoCase, inFlight: number, seconds: number): Promise<EchoResult> =>
    beepEcho(setup.settings, { ...c, target: listener.port, inFlight, seconds, caPem: c.tls ? setup.ca : undefined });
  return {
    handle: async (m) => {
      if (m.op === 'rtt') return beepRtt(setup.settings, listener.port, m.count);
      if (m.op === 'best') return bestInFlight(m.c.inFlight, m.c.size, (n, s) => run(m.c, n, s));
      return run(m.c, m.c.inFlight, m.c.seconds);
    },
    stop: () => ctx.exit(),
  };
}

if (process.argv[2] === '--child') await serveBenchParent(startListener);
