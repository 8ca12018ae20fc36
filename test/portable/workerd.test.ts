// workerd compiles no wasm from bytes (nor code from strings): a Worker imports the codec as a
// module, `import wasm from 'beepwire/codec.wasm'`, and calls `loadCodec(wasm)` before anything
// else. Simulated with a Web-globals context whose code generation is off; the import is
// resolved through package.json's exports and stands for the module workerd would compile.
import assert from 'node:assert/strict';
import vm from 'node:vm';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Plugin } from 'esbuild';
import { ROOT, browserBundle, assertSelfContained } from './bundler.js';
import { webContext, evaluateBundle } from './web-context.js';
import { PAIR } from './pair-script.js';
import { testNeeding } from '../runtime-limits.js';

/** The file `beepwire/codec.wasm` names, compiled here as workerd compiles it at deploy time. */
function codecWasmModule(): WebAssembly.Module {
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
    exports: Record<string, { default: string; types: string }>;
  };
  const entry = pkg.exports['./codec.wasm'];
  assert.ok(entry, 'package.json exports ./codec.wasm');
  assert.equal(entry.types, './types/codec.wasm.d.ts');
  return new WebAssembly.Module(readFileSync(join(ROOT, entry.default)));
}

/** Resolves `beepwire/codec.wasm` to the module the test placed in the context (what workerd's module loader does). */
const wasmImport: Plugin = {
  name: 'workerd-wasm-module',
  setup(b) {
    b.onResolve({ filter: /^beepwire\/codec\.wasm$/ }, () => ({ path: 'codec.wasm', namespace: 'workerd-wasm' }));
    b.onLoad({ filter: /.*/, namespace: 'workerd-wasm' }, () => ({ contents: 'export default globalThis.__codecWasm;', loader: 'js' }));
  },
};

/** A Worker's module: the documented line first, then the entry's exports. */
const worker = (entry: string, load: boolean): string => `import wasm from 'beepwire/codec.wasm';
import { loadCodec } from './dist/src/codec/index.js';
${load ? 'loadCodec(wasm);' : ''}
export * from './${entry}';
export { loadCodec as loadCodecFromCodecEntry, wasm };
`;

async function run(entry: string, load: boolean): Promise<{ ctx: vm.Context; mod: Record<string, unknown> }> {
  const b = await browserBundle({ contents: worker(entry, load) }, { plugins: [wasmImport] });
  assertSelfContained(b);
  const ctx = webContext({ workerd: true });
  ctx.__codecWasm = codecWasmModule();
  assert.throws(
    () => vm.runInContext('new WebAssembly.Module(new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0]))', ctx),
    /disallowed/,
    'the context compiles no bytes',
  );
  return { ctx, mod: await evaluateBundle(b.text, ctx) };
}

testNeeding(
  'wasm-instance-without-codegen',
  'workerd: after loadCodec(wasm), the codec entry serves sessions and never compiles the embedded bytes',
  async () => {
    const { mod } = await run('dist/src/codec/index.js', true);
    const loadCodec = mod.loadCodec as (s?: unknown) => { exports: { sessionCount(): number } };
    const first = loadCodec();
    assert.equal(loadCodec(mod.wasm), first);
    const codec = (mod.createCodec as () => { dispose(): void })();
    assert.equal(first.exports.sessionCount(), 1);
    assert.equal((mod.codecUsage as () => { sessions: number })().sessions, 1);
    codec.dispose();
  },
);

testNeeding('wasm-instance-without-codegen', 'workerd: without loadCodec(wasm), the first codec use says which import to add', async () => {
  const { mod } = await run('dist/src/codec/index.js', false);
  assert.throws(
    () => (mod.createCodec as () => unknown)(),
    (e: Error & { code?: string }) => {
      assert.equal(e.code, 'BEEP_ERR_CODEC_LOAD');
      assert.match(e.message, /import wasm from 'beepwire\/codec\.wasm' and call loadCodec\(wasm\) first/);
      return true;
    },
  );
  // The failed attempt leaves nothing behind: the module still loads afterwards.
  const codec = (mod.loadCodec as (s: unknown) => { exports: { sessionCount(): number } })(mod.wasm);
  assert.equal(codec.exports.sessionCount(), 0);
});

testNeeding('wasm-instance-without-codegen', 'workerd: the main entry runs a session pair on the imported module', async () => {
  const { ctx, mod } = await run('dist/src/index.js', true);
  vm.runInContext(PAIR, ctx);
  assert.equal(await (ctx.runPair as (m: unknown) => Promise<string>)(mod), 'ping');
});
