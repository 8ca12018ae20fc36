// Issue 10: the portable entries' declarations compile for a consumer without @types/node
// (`types: []`, lib es2022 + dom, skipLibCheck off so errors inside our .d.ts count). The
// consumer sits in a temporary directory and imports the package by name through a
// node_modules symlink, so resolution goes through package.json's exports as it would after
// `npm install`. TypeScript 7 has no stable programmatic API: its tsc runs as a child process.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { ROOT } from './bundler.js';

const TSC = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');

/** Type-checks `source` as a consumer; returns tsc's errors (paths relative to the repository) and any @types/node file it loaded. */
function typecheck(source: string): { errors: string[]; nodeTypes: string[] } {
  const dir = mkdtempSync(join(tmpdir(), 'beepwire-types-'));
  try {
    mkdirSync(join(dir, 'node_modules'));
    symlinkSync(ROOT, join(dir, 'node_modules', 'beepwire'), 'dir');
    writeFileSync(join(dir, 'consumer.ts'), source);
    writeFileSync(
      join(dir, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          target: 'es2022',
          module: 'nodenext',
          moduleResolution: 'nodenext',
          lib: ['es2022', 'dom'],
          types: [],
          strict: true,
          noEmit: true,
          skipLibCheck: false,
        },
        files: ['consumer.ts'],
      }),
    );
    const r = spawnSync(process.execPath, [TSC, '-p', join(dir, 'tsconfig.json'), '--listFiles'], { cwd: ROOT, encoding: 'utf8' });
    const lines = `${r.stdout}\n${r.stderr}`.split('\n');
    // --listFiles prints absolute paths; diagnostics start with the file (relative to cwd).
    const errors = lines.filter((l) => /error TS\d+/.test(l));
    assert.ok(errors.length > 0 || r.status === 0, `tsc failed without a diagnostic:\n${r.stdout}${r.stderr}`);
    return { errors, nodeTypes: lines.filter((l) => /[\\/]@types[\\/]node[\\/]/.test(l)) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('types: beepwire/codec and beepwire/codec.wasm compile without @types/node', () => {
  const r = typecheck(`import wasm from 'beepwire/codec.wasm';
import { loadCodec, createCodec, type CodecModule, type SessionCodec } from 'beepwire/codec';
const module: WebAssembly.Module = wasm;
const codec: CodecModule = loadCodec(module);
const session: SessionCodec = createCodec();
export { codec, session };
`);
  assert.deepEqual(r.errors, []);
  assert.deepEqual(r.nodeTypes, []);
});

test('types: the main entry compiles without @types/node', () => {
  const r = typecheck(`import { Ctx, Connection, Channel, Session, BeepError, registerProfile, tls, sasl, alive, tunnel, xmlrpc,
  type SessionIO, type ProfileHandlers } from 'beepwire';
const ctx = new Ctx();
const handlers: ProfileHandlers = {};
registerProfile(ctx, 'http://example.org/beep/echo', handlers);
export type IO = SessionIO;
export const names = [Connection, Channel, Session, BeepError, tls, sasl, alive, tunnel, xmlrpc];
`);
  assert.deepEqual(r.errors, []);
  assert.deepEqual(r.nodeTypes, []);
});
