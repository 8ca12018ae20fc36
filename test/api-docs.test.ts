// The API reference (`npm run docs`, tools/typedoc/typedoc.json) covers every code entry of the
// package: an entry added to package.json "exports" without a typedoc entry point would be
// published undocumented while `npm run docs` still passed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';

const ROOT = new URL('../../', import.meta.url); // dist/test/ -> the repository

/** Reads a JSON file that may hold whole-line `//` comments (typedoc.json does). */
function readJsonc(path: string): unknown {
  const text = readFileSync(new URL(path, ROOT), 'utf8');
  return JSON.parse(
    text
      .split('\n')
      .filter((l) => !l.trimStart().startsWith('//'))
      .join('\n'),
  );
}

test('typedoc documents exactly the package entries that have declarations in dist/src', () => {
  const pkg = readJsonc('package.json') as { exports: Record<string, string | { types?: string }> };
  const config = readJsonc('tools/typedoc/typedoc.json') as { entryPoints: string[] };
  const fromExports = Object.values(pkg.exports)
    .map((e) => (typeof e === 'string' ? undefined : e.types))
    .filter((t): t is string => t?.startsWith('./dist/src/') === true)
    .map((t) => t.replace('./dist/src/', 'src/').replace(/\.d\.ts$/, '.ts'))
    .sort();
  const documented = config.entryPoints.map((p) => p.replace(/^\.\.\/\.\.\//, '')).sort();
  assert.deepEqual(documented, fromExports);
  assert.deepEqual(fromExports, ['src/codec/index.ts', 'src/index.ts', 'src/tls/certs.ts']);
});
