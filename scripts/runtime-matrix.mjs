// npm run test:runtimes — the cross-runtime matrix (issue 10). Installs the pinned Deno, Bun
// and workerd from npm into .runtimes/ (scripts/matrix/runtimes.mjs), starts a listener on
// Node, Bun and Deno, runs the client scenarios of test/runtimes/scenarios.ts on Node, Bun,
// Deno and workerd against each, asks every runtime for a BEEP over WebSocket listener and runs
// the ws:// scenarios of every client against each that listens (Node's; scripts/matrix/ws.mjs),
// runs the Deno TLS upgrade loop against the Node listener,
// writes docs/runtime-matrix.md and the README's runtime-matrix section, and exits non-zero if
// anything failed. Everything listens and connects on 127.0.0.1 only. Needs `npm run build`.
// Options: --loop=N (Deno TLS loop rounds, default 500), --no-write (print, leave the docs).
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, release, platform, tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureRuntimes, versions, PINS, CLIENTS, LISTENERS, ROOT } from './matrix/runtimes.mjs';
import { stop, stopAll, describeExit } from './matrix/procs.mjs';
import { buildWorker, startWorkerd, post } from './matrix/workerd.mjs';
import { startListenerProc, runClientOn, denoTlsLoop } from './matrix/clients.mjs';
import { startWsListeners, runWsCells } from './matrix/ws.mjs';
import { writeReports, renderReadme } from './matrix/report.mjs';

/** Deadlines (ms): a listener saying it listens, workerd answering, one client's six scenarios, the whole loop. */
const LISTEN_MS = 30_000;
const WORKERD_MS = 30_000;
const CLIENT_MS = 180_000;
const LOOP_MS = 600_000;

const opt = (name, dflt) => process.argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1] ?? dflt;
const loopCount = Number(opt('loop', 500));
const write = !process.argv.includes('--no-write');

const t0 = Date.now();
ensureRuntimes();
const certs = await import(join(ROOT, 'dist/src/tls/certs.js'));
const { SCENARIOS, WS_SCENARIOS } = await import(join(ROOT, 'dist/test/runtimes/scenarios.js'));

// One CA and one listener certificate for every runtime (IP SAN 127.0.0.1: no DNS involved).
const ca = certs.generateCa();
const leaf = certs.generateLeaf(ca, { commonName: '127.0.0.1', dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'] });
const plain = { ca: ca.cert, cert: leaf.cert, key: leaf.key };
const cfg = Buffer.from(JSON.stringify(plain)).toString('base64');

const tmp = mkdtempSync(join(tmpdir(), 'beepwire-matrix-'));
const results = {
  date: new Date().toISOString().slice(0, 10),
  machine: { cpu: cpus()[0]?.model ?? 'unknown', cores: cpus().length, release: release(), platform: platform() },
  versions: versions(),
  short: { node: process.version, ...PINS },
  listeners: Object.fromEntries(CLIENTS.map((rt) => [rt, undefined])), // table order
  cells: [],
  // BEEP over WebSocket: which runtimes listen for it, and the ws:// scenarios against those.
  ws: { listeners: Object.fromEntries(CLIENTS.map((rt) => [rt, undefined])), cells: [] },
  tlsLoop: undefined,
  totalMs: 0,
};
let failed = false;
try {
  // workerd: the Worker is built and served first; it is a client only, but it is asked to listen.
  let workerdUrl;
  let workerdError;
  try {
    await buildWorker(tmp, plain.ca).catch((e) => {
      throw new Error(`bundling the Worker: ${e.message}`);
    });
    workerdUrl = (await startWorkerd(tmp, WORKERD_MS)).url;
    const said = await post(`${workerdUrl}listen`, plain, 10_000, 'workerd listen');
    results.listeners.workerd = said.listening
      ? { ok: false, summary: 'listener OK but unreachable', detail: 'workerd has no inbound TCP' }
      : { ok: false, summary: 'cannot listen (workerd)', detail: `createListener: ${said.error}` };
  } catch (e) {
    workerdError = e.message;
    results.listeners.workerd = { ok: false, summary: 'not checked', detail: workerdError };
  }

  const listeners = {};
  await Promise.all(
    LISTENERS.map(async (rt) => {
      try {
        listeners[rt] = await startListenerProc(rt, cfg, LISTEN_MS);
        results.listeners[rt] = { ok: true, port: listeners[rt].port };
      } catch (e) {
        results.listeners[rt] = { ok: false, summary: 'did not start', detail: e.message };
        failed = true;
      }
    }),
  );

  for (const client of CLIENTS) {
    for (const listener of LISTENERS) {
      const port = listeners[listener]?.port;
      const outcomes =
        port === undefined
          ? SCENARIOS.map((name) => ({ name, ok: false, detail: `no ${listener} listener`, ms: 0 }))
          : await runClientOn(client, port, cfg, { scenarios: SCENARIOS, ms: CLIENT_MS, workerdUrl, config: { plain, workerdError } });
      results.cells.push({ client, listener, outcomes });
      const n = outcomes.filter((o) => o.ok).length;
      console.log(
        `${client.padEnd(8)} → ${listener.padEnd(5)} ${n}/${outcomes.length}${n < outcomes.length ? `  ${outcomes.find((o) => !o.ok).detail}` : ''}`,
      );
      if (n < outcomes.length) failed = true;
    }
  }

  const ws = await startWsListeners({ cfg, plain, workerdUrl, workerdError, ms: LISTEN_MS, results });
  if (!ws.ok) failed = true;
  if (
    !(await runWsCells({ listeners: ws.listeners, cfg, plain, workerdUrl, workerdError, scenarios: WS_SCENARIOS, ms: CLIENT_MS, results }))
  )
    failed = true;

  results.tlsLoop =
    listeners.node === undefined
      ? { passed: 0, total: loopCount, ms: 0, errors: ['no node listener'], against: 'node' }
      : { ...(await denoTlsLoop(listeners.node.port, loopCount, cfg, LOOP_MS)), against: 'node' };
  console.log(`Deno TLS loop: ${results.tlsLoop.passed}/${results.tlsLoop.total} in ${results.tlsLoop.ms} ms`);
  if (results.tlsLoop.passed !== loopCount) failed = true;

  // A listener that died during the run is a failure even if no client noticed.
  for (const [rt, l] of Object.entries(listeners)) {
    if (l.proc.exit !== undefined) {
      results.listeners[rt] = { ok: false, summary: 'died during the run', detail: describeExit(l.proc) };
      failed = true;
    }
    stop(l.proc);
  }
  for (const [rt, l] of Object.entries(ws.listeners)) {
    if (l.proc.exit !== undefined) {
      results.ws.listeners[rt] = { ok: false, summary: 'died during the run', detail: describeExit(l.proc) };
      failed = true;
    }
    stop(l.proc);
  }
} finally {
  stopAll();
  rmSync(tmp, { recursive: true, force: true });
}
results.totalMs = Date.now() - t0;
if (write) writeReports(results, { scenarios: SCENARIOS, wsScenarios: WS_SCENARIOS }, CLIENTS);
console.log(
  `\n${renderReadme(results, CLIENTS)}\n\nmatrix run: ${(results.totalMs / 1000).toFixed(1)} s${write ? ' (docs/runtime-matrix.md and README.md updated)' : ''}`,
);
process.exit(failed ? 1 : 0);
