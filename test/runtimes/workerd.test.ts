// The cross-runtime client scenarios in a real workerd (opt-in: BEEPWIRE_WORKERD=<path to the
// workerd binary>; skipped otherwise). The Worker (test/runtimes/worker.ts, bundled with esbuild)
// runs against a Node listener whose certificate a fresh CA signed, twice: once with that CA in
// the network service's tlsOptions.trustedCertificates (every scenario passes, TLS verified) and
// once with another CA there (the TLS scenarios fail with UnknownIssuer in workerd's log, the
// clear ones pass): verification is real. workerd listens on a port it picks (--socket-addr
// http=127.0.0.1:0) and reports it on --control-fd.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync, copyFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from 'esbuild';
import * as certs from '../../src/tls/certs.js';
import { startListener, SCENARIOS, type Outcome } from './scenarios.js';
import { ROOT } from '../portable/bundler.js';

const WORKERD = process.env.BEEPWIRE_WORKERD;
const skip = WORKERD === undefined || WORKERD === '' ? 'set BEEPWIRE_WORKERD to a workerd binary to run' : false;
const TLS_SCENARIOS = SCENARIOS.filter((s) => s.includes('TLS'));

/** The network service and Worker config: the one thing workerd needs for startTls to verify against `caFile`. */
export function workerdConfig(caFile: string): string {
  return `using Workerd = import "/workerd/workerd.capnp";
const config :Workerd.Config = (
  services = [
    (name = "main", worker = .worker),
    (name = "internet", network = (allow = ["local", "private", "public"], tlsOptions = (trustedCertificates = [ embed "${caFile}" ]))),
  ],
  sockets = [ (name = "http", address = "127.0.0.1:0", http = (), service = "main") ],
);
const worker :Workerd.Worker = (
  modules = [ (name = "worker.js", esModule = embed "worker.js"), (name = "codec.wasm", wasm = embed "codec.wasm") ],
  compatibilityDate = "2025-01-01",
  globalOutbound = "internet",
);
`;
}

const dir = mkdtempSync(join(tmpdir(), 'beepwire-workerd-'));
const procs: ChildProcess[] = [];
after(() => {
  for (const p of procs) if (p.exitCode === null) p.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

/** Starts workerd on `config`; resolves its port and a function returning its log so far. */
function serve(config: string): Promise<{ port: number; log: () => string }> {
  const p = spawn(WORKERD!, ['serve', config, '--socket-addr=http=127.0.0.1:0', '--control-fd=3'], {
    cwd: dir,
    stdio: ['ignore', 'pipe', 'pipe', 'pipe'],
  });
  procs.push(p);
  let log = '';
  p.stdout!.on('data', (d: Buffer) => {
    log += d.toString();
  });
  p.stderr!.on('data', (d: Buffer) => {
    log += d.toString();
  });
  return new Promise((res, rej) => {
    const t = setTimeout(() => rej(new Error(`workerd did not report its port: ${log}`)), 20_000);
    p.once('exit', (c) => {
      clearTimeout(t);
      rej(new Error(`workerd exited (${c}): ${log}`));
    });
    (p.stdio[3] as NodeJS.ReadableStream).on('data', (d: Buffer) => {
      for (const line of d.toString().split('\n')) {
        if (!line.trim()) continue;
        const ev = JSON.parse(line) as { event: string; socket: string; port: number };
        if (ev.event === 'listen' && ev.socket === 'http') {
          clearTimeout(t);
          res({ port: ev.port, log: () => log });
        }
      }
    });
  });
}

async function run(workerdPort: number, body: object): Promise<Map<string, Outcome>> {
  const r = await fetch(`http://127.0.0.1:${workerdPort}/`, {
    method: 'POST',
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(90_000),
  });
  const { outcomes } = (await r.json()) as { outcomes: Outcome[] };
  return new Map(outcomes.map((o) => [o.name, o]));
}

test("workerd: TLS upgrades verify against the network service's trustedCertificates, and fail against another CA", {
  skip,
  timeout: 110_000,
}, async () => {
  const ca = certs.generateCa({ commonName: 'workerd matrix CA' });
  const other = certs.generateCa({ commonName: 'workerd other CA' });
  const leaf = certs.generateLeaf(ca, { commonName: '127.0.0.1', dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'] });
  const cfg = { cert: leaf.cert, key: leaf.key };
  const listener = await startListener('127.0.0.1', 0, cfg);
  assert.ok(listener.isOk(), listener.errorMsg);
  try {
    await build({
      entryPoints: [join(ROOT, 'dist/test/runtimes/worker.js')],
      bundle: true,
      format: 'esm',
      platform: 'browser',
      target: 'es2022',
      outfile: join(dir, 'worker.js'),
      logLevel: 'silent',
      plugins: [
        {
          name: 'wasm',
          setup(b) {
            b.onResolve({ filter: /codec\.wasm$/ }, () => ({ path: './codec.wasm', external: true }));
          },
        },
      ],
    });
    copyFileSync(join(ROOT, 'build/codec.wasm'), join(dir, 'codec.wasm'));
    writeFileSync(join(dir, 'ca.pem'), ca.cert);
    writeFileSync(join(dir, 'other-ca.pem'), other.cert);
    writeFileSync(join(dir, 'right.capnp'), workerdConfig('ca.pem'));
    writeFileSync(join(dir, 'wrong.capnp'), workerdConfig('other-ca.pem'));
    const body = { ...cfg, host: '127.0.0.1', port: listener.port };

    const right = await serve('right.capnp');
    const good = await run(right.port, body);
    for (const name of SCENARIOS)
      assert.ok(good.get(name)?.ok, `${name} with the listener's CA trusted: ${JSON.stringify(good.get(name))}\n${right.log()}`);

    const wrong = await serve('wrong.capnp');
    const bad = await run(wrong.port, body);
    for (const name of SCENARIOS) {
      const o = bad.get(name);
      if (TLS_SCENARIOS.includes(name))
        assert.ok(
          o !== undefined && !o.ok && /failed under workerd/.test(o.detail),
          `${name} must fail with another CA trusted: ${JSON.stringify(o)}`,
        );
      else assert.ok(o?.ok, `${name} (no TLS) with another CA trusted: ${JSON.stringify(o)}`);
    }
    assert.match(wrong.log(), /invalid peer certificate: UnknownIssuer/);
  } finally {
    await listener.close();
  }
});
