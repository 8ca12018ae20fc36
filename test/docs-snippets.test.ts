// The code in README.md and docs/*.md, as written: every ```ts block is type-checked against
// the package (imported by name through a node_modules symlink, as after `npm install`), with
// the free names a fragment uses (ctx, conn, channel, ...) declared for it; a block that is a
// whole program (it imports from 'beepwire', makes its own context and ends with ctx.exit())
// is also compiled and run, and must exit 0 within 30 s.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const TSC = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');

/** Free names the documentation's fragments use, with their types. */
const AMBIENT = `
import type { Ctx, Connection, Channel, Frame, Listener } from 'beepwire';
declare global {
  const ctx: Ctx, listenerCtx: Ctx, proxyCtx: Ctx;
  const conn: Connection;
  const channel: Channel;
  const frame: Frame;
  const listener: Listener;
  const msgno: number, uri: string, user: unknown;
  const caPem: string, cert: string, key: string, ca: string;
}
export {};
`;

interface Block {
  file: string;
  line: number;
  code: string;
  program: boolean;
}

/** Every ```ts block of README.md and docs/*.md. */
function blocks(): Block[] {
  const files = [
    'README.md',
    ...readdirSync(join(ROOT, 'docs'))
      .filter((f) => f.endsWith('.md'))
      .map((f) => `docs/${f}`),
  ];
  const out: Block[] = [];
  for (const file of files) {
    const lines = readFileSync(join(ROOT, file), 'utf8').split('\n');
    for (let i = 0; i < lines.length; i++) {
      if (lines[i]!.trim() !== '```ts') continue;
      const start = i + 1;
      let j = start;
      while (j < lines.length && lines[j]!.trim() !== '```') j++;
      const code = lines.slice(start, j).join('\n');
      // A whole program: imports the package, makes its own context and ends itself (a server
      // meant to run until stopped, like the cluster example, is type-checked only).
      const program = /from 'beepwire'/.test(code) && /const ctx = new Ctx\(/.test(code) && /ctx\.exit\(\)/.test(code);
      out.push({ file, line: start + 1, code, program });
      i = j;
    }
  }
  return out;
}

/** A temp dir where `beepwire` resolves to this repository. */
function consumerDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'beepwire-docs-'));
  mkdirSync(join(dir, 'node_modules'));
  symlinkSync(ROOT, join(dir, 'node_modules', 'beepwire'), 'dir');
  writeFileSync(join(dir, 'package.json'), '{ "type": "module" }\n');
  return dir;
}

function tsconfig(dir: string, files: string[], emit: boolean): string {
  const p = join(dir, emit ? 'tsconfig.emit.json' : 'tsconfig.json');
  writeFileSync(
    p,
    JSON.stringify({
      compilerOptions: {
        target: 'es2022',
        module: 'nodenext',
        moduleResolution: 'nodenext',
        strict: true,
        skipLibCheck: true,
        lib: ['es2022', 'dom'],
        types: ['node'],
        typeRoots: [join(ROOT, 'node_modules', '@types')],
        ...(emit ? { outDir: join(dir, 'out') } : { noEmit: true }),
      },
      files,
    }),
  );
  return p;
}

test('docs: every ts block of README.md and docs/ type-checks against the package', () => {
  const all = blocks();
  assert.ok(all.length >= 5, `${all.length} blocks found`);
  const dir = consumerDir();
  try {
    writeFileSync(join(dir, 'ambient.ts'), AMBIENT);
    const files = ['ambient.ts'];
    all.forEach((b, i) => {
      const name = `block${i}.ts`;
      // Fragments run inside an async function body in spirit: top-level await is fine in a module.
      writeFileSync(join(dir, name), `${b.code}\nexport {};\n`);
      files.push(name);
    });
    const r = spawnSync(
      process.execPath,
      [
        TSC,
        '-p',
        tsconfig(
          dir,
          files.map((f) => join(dir, f)),
          false,
        ),
      ],
      { encoding: 'utf8' },
    );
    const where = (msg: string): string =>
      msg.replace(/block(\d+)\.ts\((\d+),\d+\)/g, (_m, n: string, l: string) => {
        const b = all[Number(n)]!;
        return `${b.file}:${b.line + Number(l) - 1}`;
      });
    assert.equal(
      r.status,
      0,
      `tsc:\n${where(r.stdout + r.stderr)
        .split('\n')
        .filter((l) => /error/.test(l))
        .map((l) => l.replace(/^.*?(README|docs)/, '$1'))
        .join('\n')}`,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('docs: the whole programs among them run and exit 0', () => {
  const programs = blocks().filter((b) => b.program);
  assert.ok(programs.length >= 1, 'the README quick start is a whole program');
  for (const b of programs) {
    const dir = consumerDir();
    try {
      writeFileSync(join(dir, 'main.ts'), `${b.code}\nexport {};\n`);
      const c = spawnSync(process.execPath, [TSC, '-p', tsconfig(dir, [join(dir, 'main.ts')], true)], { encoding: 'utf8' });
      assert.equal(c.status, 0, `${b.file}:${b.line}: ${c.stdout}${c.stderr}`);
      // 1602 may be taken on a shared machine: the program listens on the port it names, so
      // give it a free one in its own copy.
      const port = String(20000 + (process.pid % 20000));
      const js = readFileSync(join(dir, 'out', 'main.js'), 'utf8').replaceAll('1602', port);
      writeFileSync(join(dir, 'out', 'main.js'), js);
      const r = spawnSync(process.execPath, [join(dir, 'out', 'main.js')], { encoding: 'utf8', timeout: 30_000, cwd: dir });
      assert.equal(r.status, 0, `${b.file}:${b.line} exited ${r.status} ${r.signal ?? ''}: ${r.stdout}${r.stderr}`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
});
