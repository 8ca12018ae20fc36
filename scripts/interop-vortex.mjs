// npm run interop:vortex — runs LibVortex's C vortex-regression-client against beepwire's
// regression listener, one test per run, and prints a pass/fail table keyed on the
// "INFO: [end] test_XX" / "INFO: [failed] test_XX" markers (the exit status and the final
// "All test ok" line are not reliable: an unknown test name still prints it).
// Needs VORTEX_TEST_DIR = a built LibVortex test/ directory. Options (env):
//   VORTEX_TESTS=test_01,test_02   only these     VORTEX_AGAINST=c   run against the C listener
//   VORTEX_OFFSET=700              port offset     VORTEX_TIMEOUT=120  seconds per test
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, openSync } from 'node:fs';
import { join } from 'node:path';

const dir = process.env.VORTEX_TEST_DIR;
if (!dir || !existsSync(join(dir, 'vortex-regression-client'))) {
  console.log('interop:vortex skipped: set VORTEX_TEST_DIR to a built LibVortex test/ directory');
  process.exit(0);
}
const offset = Number(process.env.VORTEX_OFFSET ?? 700);
const timeout = Number(process.env.VORTEX_TIMEOUT ?? 120) * 1000;
const against = process.env.VORTEX_AGAINST === 'c' ? 'c' : 'beepwire';
const src = readFileSync(join(dir, 'vortex-regression-client.c'), 'utf8');
const all = [...src.matchAll(/check_and_run_test \(run_test_name, "(test_[0-9a-z_]+)"/g)].map((m) => m[1]);
const tests = process.env.VORTEX_TESTS ? process.env.VORTEX_TESTS.split(',') : all;

function startListener() {
  const args =
    against === 'c'
      ? [join(dir, 'vortex-regression-listener'), [`--offset-port=${offset}`], { cwd: dir }]
      : [
          process.execPath,
          [new URL('../dist/test/interop/regression-listener.js', import.meta.url).pathname, `--offset-port=${offset}`],
          { cwd: dir },
        ];
  // Both listeners run in the suite's test/ directory: the /5 profile serves files by relative name.
  // The listener's stderr goes to VORTEX_LISTENER_LOG (if set) for diagnosis.
  const log = process.env.VORTEX_LISTENER_LOG ? openSync(process.env.VORTEX_LISTENER_LOG, 'a') : 'ignore';
  const p = spawn(args[0], args[1], { ...args[2], stdio: ['ignore', 'ignore', log] });
  return p;
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const results = [];
let listener = startListener();
await sleep(1500);
for (const t of tests) {
  if (listener.exitCode !== null) {
    listener = startListener();
    await sleep(1500);
  }
  const t0 = Date.now();
  const r = spawnSync(join(dir, 'vortex-regression-client'), [`--offset-port=${offset}`, `--run-test=${t}`, '127.0.0.1'], {
    cwd: dir,
    encoding: 'utf8',
    timeout,
    env: process.env,
  });
  const out = `${r.stdout ?? ''}${r.stderr ?? ''}`;
  const verdict = out.includes(`INFO: [end] ${t}`)
    ? 'pass'
    : out.includes(`INFO: [failed] ${t}`)
      ? 'FAIL'
      : r.error
        ? 'TIMEOUT'
        : 'FAIL (no marker)';
  const warn = /--- WARNING|no support for|doing nothing|skipping/i.test(out) ? 'self-skipped (module not built into the C client)' : '';
  // The first diagnostic the client printed (its banner lines start with "**").
  const diag = out
    .split('\n')
    .filter((l) => !l.startsWith('**') && !l.startsWith('INFO:') && /ERROR|error|fail|Expected|Unable|timeout/i.test(l));
  const why = verdict === 'pass' ? warn : (diag[0] ?? '').trim().slice(0, 110);
  results.push({ test: t, result: verdict, secs: ((Date.now() - t0) / 1000).toFixed(1), note: why });
  console.log(`${t.padEnd(10)} ${verdict.padEnd(16)} ${why}`);
}
listener.kill('SIGTERM');
const pass = results.filter((r) => r.result === 'pass').length;
console.log(`\nC vortex-regression-client against the ${against} listener (offset ${offset}):`);
console.table(results);
console.log(`${pass} passed, ${results.length - pass} failed`);
