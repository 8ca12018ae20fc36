// The runtimes of the matrix: pinned versions (scripts/runtimes.mjs sets them), installation from
// npm into .runtimes/ (kept out of package.json: ~350 MB), and how each runs an entry point.
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { versions as pinned, ensureRuntimes as installPinned } from '../runtimes.mjs';

/** Repository root. */
export const ROOT = new URL('../..', import.meta.url).pathname;

/** npm packages and versions of the runtimes besides the Node running this script (set in scripts/runtimes.mjs). */
export const PINS = pinned;

/** Where the runtimes are installed (git-ignored). */
export const PREFIX = join(ROOT, '.runtimes');

/** Runtimes that run the client scenarios, in table order. */
export const CLIENTS = ['node', 'bun', 'deno', 'workerd'];

/** Runtimes that can listen (workerd cannot; the run asks it and records its answer). */
export const LISTENERS = ['node', 'bun', 'deno'];

/**
 * Runtimes beepwire offers a BEEP over WebSocket listener on (createListener's `websocket`:
 * `ws` behind node:http). The others are asked too; their answer is recorded, and a refusal is
 * not a failure. One that listens after all is run against like these.
 */
export const WS_LISTENERS = ['node', 'bun'];

/** Path of an installed runtime's binary. */
export function bin(name) {
  return join(PREFIX, 'node_modules', '.bin', name);
}

/** Installs the pinned runtimes into .runtimes/ unless they are there already. */
export function ensureRuntimes() {
  installPinned();
}

/** Environment of every runtime process: no update checks, no telemetry (the run stays on 127.0.0.1). */
export const ENV = { DENO_NO_UPDATE_CHECK: '1', DO_NOT_TRACK: '1', NO_COLOR: '1' };

/**
 * Command line running a compiled entry point of dist/test/runtimes under `runtime`. Deno runs
 * a file inside the project (so it finds package.json and node_modules), network limited to
 * 127.0.0.1, and never writes a lockfile into the repository.
 */
export function command(runtime, entry, args) {
  const file = join(ROOT, 'dist', 'test', 'runtimes', entry);
  switch (runtime) {
    case 'node':
      return [process.execPath, [file, ...args]];
    case 'bun':
      return [bin('bun'), [file, ...args]];
    case 'deno':
      return [bin('deno'), ['run', '--no-lock', '--allow-net=127.0.0.1', '--allow-read', '--allow-env', file, ...args]];
    default:
      throw new Error(`no command line for ${runtime}`);
  }
}

/** Version strings of every runtime (the binaries' own answers). */
export function versions() {
  const ask = (cmd, args) => {
    const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 30_000, env: { ...process.env, ...ENV } });
    return (r.stdout ?? '').split('\n')[0].trim() || `unknown (${r.error?.message ?? r.stderr?.trim()})`;
  };
  return {
    node: process.version,
    bun: ask(bin('bun'), ['--version']),
    deno: ask(bin('deno'), ['--version']),
    workerd: `${ask(bin('workerd'), ['--version'])} (npm workerd@${PINS.workerd})`,
  };
}
