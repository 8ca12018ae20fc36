// Where an idle session's memory goes: heap snapshots of a beepwire listener process and a
// client process before and after N idle sessions (default 2,000), diffed by class (V8 node
// type + constructor/closure name), shallow sizes per session. Native memory outside the JS
// heap (ArrayBuffer backing stores, libuv handles) is reported from process.memoryUsage().
// Usage: node dist/bench/capacity-heap.js [--sessions=2000] [--codec=wasm|ref]
// Writes bench/results/capacity-heap.json and prints the top classes.
import { fork } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { machineLine } from './machine.js';
import { ChildHandle, perSession, type MemReading } from './capacity-common.js';

const here = dirname(fileURLToPath(import.meta.url));
const argValue = (name: string): string | undefined =>
  process.argv
    .slice(2)
    .find((a) => a.startsWith(`--${name}=`))
    ?.slice(name.length + 3);
const N = Number(argValue('sessions') ?? 2000);
const CODEC = (argValue('codec') ?? 'wasm') as 'wasm' | 'ref';
const TOP = Number(argValue('top') ?? 30);

/** Classes whose instances are told apart by owner (which field holds the Map, Array...). */
const GENERIC = new Set(['Map', 'Set', 'Array', 'Object', 'Promise', 'Uint8Array', 'Buffer', 'ArrayBuffer', 'system / Context']);

interface ClassStat {
  count: number;
  bytes: number;
}

/**
 * Shallow size and count per class of a .heapsnapshot file. Objects count under their
 * constructor name; V8-internal nodes (arrays, contexts, closures, code, hidden) under their
 * own name plus the first strong retainer's class and edge ("Map.table"), which says whose
 * backing store they are.
 */
export function classSizes(file: string): Map<string, ClassStat> {
  const snap = JSON.parse(readFileSync(file, 'utf8')) as {
    snapshot: { meta: { node_fields: string[]; node_types: [string[]]; edge_fields: string[]; edge_types: [string[]] } };
    nodes: number[];
    edges: number[];
    strings: string[];
  };
  const meta = snap.snapshot.meta;
  const f = meta.node_fields,
    ef = meta.edge_fields;
  const types = meta.node_types[0],
    etypes = meta.edge_types[0];
  const stride = f.length,
    iType = f.indexOf('type'),
    iName = f.indexOf('name'),
    iSize = f.indexOf('self_size'),
    iEdges = f.indexOf('edge_count');
  const estride = ef.length,
    eType = ef.indexOf('type'),
    eName = ef.indexOf('name_or_index'),
    eTo = ef.indexOf('to_node');
  const nodes = snap.nodes,
    edges = snap.edges,
    strings = snap.strings;
  const count = nodes.length / stride;
  const base = (i: number): string => {
    const type = types[nodes[i * stride + iType]!];
    const name = strings[nodes[i * stride + iName]!]!;
    switch (type) {
      case 'object':
        return name;
      case 'closure':
        return `closure ${name || '(anonymous)'}`;
      case 'string':
      case 'concatenated string':
      case 'sliced string':
        return '(string)';
      case 'number':
        return '(heap number)';
      default:
        return `(${type}) ${name.replace(/ \/ .*/, '').slice(0, 40)}`;
    }
  };
  // First strong retainer of every node (edges are stored per node, in node order).
  const owner = new Int32Array(count).fill(-1);
  const ownerEdge: string[] = new Array(count);
  for (let n = 0, e = 0; n < count; n++) {
    const ec = nodes[n * stride + iEdges]!;
    for (let k = 0; k < ec; k++, e += estride) {
      const et = etypes[edges[e + eType]!];
      if (et === 'weak' || et === 'shortcut') continue;
      const to = edges[e + eTo]! / stride;
      if (owner[to] === -1) {
        owner[to] = n;
        ownerEdge[to] = et === 'element' || et === 'hidden' ? `[${et}]` : String(strings[edges[e + eName]!] ?? edges[e + eName]);
      }
    }
  }
  const out = new Map<string, ClassStat>();
  for (let i = 0; i < count; i++) {
    const type = types[nodes[i * stride + iType]!];
    let key = base(i);
    if (owner[i]! >= 0 && ((type !== 'object' && type !== 'native' && type !== 'synthetic') || GENERIC.has(key))) {
      const o = owner[i]!;
      const ot = types[nodes[o * stride + iType]!];
      // One more hop for internal owners (a Map's table is held by the Map, a context by a closure).
      let ok = base(o);
      if ((ot !== 'object' || GENERIC.has(ok)) && owner[o]! >= 0) ok = `${base(owner[o]!)}.${ownerEdge[o]}>${ok}`;
      key = `${key} <- ${ok}.${ownerEdge[i]}`;
    }
    const s = out.get(key);
    if (s === undefined) out.set(key, { count: 1, bytes: nodes[i * stride + iSize]! });
    else {
      s.count++;
      s.bytes += nodes[i * stride + iSize]!;
    }
  }
  return out;
}

/** (after - before) per session, largest first. */
function diff(
  before: Map<string, ClassStat>,
  after: Map<string, ClassStat>,
  n: number,
): Array<{ cls: string; perSessionBytes: number; perSessionCount: number }> {
  const rows: Array<{ cls: string; perSessionBytes: number; perSessionCount: number }> = [];
  for (const [cls, a] of after) {
    const b = before.get(cls) ?? { count: 0, bytes: 0 };
    const bytes = (a.bytes - b.bytes) / n,
      count = (a.count - b.count) / n;
    if (Math.abs(bytes) >= 1) rows.push({ cls, perSessionBytes: bytes, perSessionCount: count });
  }
  return rows.sort((x, y) => y.perSessionBytes - x.perSessionBytes);
}

function spawn(name: string, file: string): ChildHandle {
  return new ChildHandle(name, fork(join(here, file), [], { execArgv: ['--expose-gc'], stdio: ['ignore', 'pipe', 'pipe', 'ipc'] }));
}

async function main(): Promise<void> {
  console.log(`capacity heap analysis: ${N} idle sessions, codec ${CODEC}\n${machineLine()}`);
  const dir = mkdtempSync(join(tmpdir(), 'beepwire-heap-'));
  const listener = spawn('listener', 'capacity-listener.js');
  const client = spawn('client', 'capacity-client.js');
  const kill = (): void => {
    for (const c of [listener, client]) {
      try {
        c.proc.kill('SIGKILL');
      } catch {
        /* gone */
      }
    }
  };
  process.on('exit', kill);
  try {
    await Promise.all([listener.up, client.up]);
    const st = await listener.call('start', { mode: 'beep', codec: CODEC });
    await client.call('start', { mode: 'beep', codec: CODEC });
    // Snapshots first: writing one grows the process, and the readings should not count that.
    const l0 = String((await listener.call('snapshot', { file: join(dir, 'l0.heapsnapshot') }, 60_000)).file);
    const c0 = String((await client.call('snapshot', { file: join(dir, 'c0.heapsnapshot') }, 60_000)).file);
    const lm0 = (await listener.call('mem', { settleMs: 300 })).mem as MemReading;
    const cm0 = (await client.call('mem', { settleMs: 300 })).mem as MemReading;
    const r = await client.call(
      'open',
      {
        host: '127.0.0.1',
        port: st.port,
        count: N,
        localAddresses: ['127.0.0.2', '127.0.0.3'],
        concurrency: 32,
        timeoutMs: 10_000,
        deadlineMs: 60_000,
      },
      80_000,
    );
    if (Number(r.opened) !== N) throw new Error(`opened ${r.opened} of ${N}: ${JSON.stringify(r.reasons)}`);
    const lm1 = (await listener.call('mem', { settleMs: 500 })).mem as MemReading;
    const cm1 = (await client.call('mem', { settleMs: 500 })).mem as MemReading;
    const l1 = String((await listener.call('snapshot', { file: join(dir, 'l1.heapsnapshot') }, 60_000)).file);
    const c1 = String((await client.call('snapshot', { file: join(dir, 'c1.heapsnapshot') }, 60_000)).file);
    const result: Record<string, unknown> = {
      sessions: N,
      codec: CODEC,
      date: new Date().toISOString(),
      node: process.version,
      machine: machineLine(),
    };
    for (const [side, a, b, m0, m1] of [
      ['listener', l0, l1, lm0, lm1],
      ['client', c0, c1, cm0, cm1],
    ] as const) {
      const rows = diff(classSizes(a), classSizes(b), N);
      const total = rows.reduce((s, x) => s + x.perSessionBytes, 0);
      const ps = perSession(m1, m0, N);
      result[side] = { memoryPerSession: ps, heapSelfBytesPerSession: total, classes: rows };
      console.log(
        `\n${side}: per session ${(ps.rss / 1024).toFixed(2)} KiB RSS, ${(ps.heapUsed / 1024).toFixed(2)} KiB heapUsed, ${(ps.external / 1024).toFixed(2)} KiB external (${(ps.arrayBuffers / 1024).toFixed(2)} KiB arrayBuffers); heap objects by class (shallow) sum ${total.toFixed(0)} B`,
      );
      console.log(`${'class (internal nodes: <- owner.edge)'.padEnd(48)} ${'B/session'.padStart(10)} ${'objs/session'.padStart(12)}`);
      for (const x of rows.slice(0, TOP))
        console.log(
          `${x.cls.slice(0, 90).padEnd(48)} ${x.perSessionBytes.toFixed(0).padStart(10)} ${x.perSessionCount.toFixed(2).padStart(12)}`,
        );
    }
    const out = resolve(here, '../../bench/results');
    mkdirSync(out, { recursive: true });
    writeFileSync(join(out, `capacity-heap${CODEC === 'ref' ? '-ref' : ''}.json`), `${JSON.stringify(result, null, 2)}\n`);
    console.log(`\nwrote ${join(out, `capacity-heap${CODEC === 'ref' ? '-ref' : ''}.json`)}`);
  } finally {
    kill();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().then(
  () => process.exit(0),
  (e) => {
    console.error(e);
    process.exit(1);
  },
);
