// Runs the compiled suite (dist/**/*.test.js, node:test files) under Bun's or Deno's own test
// runner: `node scripts/run-tests-runtime.mjs bun|deno [--concurrency=N] [path-substring…]`.
// Each file runs in its own process (as `node --test` does), so one file's listeners, process
// hooks or crash never reach another, and a hung file is killed without losing the others.
// Files that cannot run there for a reason outside beepwire are listed in ./runtime-excluded.mjs
// and reported as skipped, never as passed.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir, cpus } from 'node:os';
import { join } from 'node:path';
import { testFiles } from './test-files.mjs';
import { ensureRuntimes } from './runtimes.mjs';
import { excluded } from './runtime-excluded.mjs';

/** Longest a single test may take (as `npm test`: --test-timeout=120000). */
const TEST_TIMEOUT_MS = 120_000;
/** Longest a whole file may take before its process is killed and the file counted as failed. */
const FILE_TIMEOUT_MS = 300_000;

const args = process.argv.slice(2);
const runtime = args.shift();
if (runtime !== 'bun' && runtime !== 'deno') {
  console.error('usage: node scripts/run-tests-runtime.mjs bun|deno [--concurrency=N] [path-substring…]');
  process.exit(2);
}
let concurrency = Math.max(1, Math.min(2, cpus().length));
const filters = [];
for (const a of args) {
  if (a.startsWith('--concurrency=')) concurrency = Number(a.slice(14)) || 1;
  else filters.push(a);
}

// Each file runs in a process group of its own (a runtime may spawn helpers, and a test may
// spawn programs): a kill reaches all of it. Groups do not get the terminal's Ctrl-C, so we pass it on.
const running = new Set();
const killGroup = (pid) => {
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    /* gone */
  }
};
for (const sig of ['SIGINT', 'SIGTERM'])
  process.on(sig, () => {
    for (const pid of running) killGroup(pid);
    process.exit(130);
  });

/** Runs `cmd` and resolves with its combined output, exit code and whether it was killed for time. */
function run(cmd, argv) {
  return new Promise((resolve) => {
    const child = spawn(cmd, argv, { env: { ...process.env, NO_COLOR: '1' }, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    running.add(child.pid);
    let out = '',
      timedOut = false;
    child.stdout.on('data', (d) => {
      out += d;
    });
    child.stderr.on('data', (d) => {
      out += d;
    });
    const timer = setTimeout(() => {
      timedOut = true;
      killGroup(child.pid);
    }, FILE_TIMEOUT_MS);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      running.delete(child.pid);
      resolve({ out, code: code ?? (signal ? 128 : 1), timedOut });
    });
  });
}

async function output(cmd, argv) {
  return (await run(cmd, argv)).out.trim().split('\n')[0];
}

/** Bun: the summary it prints after the file (" 12 pass", " 1 fail", " 2 skip"; " 3 errors" are within the fails). */
function bunCounts(out) {
  const n = (re) => {
    const m = [...out.matchAll(re)].pop();
    return m ? Number(m[1]) : 0;
  };
  // Bun lists each failure twice (in place and in the summary).
  const failed = [...new Set([...out.matchAll(/^\(fail\) (.*?)(?: \[[\d.]+m?s\])?$/gm)].map((m) => m[1]))];
  const errors = n(/^\s*(\d+) errors?$/gm);
  if (errors > 0) failed.push(`${errors} unhandled error(s) between tests`);
  const skipped = [...out.matchAll(/^\((?:skip|todo)\) (.*?)(?: \[[\d.]+m?s\])?$/gm)].map((m) => m[1]);
  return { pass: n(/^\s*(\d+) pass$/gm), fail: n(/^\s*(\d+) fail$/gm), skip: n(/^\s*(\d+) (?:skip|todo)$/gm), failed, skipped };
}

/**
 * Deno: test cases from its JUnit report. node:test suites become tests with steps, named
 * "suite > test": a case that another case's name extends is a suite and is not counted.
 */
function denoCounts(xml) {
  const unxml = (s) =>
    s
      .replace(/&lt;/g, '<')
      .replace(/&gt;/g, '>')
      .replace(/&quot;/g, '"')
      .replace(/&apos;/g, "'")
      .replace(/&amp;/g, '&');
  const cases = [...xml.matchAll(/<testcase name="([^"]*)"[^>]*?(\/>|>([\s\S]*?)<\/testcase>)/g)].map((m) => ({
    name: unxml(m[1]),
    body: m[3] ?? '',
  }));
  const names = cases.map((c) => c.name);
  const leaves = cases.filter((c) => !names.some((n) => n.startsWith(`${c.name} > `)));
  const failed = leaves.filter((c) => /<failure|<error/.test(c.body)).map((c) => c.name);
  const skipped = leaves.filter((c) => /<skipped/.test(c.body)).map((c) => c.name);
  return { pass: leaves.length - failed.length - skipped.length, fail: failed.length, skip: skipped.length, failed, skipped };
}

/** Runs one file; its counts, failures and output. */
async function runFile(file, i) {
  const t0 = Date.now();
  let r, c;
  if (runtime === 'bun') {
    r = await run(bin, ['test', `--timeout=${TEST_TIMEOUT_MS}`, `./${file}`]);
    c = bunCounts(r.out);
  } else {
    const junit = join(tmp, `${i}.xml`);
    r = await run(bin, ['test', '-A', '--no-check', `--junit-path=${junit}`, file]);
    let xml = '';
    try {
      xml = readFileSync(junit, 'utf8');
    } catch {
      /* the run died before writing it */
    }
    c = denoCounts(xml);
  }
  // A file whose process failed with nothing failed in it (a crash, a load error, a kill) counts once.
  if (r.timedOut) c.failed.push(`file killed after ${FILE_TIMEOUT_MS / 1000} s`);
  if ((r.code !== 0 || r.timedOut) && c.fail === 0) {
    c.fail = 1;
    if (!r.timedOut) c.failed.push(`process exited ${r.code} with no failed test reported`);
  }
  // Tests declared skipped for a limit of this runtime (test/runtime-limits.ts) print "name — reason".
  const reasons = [...r.out.matchAll(/^# runtime skip: (.*?) — (.*)$/gm)].map((m) => ({ name: m[1], why: m[2] }));
  return { file, ...c, reasons, ok: r.code === 0 && !r.timedOut && c.fail === 0, out: r.out, ms: Date.now() - t0 };
}

const bin = ensureRuntimes([runtime])[runtime];
const version = (await output(bin, ['--version'])).replace(/^deno /, '');
const all = testFiles().filter((f) => filters.length === 0 || filters.some((s) => f.includes(s)));
if (all.length === 0) {
  console.error('no test files found under dist/ (run npm run build)');
  process.exit(1);
}
const skipped = all.filter((f) => excluded[runtime][f] !== undefined);
const files = all.filter((f) => excluded[runtime][f] === undefined);
const tmp = mkdtempSync(join(tmpdir(), `beepwire-${runtime}-`));

const t0 = Date.now();
console.log(`${runtime} ${version}: ${files.length} files, ${concurrency} at a time`);
const results = [];
let next = 0;
await Promise.all(
  Array.from({ length: concurrency }, async () => {
    while (next < files.length) {
      const i = next++;
      const res = await runFile(files[i], i);
      results[i] = res;
      console.log(
        `${res.ok ? 'ok  ' : 'FAIL'} ${res.file}: ${res.pass} passed, ${res.fail} failed, ${res.skip} skipped (${(res.ms / 1000).toFixed(1)} s)`,
      );
    }
  }),
);
rmSync(tmp, { recursive: true, force: true });
const wall = (Date.now() - t0) / 1000;

const bad = results.filter((r) => !r.ok);
for (const r of bad) {
  console.log(`\n---- ${r.file} (${runtime}) ----\n${r.out.trimEnd()}\n---- failed in ${r.file}:`);
  for (const f of r.failed) console.log(`  ${f}`);
}
const sum = (k) => results.reduce((s, r) => s + r[k], 0);
console.log('');
for (const f of skipped) console.log(`skipped: ${f} — ${excluded[runtime][f]}`);
for (const r of results) {
  for (const { name, why } of r.reasons) console.log(`skipped: ${r.file} > ${name} — ${why}`);
  // Skipped by the test's own condition (e.g. a reference peer that is not installed). Runners
  // prefix a suite's name ("suite > test"); the printed reason has the test's name only.
  const explained = (n) => r.reasons.some((x) => n === x.name || n.endsWith(` > ${x.name}`));
  for (const n of r.skipped)
    if (!explained(n)) console.log(`skipped: ${r.file} > ${n} — declared skipped by the test (see its skip option)`);
}
console.log(
  `${runtime} ${version}: ${sum('pass')} passed, ${sum('fail')} failed, ${sum('skip')} skipped tests; ` +
    `${files.length - bad.length}/${files.length} files ok, ${skipped.length} files skipped; ${wall.toFixed(1)} s wall`,
);
process.exit(bad.length === 0 ? 0 : 1);
