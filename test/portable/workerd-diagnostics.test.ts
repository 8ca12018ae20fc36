// diagnostics_channel on real workerd (BEEPWIRE_WORKERD, else the pinned one in .runtimes/ that
// `npm run test:runtimes` installs): with nodejs_compat, process.getBuiltinModule gives the module and
// beepwire's events reach a subscriber (workerd's Channel.hasSubscribers is a method, not
// Node's getter); without it, nothing is published and nothing fails. Skipped, with the
// reason, where workerd is not installed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from 'esbuild';
import { ROOT } from './bundler.js';

const WORKERD = process.env.BEEPWIRE_WORKERD || join(ROOT, '.runtimes', 'node_modules', '.bin', 'workerd');
const missing = existsSync(WORKERD) ? false : 'no workerd: set BEEPWIRE_WORKERD, or install the pinned one (npm run test:runtimes)';

/** The Worker: subscribes, has beepwire emit connection:open for a stand-in connection, answers what arrived. */
const ENTRY = `import { connectionOpened } from ${JSON.stringify(join(ROOT, 'dist/src/api/diagnostics.js'))};
import { diagnosticsAvailable } from ${JSON.stringify(join(ROOT, 'dist/src/transport/diagnostics.js'))};
export default {
  async fetch() {
    const got = [];
    const dc = globalThis.process?.getBuiltinModule?.('node:diagnostics_channel');
    dc?.subscribe('beepwire:connection:open', (m) => got.push(m.type + ' ' + m.host + ':' + m.port + ' ' + m.transport));
    connectionOpened({ ctx: {}, role: 'initiator', host: 'peer.example', port: 10288, transport: { kind: 'workerd' } });
    return new Response(JSON.stringify({ available: diagnosticsAvailable, got }));
  },
};
`;

const config = (port: number, flags: string): string => `using Workerd = import "/workerd/workerd.capnp";
const config :Workerd.Config = (
  services = [ (name = "main", worker = .worker) ],
  sockets = [ (name = "http", address = "127.0.0.1:${port}", http = (), service = "main") ],
);
const worker :Workerd.Worker = (
  modules = [ (name = "worker.js", esModule = embed "worker.js") ],
  compatibilityDate = "2025-01-01",
  compatibilityFlags = [ ${flags} ],
);
`;

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer().once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      s.close(() => resolve(typeof a === 'object' && a !== null ? a.port : 0));
    });
  });
}

/** Serves the Worker with `flags` and returns its answer (a port taken meanwhile: tried again). */
async function ask(dir: string, flags: string): Promise<{ available: boolean; got: string[] }> {
  let last: unknown;
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      return await askOnce(dir, flags, await freePort());
    } catch (e) {
      last = e;
    }
  }
  throw last;
}

async function askOnce(dir: string, flags: string, port: number): Promise<{ available: boolean; got: string[] }> {
  writeFileSync(join(dir, 'config.capnp'), config(port, flags));
  const child = spawn(WORKERD, ['serve', 'config.capnp'], { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  child.stderr.setEncoding('utf8').on('data', (d: string) => {
    if (err.length < 8192) err += d;
  });
  try {
    const deadline = Date.now() + 20_000;
    for (;;) {
      try {
        const r = await fetch(`http://127.0.0.1:${port}/`, { signal: AbortSignal.timeout(2000) });
        return (await r.json()) as { available: boolean; got: string[] };
      } catch (e) {
        if (Date.now() > deadline || child.exitCode !== null) throw new Error(`workerd did not answer: ${String(e)}\n${err}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  } finally {
    child.kill();
  }
}

test('workerd: events on diagnostics_channel with nodejs_compat, none (and no failure) without', { skip: missing }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'beepwire-wd-diag-'));
  try {
    await build({
      stdin: { contents: ENTRY, resolveDir: ROOT },
      bundle: true,
      format: 'esm',
      platform: 'browser',
      outfile: join(dir, 'worker.js'),
      logLevel: 'warning',
    });
    assert.deepEqual(await ask(dir, '"nodejs_compat"'), { available: true, got: ['connection:open peer.example:10288 workerd'] });
    assert.deepEqual(await ask(dir, ''), { available: false, got: [] });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
