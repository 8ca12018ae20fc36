// The cross-runtime suite's scenarios under Node alone, so `npm test` covers them where Deno,
// Bun and workerd are absent (the matrix, `npm run test:runtimes`, runs them on every runtime):
// in-process against the suite's listener (plain, and its WebSocket listener for the ws://
// scenarios), and through the very entry points the matrix spawns.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import * as certs from '../../src/tls/certs.js';
import { runtimeName } from '../../src/transport/select.js';
import { testNeeding } from '../runtime-limits.js';
import { runClient, runWsClient, startListener, SCENARIOS, WS_SCENARIOS, type MatrixConfig } from './scenarios.js';

const ca = certs.generateCa();
const leaf = certs.generateLeaf(ca, { commonName: '127.0.0.1', dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'] });
const cfg: MatrixConfig = { ca: ca.cert, cert: leaf.cert, key: leaf.key };
const arg = Buffer.from(JSON.stringify(cfg)).toString('base64');
/** The entry-point tests run them under Node (under Bun's or Deno's runner, process.execPath is theirs). */
const NODE = runtimeName() === 'node' ? process.execPath : 'node';
const entry = (name: string): string => fileURLToPath(new URL(`./${name}`, import.meta.url));

test('every client scenario passes against the suite listener (in process)', async () => {
  const l = await startListener('127.0.0.1', 0, cfg);
  assert.ok(l.isOk(), l.errorMsg);
  try {
    const outcomes = await runClient('127.0.0.1', l.port, cfg);
    assert.deepEqual(
      outcomes.map((o) => o.name),
      [...SCENARIOS],
    );
    for (const o of outcomes) assert.ok(o.ok, `${o.name}: ${o.detail}`);
  } finally {
    await l.ctx.exit();
  }
});

testNeeding(
  'ws-listener',
  "every ws:// client scenario passes against the suite's WebSocket listener (in process; the client: `ws` on Node, the WHATWG WebSocket elsewhere)",
  async () => {
    const l = await startListener('127.0.0.1', 0, cfg, { websocket: true });
    assert.ok(l.isOk(), l.errorMsg);
    try {
      const outcomes = await runWsClient('127.0.0.1', l.port);
      assert.deepEqual(
        outcomes.map((o) => o.name),
        [...WS_SCENARIOS],
      );
      for (const o of outcomes) {
        assert.ok(o.ok, `${o.name}: ${o.detail}`);
        assert.match(o.detail, runtimeName() === 'node' ? /\(`ws` package\)$/ : /\(WHATWG WebSocket\)$/);
      }
    } finally {
      await l.ctx.exit();
    }
  },
);

test('a client scenario that fails is reported, not thrown (nothing listens)', async () => {
  const outcomes = await runClient('127.0.0.1', 1, cfg);
  assert.equal(outcomes.length, SCENARIOS.length);
  for (const o of outcomes) assert.equal(o.ok, false, o.name);
  assert.match(outcomes[0]!.detail, /connect: .*(ECONNREFUSED|Connection refused)/); // Deno: "Connection refused (os error 111)"
});

/** Spawns listener-main with `args`; resolves the child and the port it says it listens on. */
async function spawnListener(args: string[]): Promise<{ child: ReturnType<typeof spawn>; port: number }> {
  const listener = spawn(NODE, [entry('listener-main.js'), ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    const port = await new Promise<number>((resolve, reject) => {
      let out = '';
      const timer = setTimeout(() => reject(new Error(`no port line: ${out}`)), 30_000);
      listener.stdout!.setEncoding('utf8').on('data', (d: string) => {
        out += d;
        const m = /\{"port":(\d+)\}/.exec(out);
        if (m) {
          clearTimeout(timer);
          resolve(Number(m[1]));
        }
      });
      listener.once('exit', (c) => {
        clearTimeout(timer);
        reject(new Error(`listener exited ${c}: ${out}`));
      });
    });
    return { child: listener, port };
  } catch (e) {
    listener.kill('SIGKILL');
    throw e;
  }
}

test('listener-main, client-main and tls-loop-main under Node (the matrix entry points)', async () => {
  const { child: listener, port } = await spawnListener([arg]);
  try {
    const c = spawnSync(NODE, [entry('client-main.js'), '127.0.0.1', String(port), arg], { encoding: 'utf8', timeout: 60_000 });
    assert.equal(c.status, 0, c.stderr);
    const { outcomes } = JSON.parse(c.stdout) as { outcomes: { name: string; ok: boolean; detail: string }[] };
    for (const o of outcomes) assert.ok(o.ok, `${o.name}: ${o.detail}`);
    const loop = spawnSync(NODE, [entry('tls-loop-main.js'), '127.0.0.1', String(port), '20', arg], { encoding: 'utf8', timeout: 60_000 });
    assert.equal(loop.status, 0, loop.stderr);
    assert.deepEqual({ ...JSON.parse(loop.stdout), ms: 0 }, { passed: 20, failed: 0, errors: [], ms: 0 });
  } finally {
    listener.kill('SIGKILL');
  }
});

test("listener-main ws and client-main ws under Node (the matrix's WebSocket entry points)", async () => {
  const { child: listener, port } = await spawnListener([arg, 'ws']);
  try {
    const c = spawnSync(NODE, [entry('client-main.js'), '127.0.0.1', String(port), arg, 'ws'], { encoding: 'utf8', timeout: 60_000 });
    assert.equal(c.status, 0, c.stderr);
    const { outcomes } = JSON.parse(c.stdout) as { outcomes: { name: string; ok: boolean; detail: string }[] };
    assert.deepEqual(
      outcomes.map((o) => o.name),
      [...WS_SCENARIOS],
    );
    for (const o of outcomes) assert.ok(o.ok, `${o.name}: ${o.detail}`);
  } finally {
    listener.kill('SIGKILL');
  }
});
