// Every reference to a Node global in a bundle, found by esbuild itself: `define` renames free
// identifiers only (not properties, strings or locals), so each marker left in the output is a
// real reference, attributed to the module whose `// path` comment precedes it.
import { build, type BuildOptions } from 'esbuild';

/** Globals that exist in Node and not in Web runtimes. */
export const NODE_GLOBALS = ['Buffer', 'process', 'global', 'setImmediate', 'clearImmediate', '__dirname', '__filename'] as const;

/** One free reference to a Node global. */
export interface GlobalUse {
  /** Bundled module (path relative to the working directory). */
  module: string;
  /** The global's name. */
  name: string;
  /** Whether it is the operand of `typeof` (a feature test, safe without the global). */
  typeofOnly: boolean;
  /** The output line, for the failure message. */
  line: string;
}

const marker = (name: string): string => `__node_global_${name}__`;

/** Bundles with `options` (write: false) and lists the free references to NODE_GLOBALS. */
export async function nodeGlobalUses(options: BuildOptions): Promise<GlobalUse[]> {
  const define = Object.fromEntries(NODE_GLOBALS.map((n) => [n, marker(n)]));
  const r = await build({ ...options, minify: false, define: { ...options.define, ...define } });
  const uses: GlobalUse[] = [];
  let module = '?';
  const find = /(typeof\s+)?__node_global_(\w+?)__/g;
  for (const line of r.outputFiles![0]!.text.split('\n')) {
    const path = /^\s*\/\/ (\S+\.[cm]?[jt]s)$/.exec(line);
    if (path !== null) module = path[1]!; // groups that are not optional are set on a match
    for (const m of line.matchAll(find)) uses.push({ module, name: m[2]!, typeofOnly: m[1] !== undefined, line });
  }
  return uses;
}
