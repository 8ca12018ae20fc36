// Runs every compiled test file under dist/ with node's test runner (Node 20 has no --test
// globs). Extra arguments are passed through (e.g. --test-name-pattern).
import { spawnSync } from 'node:child_process';
import { testFiles } from './test-files.mjs';

const files = testFiles();
if (files.length === 0) {
  console.error('no test files found under dist/');
  process.exit(1);
}
// No single test may take more than 2 minutes. (--test-force-exit is not used: under
// concurrency it ended a file before its last tests were reported, which hides tests.)
const r = spawnSync(process.execPath, ['--test', '--test-concurrency=2', '--test-timeout=120000', ...process.argv.slice(2), ...files], {
  stdio: 'inherit',
});
process.exit(r.status ?? 1);
