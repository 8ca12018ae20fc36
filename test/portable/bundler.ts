// esbuild browser bundles of built entries, and the checks every portable bundle must pass: no
// Node built-in, no host require, Node globals only where reviewed.
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { build, type BuildOptions, type Metafile } from 'esbuild';
import { nodeGlobalUses } from './free-globals.js';

/** The repository root (tests run from dist/test/portable). */
export const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

/** A browser bundle: what a workerd (wrangler) or browser build of the entry contains. */
export interface Bundle {
  /** The options it was built with (for a second, instrumented build). */
  options: BuildOptions;
  /** Output text (ES module, not minified). */
  text: string;
  /** esbuild's metafile. */
  metafile: Metafile;
  /** esbuild's warnings as `file: text`. */
  warnings: string[];
}

/**
 * Node globals a bundle may name outside `typeof`, by module, each reviewed as unreachable
 * without Node. A new entry needs the same review: the vm tests only cover the paths they run.
 */
export const REVIEWED: Record<string, { names: string[]; why: string }> = {
  'node_modules/node-forge/lib/util.js': {
    names: ['Buffer', 'process', 'setImmediate', 'global'],
    why: 'each behind `typeof X !==` on the same or the enclosing line; `global` only when process.versions.node is set',
  },
  'node_modules/node-forge/lib/baseN.js': { names: ['Buffer'], why: 'inside `if (typeof Buffer !== "undefined")`' },
  'dist/src/transport/node.js': {
    names: ['setImmediate', 'Buffer'],
    why: 'the node:net adapter: select.ts picks it only on Node, Bun and Deno (all have setImmediate), after node:net loaded; its arena is a Buffer behind `typeof Buffer` (a Uint8Array without one)',
  },
};

/** Bundles `entry` (a built file relative to ROOT, or module text) for the browser; a failed build fails the test with esbuild's messages. */
export async function browserBundle(entry: string | { contents: string }, extra: BuildOptions = {}): Promise<Bundle> {
  const options: BuildOptions = {
    ...(typeof entry === 'string' ? { entryPoints: [entry] } : { stdin: { contents: entry.contents, resolveDir: ROOT, loader: 'js' } }),
    absWorkingDir: ROOT,
    bundle: true,
    platform: 'browser',
    format: 'esm',
    target: 'es2022',
    write: false,
    metafile: true,
    logLevel: 'silent',
    ...extra,
  };
  try {
    const r = await build(options);
    const warnings = r.warnings.map((w) => `${w.location?.file ?? '?'}: ${w.text}`);
    return { options, text: r.outputFiles![0]!.text, metafile: r.metafile!, warnings };
  } catch (e) {
    const errors = (e as { errors?: { text: string; location: { file: string } | null }[] }).errors ?? [];
    const list = errors.map((x) => `  ${x.location?.file ?? '?'}: ${x.text}`).join('\n');
    assert.fail(`esbuild could not bundle ${typeof entry === 'string' ? entry : 'the test entry'} for the browser:\n${list || String(e)}`);
  }
}

/** Fails if the bundle needs the host's module system: a Node built-in, an external import or a runtime require. */
export function assertSelfContained(b: Bundle): void {
  // esbuild leaves a require it cannot resolve (inside try/catch) as a warning and a call to
  // its __require helper, which throws "Dynamic require of ..." without a host require.
  assert.deepEqual(b.warnings, []);
  assert.ok(!b.text.includes('Dynamic require of'), "the bundle calls the host's require");
  const external = Object.entries(b.metafile.inputs).flatMap(([file, i]) =>
    i.imports.filter((m) => m.external).map((m) => `${file} -> ${m.path}`),
  );
  assert.deepEqual(external, [], 'imports left external');
  assert.deepEqual(b.text.match(/(?:\bfrom\s*|\bimport\s*\(\s*|\brequire\s*\(\s*)["'`]node:[^"'`]+["'`]/g) ?? [], []);
}

/** Fails on a Node global named outside `typeof` in a module REVIEWED does not list for it. */
export async function assertNodeGlobalsReviewed(b: Bundle): Promise<void> {
  const uses = await nodeGlobalUses(b.options);
  const unreviewed = uses.filter((u) => !u.typeofOnly && !(REVIEWED[u.module]?.names.includes(u.name) ?? false));
  assert.deepEqual(
    unreviewed.map((u) => `${u.module}: ${u.name}: ${u.line.trim().slice(0, 160)}`),
    [],
  );
}

/** Minified size in KiB, for the test's diagnostics. */
export async function minifiedKiB(entry: string): Promise<number> {
  const { text } = await browserBundle(entry, { minify: true });
  return Math.round(text.length / 1024);
}
