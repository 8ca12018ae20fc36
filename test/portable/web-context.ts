// A vm context holding only Web platform globals, to run a bundle as workerd or a browser would
// (no Buffer, process, global, require, setImmediate): an allowlist, so a Node global the code
// reaches for is a ReferenceError here rather than a silent success.
import vm from 'node:vm';
import { transform } from 'esbuild';

/** The globals a Web runtime has and the context receives (the context brings its own JS builtins and WebAssembly). */
export const WEB_GLOBALS = [
  'TextEncoder',
  'TextDecoder',
  'crypto',
  'queueMicrotask',
  'setTimeout',
  'clearTimeout',
  'setInterval',
  'clearInterval',
  'atob',
  'btoa',
  'URL',
  'console',
  'ReadableStream',
  'WritableStream',
] as const;

/**
 * A fresh context with WEB_GLOBALS from this process, and `self` (browsers, workers and workerd
 * define it) as the context's global. `workerd: true` forbids code generation as workerd does:
 * compiling wasm from bytes and eval/new Function throw (a compiled `WebAssembly.Module` still
 * instantiates).
 */
export function webContext(opts: { workerd?: boolean } = {}): vm.Context {
  const g: Record<string, unknown> = {};
  for (const name of WEB_GLOBALS) g[name] = (globalThis as Record<string, unknown>)[name];
  const allow = opts.workerd !== true;
  const ctx = vm.createContext(g, { codeGeneration: { strings: allow, wasm: allow } });
  vm.runInContext('globalThis.self = globalThis;', ctx);
  return ctx;
}

/**
 * Evaluates an ES module bundle (no imports of its own) in `ctx` and returns its exports. The
 * ESM text is rewritten to a script by esbuild (only its export statement changes), because
 * vm.SourceTextModule needs --experimental-vm-modules.
 */
export async function evaluateBundle(esm: string, ctx: vm.Context): Promise<Record<string, unknown>> {
  const { code } = await transform(esm, { format: 'iife', globalName: '__bundle', target: 'es2022' });
  vm.runInContext(code, ctx, { filename: 'bundle.js' }); // a top-level var becomes a global
  return ctx.__bundle as Record<string, unknown>;
}
