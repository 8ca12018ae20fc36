// The workerd client: the matrix Worker (dist/test/runtimes/worker.js) bundled with esbuild,
// its workerd config, and a workerd serving it on 127.0.0.1. Without nodejs_compat: beepwire
// must run on a plain Worker.
import { copyFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import * as esbuild from 'esbuild';
import { ROOT, ENV, bin } from './runtimes.mjs';
import { start, within, stop, describeExit } from './procs.mjs';

/** workerd config: the Worker, and an outbound network that may reach 127.0.0.1 and trusts the test CA. */
const CONFIG = `using Workerd = import "/workerd/workerd.capnp";

const config :Workerd.Config = (
  services = [
    (name = "main", worker = .worker),
    (name = "internet", network = (allow = ["local", "private", "public"], tlsOptions = (trustedCertificates = [ embed "ca.pem" ]))),
  ],
  sockets = [ (name = "http", address = "127.0.0.1:0", http = (), service = "main") ],
);

const worker :Workerd.Worker = (
  modules = [
    (name = "worker.js", esModule = embed "worker.js"),
    (name = "codec.wasm", wasm = embed "codec.wasm"),
  ],
  compatibilityDate = "2025-01-01",
  globalOutbound = "internet",
);
`;

/** Writes worker.js (bundle), codec.wasm, ca.pem and config.capnp into `dir`. */
export async function buildWorker(dir, caPem) {
  await esbuild.build({
    entryPoints: [join(ROOT, 'dist', 'test', 'runtimes', 'worker.js')],
    bundle: true,
    format: 'esm',
    platform: 'browser',
    outfile: join(dir, 'worker.js'),
    logLevel: 'warning',
    // workerd imports a .wasm module as a compiled WebAssembly.Module: keep it a separate module.
    plugins: [
      {
        name: 'wasm',
        setup(b) {
          b.onResolve({ filter: /codec\.wasm$/ }, () => ({ path: './codec.wasm', external: true }));
        },
      },
    ],
  });
  copyFileSync(join(ROOT, 'build', 'codec.wasm'), join(dir, 'codec.wasm'));
  writeFileSync(join(dir, 'ca.pem'), caPem);
  writeFileSync(join(dir, 'config.capnp'), CONFIG);
}

/** A port free on 127.0.0.1 right now (workerd binds it a moment later; a clash is retried). */
function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer().once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/** Starts workerd serving the Worker in `dir`; resolves its URL once it answers, within `ms`. */
export async function startWorkerd(dir, ms) {
  let last;
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort();
    const proc = start(bin('workerd'), ['serve', 'config.capnp', '--socket-addr', `http=127.0.0.1:${port}`], { cwd: dir, env: ENV });
    const url = `http://127.0.0.1:${port}/`;
    const t0 = Date.now();
    while (!proc.closed && Date.now() - t0 < ms) {
      try {
        const r = await fetch(url, { signal: AbortSignal.timeout(2_000) });
        if ((await r.text()) === 'ready') return { proc, url };
      } catch {
        /* not listening yet */
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    last = proc.closed ? `workerd ${describeExit(proc)}` : `workerd did not answer within ${ms} ms`;
    stop(proc);
  }
  throw new Error(last);
}

/** POSTs JSON to the Worker and returns its JSON answer, within `ms`. */
export async function post(url, body, ms, what) {
  const r = await within(fetch(url, { method: 'POST', body: JSON.stringify(body), signal: AbortSignal.timeout(ms) }), ms + 1_000, what);
  const text = await r.text();
  if (!r.ok) throw new Error(`${what}: HTTP ${r.status}: ${text.slice(0, 300)}`);
  return JSON.parse(text);
}
