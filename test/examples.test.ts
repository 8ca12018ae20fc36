// The PyVortex manual's examples, as TypeScript twins, run against each other on 127.0.0.1.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { startListener } from '../examples/listener.js';
import { runClient } from '../examples/client.js';
import { lacks } from './runtime-limits.js';

test('manual client example against the manual listener example', async () => {
  const logs: string[] = [];
  const { ctx, listener } = await startListener('127.0.0.1', 0, (s) => logs.push(`L ${s}`));
  assert.ok(listener.isOk(), listener.errorMsg);
  const frame = await runClient('127.0.0.1', listener.port, (s) => logs.push(`C ${s}`));
  await ctx.exit();
  assert.ok(frame);
  assert.equal(frame.type, 'RPY');
  assert.equal(frame.text, 'This is a test');
  assert.deepEqual(logs, ['L Frame content received: This is a test', 'C Frame received, type: RPY', 'C Frame content: This is a test']);
});

test('manual client example reports a refused connection like PyVortex', async () => {
  const logs: string[] = [];
  const frame = await runClient('127.0.0.1', 1, (s) => logs.push(s));
  assert.equal(frame, null);
  assert.match(logs[0] ?? '', /^ERROR: Failed to create connection with '127\.0\.0\.1':1$/);
  assert.match(logs[1] ?? '', /^ERROR: Found error message: 421: .*(ECONNREFUSED|Connection refused)/); // Node and Bun; Deno
});

test('npm start program: listener and client exchange on 127.0.0.1', () => {
  const start = fileURLToPath(new URL('../examples/start.js', import.meta.url));
  const r = spawnSync(process.execPath, [start], { encoding: 'utf8', timeout: 30_000 });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /\[listener\] Frame content received: This is a test/);
  assert.match(r.stdout, /\[client\] {3}Frame content: This is a test/);
  assert.match(r.stdout, /session released cleanly/);
});

test('npm start -- --tls: the same exchange after TLS on the same connection', () => {
  const start = fileURLToPath(new URL('../examples/start.js', import.meta.url));
  const r = spawnSync(process.execPath, [start, '--tls'], { encoding: 'utf8', timeout: 30_000 });
  assert.equal(r.status, 0, r.stderr + r.stdout);
  assert.match(
    r.stdout,
    lacks('tls-peer-certificate') ? /TLS up \(enabled\), peer certificate undefined/ : /TLS up \(enabled\), peer certificate [0-9A-F:]{95}/,
  );
  assert.match(r.stdout, /\[client\] {3}Frame content: This is a test over TLS/);
  assert.match(r.stdout, /session released cleanly/);
});
