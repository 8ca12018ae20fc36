// What `npm pack` would publish: no test files, every source map's sources present, every
// `sourceMappingURL` pointing at a packed map, and the exports map's targets packed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join, normalize } from 'node:path';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

test('package: the tarball has no tests, no dangling source maps, and every export target', () => {
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  const out = execFileSync(npm, ['pack', '--dry-run', '--json', '--ignore-scripts'], {
    cwd: ROOT,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  const files = new Set((JSON.parse(out) as Array<{ files: Array<{ path: string }> }>)[0]!.files.map((f) => f.path));
  assert.ok(files.size > 50, `${files.size} files`);
  assert.deepEqual(
    [...files].filter((f) => /\.test\.|^test\//.test(f)),
    [],
    'no test files',
  );
  const problems: string[] = [];
  for (const f of files) {
    if (f.endsWith('.js')) {
      const m = /\/\/# sourceMappingURL=(\S+)\s*$/.exec(readFileSync(join(ROOT, f), 'utf8'));
      if (m !== null && !files.has(normalize(join(dirname(f), m[1]!)))) problems.push(`${f}: map ${m[1]} not packed`);
    }
    if (f.endsWith('.map')) {
      const map = JSON.parse(readFileSync(join(ROOT, f), 'utf8')) as { sources: string[] };
      for (const s of map.sources) if (!files.has(normalize(join(dirname(f), s)))) problems.push(`${f}: source ${s} not packed`);
    }
  }
  assert.deepEqual(problems, []);
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
    exports: Record<string, string | Record<string, string>>;
    bin: Record<string, string>;
  };
  const targets = Object.values(pkg.exports).flatMap((v) => (typeof v === 'string' ? [v] : Object.values(v)));
  for (const t of [...targets, ...Object.values(pkg.bin)]) assert.ok(files.has(normalize(t)), `${t} is packed`);
});
