// Runs every compiled test file under dist/ with node's test runner (Node 20 has no --test
// globs). Extra arguments are passed through (e.g. --test-name-pattern).
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';

const roots = ['dist/src', 'dist/test'];
const files = [];
const walk = (dir) => {
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p);
    else if (name.endsWith('.test.js')) files.push(p);
  }
};
for (const r of roots) { try { walk(r); } catch { /* no such root */ } }
if (files.length === 0) { console.error('no test files found under dist/'); process.exit(1); }
// No single test may take more than 2 minutes. (--test-force-exit is not used: under
// concurrency it ended a file before its last tests were reported, which hides tests.)
const r = spawnSync(process.execPath, ['--test', '--test-concurrency=2', '--test-timeout=120000', ...process.argv.slice(2), ...files], { stdio: 'inherit' });
process.exit(r.status ?? 1);
