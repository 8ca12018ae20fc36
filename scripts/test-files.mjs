// The compiled test files (dist/**/*.test.js), shared by the Node runner and the Bun/Deno runner.
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

/** Every *.test.js under dist/src and dist/test, sorted, as relative paths. */
export function testFiles(roots = ['dist/src', 'dist/test']) {
  const files = [];
  const walk = (dir) => {
    for (const name of readdirSync(dir).sort()) {
      const p = join(dir, name);
      if (statSync(p).isDirectory()) walk(p);
      else if (name.endsWith('.test.js')) files.push(p);
    }
  };
  for (const r of roots) {
    try {
      walk(r);
    } catch {
      /* no such root */
    }
  }
  return files;
}
