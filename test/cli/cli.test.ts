// The `beepwire` command against itself: listen (plain, TLS + SASL), ping, cert, spawned as a
// user runs them (node dist/src/cli/main.js), with --json output parsed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runtimeName } from '../../src/transport/select.js';
import { testNeeding } from '../runtime-limits.js';

const MAIN = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
/** The CLI is a Node program (its bin runs `node`): under Bun's or Deno's runner, process.execPath is theirs. */
const NODE = runtimeName() === 'node' ? process.execPath : 'node';

/** Runs the command to completion (bounded); resolves with exit code and JSON lines. */
function run(args: string[], timeout = 30_000): Promise<{ code: number | null; events: Array<Record<string, unknown>>; stderr: string }> {
  return new Promise((resolve) => {
    const p = spawn(NODE, [MAIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '',
      err = '';
    p.stdout.on('data', (d) => {
      out += d;
    });
    p.stderr.on('data', (d) => {
      err += d;
    });
    const t = setTimeout(() => p.kill('SIGKILL'), timeout);
    p.on('close', (code) => {
      clearTimeout(t);
      resolve({
        code,
        events: out
          .split('\n')
          .filter((l) => l.startsWith('{'))
          .map((l) => JSON.parse(l) as Record<string, unknown>),
        stderr: err,
      });
    });
  });
}

/** Starts `beepwire listen --json` on a free port; resolves once it listens. */
function listener(extra: string[]): Promise<{ p: ChildProcess; port: number; events: Array<Record<string, unknown>> }> {
  return new Promise((resolve, reject) => {
    const p = spawn(NODE, [MAIN, 'listen', '--port', '0', '--json', ...extra], { stdio: ['ignore', 'pipe', 'pipe'] });
    const events: Array<Record<string, unknown>> = [];
    let buf = '';
    const t = setTimeout(() => {
      p.kill('SIGKILL');
      reject(new Error('listener did not start within 20 s'));
    }, 20_000);
    p.stdout!.on('data', (d) => {
      buf += d;
      let i: number;
      while ((i = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 1);
        if (!line.startsWith('{')) continue;
        const e = JSON.parse(line) as Record<string, unknown>;
        events.push(e);
        if (e.event === 'listening') {
          clearTimeout(t);
          resolve({ p, port: e.port as number, events });
        }
      }
    });
    p.on('close', () => {
      clearTimeout(t);
      reject(new Error('listener exited'));
    });
  });
}

/** Stops a listener with SIGTERM (it unlocks and exits 0). */
function stop(p: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => {
    const t = setTimeout(() => p.kill('SIGKILL'), 5000);
    p.once('close', (code) => {
      clearTimeout(t);
      resolve(code);
    });
    // By pid, not p.kill(): Deno's node:child_process then reports the child as killed by the
    // signal (code null) even when it handled it and exited 0 (Deno 2.9.6).
    process.kill(p.pid!, 'SIGTERM');
  });
}

test('cli: listen + ping 100 round trips: greeting, start, statistics, clean release, exit 0', async () => {
  const l = await listener([]);
  const r = await run(['ping', `127.0.0.1:${l.port}`, '--count', '100', '--json']);
  assert.equal(r.code, 0, r.stderr);
  const stats = r.events.find((e) => e.event === 'stats')!;
  assert.equal(stats.count, 100);
  for (const k of ['min', 'median', 'p99', 'max']) assert.equal(typeof stats[k], 'number');
  assert.ok((stats.min as number) <= (stats.median as number) && (stats.median as number) <= (stats.p99 as number));
  assert.ok(r.events.some((e) => e.event === 'close' && e.ok === true));
  assert.equal(await stop(l.p), 0, 'the listener exits 0 on SIGTERM');
  assert.ok(
    l.events.some((e) => e.event === 'session-open') && l.events.some((e) => e.event === 'channel-start'),
    'the listener logged the session',
  );
});

test("cli: ping over TLS (the listener's generated CA) with SASL SCRAM-SHA-256; a wrong password exits 1 with 535", async () => {
  const l = await listener(['--tls', '--sasl', 'SCRAM-SHA-256', '--user', 'alice:secret']);
  try {
    const caFile = l.events.find((e) => e.event === 'tls-ca')?.caFile as string;
    assert.ok(existsSync(caFile));
    const ok = await run([
      'ping',
      `127.0.0.1:${l.port}`,
      '--tls',
      '--ca',
      caFile,
      '--sasl',
      'SCRAM-SHA-256',
      '--user',
      'alice:secret',
      '--count',
      '5',
      '--json',
    ]);
    assert.equal(ok.code, 0, ok.stderr);
    assert.ok(ok.events.some((e) => e.event === 'tls') && ok.events.some((e) => e.event === 'sasl' && e.authId === 'alice'));
    const bad = await run([
      'ping',
      `127.0.0.1:${l.port}`,
      '--tls',
      '--ca',
      caFile,
      '--sasl',
      'SCRAM-SHA-256',
      '--user',
      'alice:wrong',
      '--json',
    ]);
    assert.equal(bad.code, 1);
    assert.deepEqual(bad.events.find((e) => e.ok === false)?.code, 535);
    const unverified = await run(['ping', `127.0.0.1:${l.port}`, '--tls', '--json']);
    assert.equal(unverified.code, 1, 'a test CA is not in the platform store: verification fails');
  } finally {
    await stop(l.p);
  }
});

test('cli: --log prints the engine events: a refused start on both sides, a SASL failure on the listener, no password', async () => {
  const l = await listener(['--log', '--sasl', 'PLAIN', '--user', 'alice:secret']);
  try {
    const refused = await run(['ping', `127.0.0.1:${l.port}`, '--profile', 'http://nobody.test/none', '--log', '--json']);
    assert.equal(refused.code, 1);
    assert.ok(
      refused.events.some((e) => e.event === 'log' && e.type === 'channel:refused'),
      JSON.stringify(refused.events),
    );
    const bad = await run(['ping', `127.0.0.1:${l.port}`, '--sasl', 'PLAIN', '--user', 'alice:wrong', '--json']);
    assert.equal(bad.code, 1);
    // Text mode on the client: the lines go to stderr, stdout keeps the command's own output.
    const text = await run(['ping', `127.0.0.1:${l.port}`, '--count', '1', '--log']);
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stderr, /connection:open/);
  } finally {
    await stop(l.p);
  }
  const logged = l.events.filter((e) => e.event === 'log');
  assert.ok(
    logged.some((e) => e.type === 'channel:refused'),
    'the listener logged the refused start',
  );
  assert.ok(
    logged.some((e) => e.type === 'sasl:fail' && e.mechanism === 'PLAIN'),
    JSON.stringify(logged),
  );
  assert.ok(!JSON.stringify(logged).includes('wrong'), 'no password in the log');
});

test('cli: listen --sasl OTP (by profile URI) and ping --sasl OTP: the password is the pass phrase; a used-up login does not repeat', async () => {
  const l = await listener(['--sasl', 'http://iana.org/beep/SASL/OTP', '--user', 'alice:a pass phrase']);
  try {
    for (let i = 0; i < 2; i++) {
      const ok = await run(['ping', `127.0.0.1:${l.port}`, '--sasl', 'OTP', '--user', 'alice:a pass phrase', '--count', '1', '--json']);
      assert.equal(ok.code, 0, ok.stderr);
      assert.ok(ok.events.some((e) => e.event === 'sasl' && e.authId === 'alice'));
    }
    const bad = await run(['ping', `127.0.0.1:${l.port}`, '--sasl', 'OTP', '--user', 'alice:wrong phrase', '--json']);
    assert.equal(bad.code, 1);
    assert.deepEqual(bad.events.find((e) => e.ok === false)?.code, 535);
  } finally {
    await stop(l.p);
  }
});

testNeeding('ws-listener', 'cli: listen --ws takes plain BEEP and ws:// on one port; ping reaches it both ways', async () => {
  const l = await listener(['--ws']);
  try {
    const plain = await run(['ping', `127.0.0.1:${l.port}`, '--count', '3', '--json']);
    assert.equal(plain.code, 0, plain.stderr);
    const ws = await run(['ping', `ws://127.0.0.1:${l.port}/`, '--count', '3', '--size', '100000', '--json']);
    assert.equal(ws.code, 0, ws.stderr);
    assert.equal(ws.events.find((e) => e.event === 'stats')?.count, 3);
  } finally {
    await stop(l.p);
  }
});

test('cli: bench drives the echo profile for each size and writes JSON and an SVG chart', async () => {
  const l = await listener([]);
  try {
    const svg = join(mkdtempSync(join(tmpdir(), 'beepwire-bench-')), 'bench.svg');
    const r = await run([
      'bench',
      `127.0.0.1:${l.port}`,
      '--size',
      '64',
      '--size',
      '65536',
      '--seconds',
      '1',
      '--inflight',
      '8',
      '--svg',
      svg,
      '--json',
    ]);
    assert.equal(r.code, 0, r.stderr);
    const rows = r.events.filter((e) => e.event === 'row');
    assert.deepEqual(
      rows.map((e) => e.size),
      [64, 65536],
    );
    for (const row of rows) assert.ok((row.messages as number) > 0 && (row.msgsPerSec as number) > 0, JSON.stringify(row));
    assert.match(readFileSync(svg, 'utf8'), /^<svg[^>]*>.*65536 B/s);
  } finally {
    await stop(l.p);
  }
});

test('cli: ping to a closed port exits 1 with code 421; a malformed target exits 2', async () => {
  const r = await run(['ping', '127.0.0.1:1', '--json']);
  assert.equal(r.code, 1);
  assert.equal(r.events[0]?.code, 421);
  const bad = await run(['ping', 'no-port-here']);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /HOST:PORT/);
});

test('cli: cert writes a CA and a leaf that verifies against it', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'beepwire-cert-'));
  const r = await run(['cert', '--out', dir, '--cn', 'example.test', '--json']);
  assert.equal(r.code, 0, r.stderr);
  const { X509Certificate } = await import('node:crypto');
  const ca = new X509Certificate(readFileSync(join(dir, 'ca.pem')));
  const leaf = new X509Certificate(readFileSync(join(dir, 'cert.pem')));
  assert.ok(leaf.verify(ca.publicKey), 'signed by the CA');
  assert.equal(leaf.checkHost('example.test'), 'example.test');
  assert.equal(leaf.checkIP('127.0.0.1'), '127.0.0.1');
});
