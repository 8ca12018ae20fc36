// The seam holds (issue 10): no module of src/ names a `node:` module except the runtime
// adapters (src/transport/) and the Node command line (src/cli/, a Node program by nature).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const SRC = fileURLToPath(new URL('../../../src/', import.meta.url));
const ALLOWED = ['transport/', 'cli/'];

/** Every non-test .ts file under src/, relative to it. */
function sources(dir = SRC, rel = ''): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...sources(p, `${rel}${name}/`));
    else if (name.endsWith('.ts') && !name.endsWith('.test.ts')) out.push(`${rel}${name}`);
  }
  return out;
}

test('portable: only src/transport/ and src/cli/ name node: modules (static, type-only or computed imports)', () => {
  const offenders: string[] = [];
  for (const f of sources()) {
    if (ALLOWED.some((a) => f.startsWith(a))) continue;
    readFileSync(join(SRC, f), 'utf8')
      .split('\n')
      .forEach((line, i) => {
        const code = line.replace(/\/\/.*$/, '').replace(/^\s*\*.*$/, '');
        if (/['"`]node:[a-z/_]+['"`]/.test(code)) offenders.push(`src/${f}:${i + 1}: ${line.trim()}`);
      });
  }
  assert.ok(sources().length > 40, 'the walk found the sources');
  assert.deepEqual(offenders, []);
});

test('portable: no profile module reads conn.session or a string-keyed tuning map', () => {
  const offenders: string[] = [];
  for (const f of sources()) {
    if (!/^(tls|sasl|tunnel|alive|xmlrpc)\//.test(f)) continue;
    readFileSync(join(SRC, f), 'utf8')
      .split('\n')
      .forEach((line, i) => {
        const code = line.replace(/\/\/.*$/, '').replace(/^\s*\*.*$/, '');
        if (/\.session\b|\.tuning\b|\.io\b/.test(code)) offenders.push(`src/${f}:${i + 1}: ${line.trim()}`);
      });
  }
  assert.deepEqual(offenders, []);
});
