// The pinned versions of the other runtimes the suite runs on, and their installer. They come
// from npm into .runtimes/ (gitignored), never into package.json: `npm ci` stays Node-only.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawnSync } from 'node:child_process';

/** npm package versions of each runtime (the package is named like the runtime). */
export const versions = { deno: '2.9.6', bun: '1.4.5', workerd: '1.20261117.1' };

/** Where the runtimes are installed (repository root/.runtimes). */
export const runtimesDir = fileURLToPath(new URL('../.runtimes', import.meta.url));

const installed = (name) => {
  try {
    return JSON.parse(readFileSync(join(runtimesDir, 'node_modules', name, 'package.json'), 'utf8')).version;
  } catch {
    return undefined;
  }
};

/** Installs the pinned versions of `names` that are missing or differ; returns each one's binary path. */
export function ensureRuntimes(names = Object.keys(versions)) {
  for (const n of names) if (!(n in versions)) throw new Error(`unknown runtime ${n} (known: ${Object.keys(versions).join(', ')})`);
  const missing = names.filter((n) => installed(n) !== versions[n]);
  if (missing.length > 0) {
    mkdirSync(runtimesDir, { recursive: true });
    const pkg = join(runtimesDir, 'package.json');
    if (!existsSync(pkg)) writeFileSync(pkg, '{"private":true}\n');
    const specs = missing.map((n) => `${n}@${versions[n]}`);
    console.error(`installing ${specs.join(' ')} into ${runtimesDir}`);
    const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
    const r = spawnSync(npm, ['install', '--no-audit', '--no-fund', ...specs], {
      cwd: runtimesDir,
      stdio: ['ignore', 'inherit', 'inherit'],
    });
    if (r.status !== 0) throw new Error(`npm install ${specs.join(' ')} failed (exit ${r.status})`);
  }
  return Object.fromEntries(names.map((n) => [n, join(runtimesDir, 'node_modules', '.bin', n)]));
}
