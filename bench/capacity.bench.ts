// Capacity benchmark (issue 9): idle sessions per process and their memory.
//  1. N idle sessions against one beepwire listener (its own process; clients in other
//     processes, source addresses 127.0.0.2..9), memory per session at 1k, 10k and up to the
//     fd limit, beside a bare node:net server + clients holding as many idle sockets.
//  2. A bystander's echo round trip while they are held (the bystander process warms its own
//     client code first against a private listener, so the figure is the loaded listener's).
//  3. Past the fd limit: ~200 more connections than the listener can take; does it survive,
//     and does service resume once fds free up.
//  4. 100,000 greeted idle sans-I/O Sessions in one process over in-memory transports
//     (WASM codec, then the pure-TS reference codec).
// Memory readings are taken after forced GC (--expose-gc) and a settle delay. Every wait is
// bounded; children are killed on exit. Results: bench/results/capacity.json.
// Flags: --quick (1k/2k only; env CAPACITY_QUICK=1), --codec=ref (listener codec),
// --no-fallback (no reference-codec rerun when the WASM listener fails), --skip-memory,
// --skip-bare, --skip-sockets (in-memory part only), --clients=N.
import { fork } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cpus, totalmem, platform, release, arch } from 'node:os';
import { machineLine } from './machine.js';
import { ChildHandle, perSession, sumReadings, sleep, fdLimit, type MemReading, type Reply } from './capacity-common.js';

const here = dirname(fileURLToPath(import.meta.url));
const args = new Set(process.argv.slice(2));
const argValue = (name: string): string | undefined =>
  process.argv
    .slice(2)
    .find((a) => a.startsWith(`--${name}=`))
    ?.slice(name.length + 3);
const QUICK = args.has('--quick') || process.env.CAPACITY_QUICK === '1';
const LISTENER_CODEC = (argValue('codec') ?? process.env.CAPACITY_CODEC ?? 'wasm') as 'wasm' | 'ref';
const FALLBACK = !args.has('--no-fallback');
// One client process by default: 19,900 sessions fit its fd limit, and the per-session figures
// then carry one process's fixed costs, like the listener's. The overload step uses a process
// of its own, so the listener's descriptors, not the client's, are what runs out.
const CLIENTS = Number(argValue('clients') ?? 1);
const SETTLE_MS = Number(process.env.CAPACITY_SETTLE_MS ?? 500);
const RUN_DEADLINE = performance.now() + Number(process.env.CAPACITY_DEADLINE_MS ?? 240_000);
const SOURCES = Array.from({ length: 8 }, (_, i) => `127.0.0.${i + 2}`);
const EXTRA = 200; // connections tried beyond what the listener can accept
const RESERVE = 40; // listener fds kept free for the bystander while N are held
const MEM_TARGET = QUICK ? 2000 : Number(process.env.CAPACITY_MEM_SESSIONS ?? 100_000);
const KiB = 1024;

const children = new Set<ChildHandle>();
function spawn(name: string, file: string, extraExec: string[] = []): ChildHandle {
  const proc = fork(join(here, file), [], { execArgv: ['--expose-gc', ...extraExec], stdio: ['ignore', 'pipe', 'pipe', 'ipc'] });
  const h = new ChildHandle(name, proc);
  children.add(h);
  proc.once('exit', () => children.delete(h));
  return h;
}
const killAll = (): void => {
  for (const c of children) {
    try {
      c.proc.kill('SIGKILL');
    } catch {
      /* gone */
    }
  }
};
process.on('exit', killAll);
for (const sig of ['SIGINT', 'SIGTERM'] as const)
  process.on(sig, () => {
    killAll();
    process.exit(130);
  });

const stamp = (): string => `[${(performance.now() / 1000).toFixed(1).padStart(5)}s]`;
let progressShown = false;
/** Progress: rewritten in place on a terminal, a plain line otherwise. */
function progressLine(s: string): void {
  if (process.stdout.isTTY) {
    process.stdout.write(`\x1b[2K\r${stamp()} ${s}`);
    progressShown = true;
  } else console.log(`${stamp()} ${s}`);
}
const log = (s: string): void => {
  if (progressShown) {
    process.stdout.write('\x1b[2K\r');
    progressShown = false;
  }
  console.log(`${stamp()} ${s}`);
};
/** The thrown error's line in a crashed child's stderr. */
const errorLine = (stderr: string): string => stderr.split('\n').find((l) => /^\w*Error\b|^Error:|Error: /.test(l)) ?? '';
const left = (): number => RUN_DEADLINE - performance.now();

/** Memory per session at one level, both sides. */
interface Level {
  n: number;
  listener: { heldSessions: number; fds: number; mem: MemReading; perSession: ReturnType<typeof perSession> };
  client: { heldSessions: number; processes: number; mem: MemReading; perSession: ReturnType<typeof perSession> };
  openMs: number;
}

interface Scenario {
  name: string;
  mode: 'beep' | 'bare';
  listenerCodec?: 'wasm' | 'ref';
  clientCodec?: 'wasm' | 'ref';
  listenerFdLimit: number;
  listenerFdsAtStart: number;
  baseline: { listener: MemReading; clients: MemReading };
  levels: Level[];
  failure?: { atLevel: number; held: number; error: string; listenerStderr: string; listenerExit?: unknown };
  openFailures: Record<string, number>;
  rtt?: Record<string, unknown>;
  overload?: Record<string, unknown>;
}

/** Polls `f` until it returns true or `ms` passes. */
async function until(f: () => Promise<boolean>, ms: number, every = 100): Promise<boolean> {
  const end = performance.now() + ms;
  while (performance.now() < end) {
    if (await f()) return true;
    await sleep(every);
  }
  return false;
}

function addReasons(into: Record<string, number>, r: unknown): void {
  for (const [k, v] of Object.entries((r ?? {}) as Record<string, number>)) into[k] = (into[k] ?? 0) + v;
}

/** Opens `count` more connections spread over the clients; returns totals. */
async function openMore(
  clients: ChildHandle[],
  port: number,
  count: number,
  timeoutMs = 10_000,
): Promise<{ ok: number; failed: number; reasons: Record<string, number>; ms: number }> {
  const t0 = performance.now();
  const per = clients.map((_, i) => Math.floor(count / clients.length) + (i < count % clients.length ? 1 : 0));
  const deadlineMs = Math.max(5_000, Math.min(60_000, left() - 20_000));
  const rs = await Promise.all(
    clients.map((c, i) =>
      per[i] === 0
        ? Promise.resolve({ opened: 0, failed: 0, reasons: {} } as Reply)
        : c
            .call(
              'open',
              { host: '127.0.0.1', port, count: per[i], localAddresses: SOURCES, concurrency: 48, timeoutMs, deadlineMs },
              deadlineMs + timeoutMs + 5_000,
            )
            .catch(
              (e: Error) => ({ opened: 0, failed: per[i], reasons: { [`client failed: ${e.message.slice(0, 80)}`]: per[i] } }) as Reply,
            ),
    ),
  );
  const reasons: Record<string, number> = {};
  let ok = 0,
    failed = 0;
  for (const r of rs) {
    ok += Number(r.opened ?? 0);
    failed += Number(r.failed ?? 0);
    addReasons(reasons, r.reasons);
  }
  return { ok, failed, reasons, ms: performance.now() - t0 };
}

async function clientMem(clients: ChildHandle[]): Promise<{ mem: MemReading; held: number }> {
  const rs = await Promise.all(clients.map((c) => c.call('mem', { settleMs: SETTLE_MS }, 60_000)));
  return { mem: sumReadings(rs.map((r) => r.mem as MemReading)), held: rs.reduce((a, r) => a + Number(r.held), 0) };
}

async function runScenario(
  name: string,
  mode: 'beep' | 'bare',
  listenerCodec: 'wasm' | 'ref',
  targets: number[],
  opts: { rtt: boolean; overload: boolean },
): Promise<Scenario> {
  log(`== ${name}: ${mode}${mode === 'beep' ? ` (listener codec ${listenerCodec}, client codec wasm)` : ''}, levels ${targets.join(', ')}`);
  const listener = spawn(`${name} listener`, 'capacity-listener.js');
  listener.onEvent = (r) => {
    if (r.event === 'server-error') log(`   listener server 'error': ${r.code} ${r.message} (error listeners: ${r.listeners})`);
  };
  const clients = Array.from({ length: CLIENTS }, (_, i) => spawn(`${name} client ${i}`, 'capacity-client.js'));
  const progress = new Map<ChildHandle, number>();
  for (const c of clients)
    c.onEvent = (r) => {
      if (r.event === 'progress') progress.set(c, Number(r.ok));
    };
  await Promise.all([listener.up, ...clients.map((c) => c.up)]);
  const st = await listener.call('start', { mode, codec: listenerCodec });
  const port = Number(st.port);
  await Promise.all(clients.map((c) => c.call('start', { mode, codec: 'wasm' })));
  const [lb, cb] = await Promise.all([listener.call('mem', { settleMs: SETTLE_MS }, 30_000), clientMem(clients)]);
  const sc: Scenario = {
    name,
    mode,
    ...(mode === 'beep' ? { listenerCodec, clientCodec: 'wasm' as const } : {}),
    listenerFdLimit: Number(st.fdLimit),
    listenerFdsAtStart: Number(st.fds),
    baseline: { listener: lb.mem as MemReading, clients: cb.mem },
    levels: [],
    openFailures: {},
  };
  const tick = setInterval(() => {
    const sum = [...progress.values()].reduce((a, b) => a + b, 0);
    if (sum > 0) progressLine(`   ... ${sum} opened in this step`);
  }, 2000);
  let held = 0;
  try {
    for (const n of targets) {
      if (left() < 30_000) {
        log(`   run deadline near: skipping level ${n}`);
        break;
      }
      progress.clear();
      const r = await openMore(clients, port, n - held);
      addReasons(sc.openFailures, r.reasons);
      const ls = listener.alive ? await listener.call('stats').catch(() => undefined) : undefined;
      if (!listener.alive || ls === undefined) {
        await sleep(200);
        sc.failure = {
          atLevel: n,
          held: held + r.ok,
          error: `listener process died (exit ${JSON.stringify(listener.exited)}): ${errorLine(listener.stderr)}`,
          listenerStderr: listener.stderr.slice(-1500),
          listenerExit: listener.exited,
        };
        log(
          `   FAILED at level ${n}: ${sc.failure.error}; clients had ${held + r.ok} greeted; listener stderr (tail):\n${indent(listener.stderr.slice(-700))}`,
        );
        break;
      }
      held += r.ok;
      // Every held session greeted on both sides (the listener counts its own).
      await until(async () => Number((await listener.call('stats')).greeted) >= held, 10_000);
      const [lm, cm] = await Promise.all([listener.call('mem', { settleMs: SETTLE_MS }, 60_000), clientMem(clients)]);
      const lmem = lm.mem as MemReading;
      const lheld = Number(lm.greeted);
      sc.levels.push({
        n,
        listener: { heldSessions: lheld, fds: lmem.fds, mem: lmem, perSession: perSession(lmem, sc.baseline.listener, lheld) },
        client: {
          heldSessions: cm.held,
          processes: clients.length,
          mem: cm.mem,
          perSession: perSession(cm.mem, sc.baseline.clients, cm.held),
        },
        openMs: r.ms,
      });
      const L = sc.levels[sc.levels.length - 1]!;
      log(
        `   ${String(n).padStart(6)} asked: listener holds ${lheld}, clients ${cm.held} (opened in ${(r.ms / 1000).toFixed(1)} s${r.failed ? `, ${r.failed} failed: ${JSON.stringify(r.reasons)}` : ''}); ` +
          `per session listener ${fmtK(L.listener.perSession.rss)} RSS / ${fmtK(L.listener.perSession.heapUsed)} heap / ${fmtK(L.listener.perSession.external)} ext, ` +
          `client ${fmtK(L.client.perSession.rss)} / ${fmtK(L.client.perSession.heapUsed)} / ${fmtK(L.client.perSession.external)}`,
      );
      if (r.ok < n - (held - r.ok) && r.failed > 0 && mode === 'beep' && !sc.failure) {
        sc.failure = {
          atLevel: n,
          held,
          error: `only ${held} of ${n} sessions opened: ${JSON.stringify(r.reasons)}`,
          listenerStderr: listener.stderr.slice(-1500),
        };
        log(`   FAILED at level ${n}: ${sc.failure.error}`);
        break;
      }
    }
    clearInterval(tick);
    if (opts.rtt && !sc.failure && listener.alive) sc.rtt = await bystander(port, 'while held');
    if (opts.overload && !sc.failure && listener.alive && left() > 30_000)
      sc.overload = await overload(listener, clients, port, sc.listenerFdLimit);
  } catch (e) {
    sc.failure ??= {
      atLevel: -1,
      held,
      error: (e as Error).message,
      listenerStderr: listener.stderr.slice(-1500),
      listenerExit: listener.exited,
    };
    log(`   FAILED: ${(e as Error).message}`);
  } finally {
    clearInterval(tick);
    await Promise.all(clients.map((c) => c.kill()));
    await listener.kill();
  }
  return sc;
}

/** A fresh process opens a session and a channel and times echo round trips. */
async function bystander(port: number, label: string): Promise<Record<string, unknown>> {
  const b = spawn('bystander', 'capacity-client.js');
  try {
    await b.up;
    await b.call('start', { mode: 'beep', codec: 'wasm' });
    const r = await b.call('rtt', { host: '127.0.0.1', port, rounds: 20 }, 40_000);
    const times = (r.times as number[] | undefined) ?? [];
    const sorted = [...times].sort((x, y) => x - y);
    const out = {
      label,
      ok: r.passed === true,
      connectMs: r.connectMs,
      startMs: r.startMs,
      firstRttMs: times[0],
      p50Ms: sorted[sorted.length >> 1],
      maxMs: sorted[sorted.length - 1],
      rounds: times.length,
      error: r.error,
    };
    log(
      `   bystander (${label}): ${out.ok ? `connect+greeting ${fmtMs(r.connectMs)}, channel start ${fmtMs(r.startMs)}, first RTT ${fmtMs(times[0])}, p50 ${fmtMs(out.p50Ms)}, max ${fmtMs(out.maxMs)}` : `FAILED ${JSON.stringify(r.error)}`}`,
    );
    return out;
  } catch (e) {
    log(`   bystander (${label}) FAILED: ${(e as Error).message}`);
    return { label, ok: false, error: (e as Error).message };
  } finally {
    await b.kill();
  }
}

/** Connects EXTRA more than the listener has fds for; checks survival and recovery. */
async function overload(listener: ChildHandle, clients: ChildHandle[], port: number, limit: number): Promise<Record<string, unknown>> {
  const before = await listener.call('stats');
  const room = Math.max(0, limit - Number(before.fds));
  const tries = room + EXTRA;
  log(`   overload: listener has ${before.fds} fds open of ${limit}; trying ${tries} more connections (${room} free + ${EXTRA})`);
  const extra = spawn('overload client', 'capacity-client.js');
  await extra.up;
  await extra.call('start', { mode: 'beep', codec: 'wasm' });
  try {
    return await overloadWith(listener, clients, [extra], port, room, tries);
  } finally {
    await extra.kill();
  }
}

/** The overload attempt from `attackers`, then recovery once `clients` free descriptors. */
async function overloadWith(
  listener: ChildHandle,
  clients: ChildHandle[],
  attackers: ChildHandle[],
  port: number,
  room: number,
  tries: number,
): Promise<Record<string, unknown>> {
  const r = await openMore(attackers, port, tries, 5_000);
  await sleep(500);
  const alive = listener.alive;
  const after = alive ? await listener.call('stats').catch((e: Error) => ({ error: e.message }) as Reply) : undefined;
  log(
    `   overload: ${r.ok} greeted, ${r.failed} refused ${JSON.stringify(r.reasons)}; listener ${alive ? `alive, holds ${after?.greeted}, fds ${after?.fds}, server 'error' events ${after?.serverErrorCount}, listener.isOk() ${after?.listenerOk}${after?.listenerErrorMsg ? ` (errorMsg '${after.listenerErrorMsg}')` : ''}` : `DIED (exit ${JSON.stringify(listener.exited)})`}`,
  );
  const out: Record<string, unknown> = {
    tried: tries,
    roomBefore: room,
    greeted: r.ok,
    refused: r.failed,
    reasons: r.reasons,
    ms: r.ms,
    listenerAlive: alive,
    listenerAfter: after,
  };
  if (!alive) {
    out.listenerStderr = listener.stderr.slice(-1500);
    log(`   listener stderr:\n${indent(listener.stderr.slice(-600))}`);
    return out;
  }
  // Free some fds: close idle sessions on the first client, then check service resumes.
  const free = 500;
  await clients[0]!.call('close', { count: free });
  // Held sessions, not fds: counting /proc/self/fd needs an fd too, and fails (-1) at the limit.
  const freed = await until(async () => Number((await listener.call('stats')).live) <= Number(after?.live ?? 0) - free, 10_000);
  const reopen = await openMore(attackers, port, 100, 5_000);
  const rtt = await bystander(port, 'after freeing fds');
  const final = listener.alive ? await listener.call('stats').catch(() => undefined) : undefined;
  log(
    `   recovery: closed ${free} idle sessions (listener saw them close: ${freed}), reopened ${reopen.ok}/100, bystander ${rtt.ok ? 'ok' : 'FAILED'}; listener alive ${listener.alive}, server 'error' events ${final?.serverErrorCount}`,
  );
  Object.assign(out, {
    recovery: {
      closed: free,
      listenerSawClose: freed,
      reopened: reopen.ok,
      reopenFailures: reopen.reasons,
      bystander: rtt,
      listenerAlive: listener.alive,
      listenerFinal: final,
    },
  });
  return out;
}

/** 100,000 in-memory sessions (pairs) in one process. */
async function memoryRun(codec: 'wasm' | 'ref'): Promise<Record<string, unknown>> {
  log(`== in-memory sans-I/O sessions, codec ${codec}, target ${MEM_TARGET}`);
  const m = spawn(`memory ${codec}`, 'capacity-memory.js', ['--max-old-space-size=4096']);
  m.onEvent = (r) => {
    if (r.event === 'progress') progressLine(`   ... ${r.sessions} sessions, ${r.greeted} greeted`);
  };
  try {
    await m.up;
    const checkpoints = QUICK
      ? [1000, 2000]
      : [...new Set([1000, 10_000, 16_000, 50_000, 100_000, MEM_TARGET])].filter((c) => c <= MEM_TARGET);
    const deadlineMs = Math.max(10_000, Math.min(60_000, left() - 15_000));
    const r = await m.call(
      'run',
      { codec, target: MEM_TARGET, checkpoints, batch: 500, deadlineMs, settleMs: SETTLE_MS },
      deadlineMs + 30_000,
    );
    const base = r.base as MemReading;
    const points = (r.points as Array<{ sessions: number; greeted: number; mem: MemReading; ms: number }>).map((p) => ({
      ...p,
      perSession: perSession(p.mem, base, p.sessions),
    }));
    for (const p of points)
      log(
        `   ${String(p.sessions).padStart(6)} sessions (${p.greeted} greeted): ${fmtK(p.perSession.rss)} RSS / ${fmtK(p.perSession.heapUsed)} heap / ${fmtK(p.perSession.external)} ext per session`,
      );
    const failure = r.failure as { at: number; error: string } | undefined;
    if (failure) log(`   FAILED at ${failure.at} sessions: ${failure.error}`);
    else log(`   reached ${r.reached} sessions, ${r.greeted} greeted`);
    return { codec, target: MEM_TARGET, reached: r.reached, greeted: r.greeted, failure, base, points };
  } catch (e) {
    log(`   FAILED: ${(e as Error).message}`);
    return { codec, target: MEM_TARGET, failure: { at: -1, error: (e as Error).message } };
  } finally {
    await m.kill();
  }
}

const fmtK = (b: number | undefined): string => (b === undefined || !Number.isFinite(b) ? '-' : `${(b / KiB).toFixed(2)} KiB`);
const fmtMs = (v: unknown): string => (typeof v === 'number' ? `${v.toFixed(2)} ms` : '-');
const indent = (s: string): string =>
  s
    .split('\n')
    .map((l) => `     | ${l}`)
    .join('\n');

function table(scenarios: Scenario[]): string {
  const rows: string[][] = [
    ['scenario', 'N asked', 'held (L)', 'L RSS/s', 'L heap/s', 'L ext/s', 'L ab/s', 'held (C)', 'C RSS/s', 'C heap/s', 'C ext/s', 'C ab/s'],
  ];
  for (const s of scenarios) {
    for (const l of s.levels) {
      const L = l.listener.perSession,
        C = l.client.perSession;
      rows.push([
        s.name,
        String(l.n),
        String(l.listener.heldSessions),
        fmtK(L.rss),
        fmtK(L.heapUsed),
        fmtK(L.external),
        fmtK(L.arrayBuffers),
        String(l.client.heldSessions),
        fmtK(C.rss),
        fmtK(C.heapUsed),
        fmtK(C.external),
        fmtK(C.arrayBuffers),
      ]);
    }
    if (s.failure) rows.push([s.name, String(s.failure.atLevel), 'FAILED', s.failure.error.slice(0, 90), '', '', '', '', '', '', '', '']);
  }
  const w = rows[0]!.map((_, i) => Math.max(...rows.filter((r) => r[2] !== 'FAILED' || i < 2).map((r) => r[i]!.length)));
  return rows
    .map((r) =>
      r[2] === 'FAILED'
        ? `${r[0]!.padEnd(w[0]!)}  ${r[1]!.padStart(w[1]!)}  FAILED: ${r[3]}`
        : r.map((c, i) => (i === 0 ? c.padEnd(w[i]!) : c.padStart(w[i]!))).join('  '),
    )
    .join('\n');
}

// Hard bound on the whole run: children are killed and the run fails rather than hang.
setTimeout(
  () => {
    console.error(`capacity bench: run deadline exceeded, aborting`);
    killAll();
    process.exit(2);
  },
  Math.max(0, RUN_DEADLINE - performance.now()) + 60_000,
).unref();

async function main(): Promise<void> {
  console.log(`capacity bench${QUICK ? ' (quick)' : ''}\n${machineLine()}`);
  console.log(
    `fd limit ${fdLimit()} per process; sources ${SOURCES[0]}..${SOURCES[SOURCES.length - 1]}; ${CLIENTS} client processes; settle ${SETTLE_MS} ms after GC`,
  );
  const t0 = performance.now();
  const limit = fdLimit();
  // The listener process uses ~20 fds of its own; keep RESERVE free for the bystander.
  const max = limit - 60 - RESERVE;
  const targets = QUICK ? [1000, 2000] : [1000, 10_000, max];
  const scenarios: Scenario[] = [];
  const sockets = !args.has('--skip-sockets');
  if (sockets && !args.has('--skip-bare'))
    scenarios.push(await runScenario('bare node:net', 'bare', 'wasm', targets, { rtt: false, overload: false }));
  const beep = sockets
    ? await runScenario(`beepwire (${LISTENER_CODEC})`, 'beep', LISTENER_CODEC, targets, { rtt: true, overload: !QUICK })
    : undefined;
  if (beep) scenarios.push(beep);
  if (beep?.failure && FALLBACK && LISTENER_CODEC === 'wasm' && !QUICK) {
    log(
      `beepwire with the WASM codec failed at level ${beep.failure.atLevel}; rerunning the listener with codec 'ref' for the remaining figures`,
    );
    scenarios.push(await runScenario('beepwire (ref)', 'beep', 'ref', targets, { rtt: true, overload: true }));
  }
  const inMemory = args.has('--skip-memory') ? [] : [await memoryRun('wasm'), await memoryRun('ref')];
  const elapsed = (performance.now() - t0) / 1000;

  if (scenarios.length > 0) {
    console.log(
      '\nper-session memory (L = listener process, C = all client processes; delta from the idle process before any connection, after GC + settle)',
    );
    console.log(table(scenarios));
  }
  for (const s of scenarios) {
    if (s.rtt)
      console.log(
        `${s.name}: bystander ${s.rtt.ok ? `first RTT ${fmtMs(s.rtt.firstRttMs)}, p50 ${fmtMs(s.rtt.p50Ms)} (connect+greeting ${fmtMs(s.rtt.connectMs)}) with ${s.levels.at(-1)?.listener.heldSessions} sessions held — ${Number(s.rtt.firstRttMs) < 50 ? 'PASS' : 'FAIL'} (< 50 ms)` : `FAILED ${s.rtt.error}`}`,
      );
    if (s.overload) {
      const o = s.overload as {
        tried: number;
        greeted: number;
        refused: number;
        reasons: unknown;
        listenerAlive: boolean;
        listenerAfter?: Reply;
        recovery?: { reopened: number; bystander: Record<string, unknown> };
      };
      console.log(
        `${s.name}: past the fd limit: tried ${o.tried}, ${o.greeted} greeted, ${o.refused} refused ${JSON.stringify(o.reasons)}; listener ${o.listenerAlive ? 'survived' : 'CRASHED'}; server 'error' events ${o.listenerAfter?.serverErrorCount ?? '-'}; ` +
          `recovery: ${o.recovery ? `reopened ${o.recovery.reopened}/100, bystander ${o.recovery.bystander.ok ? `ok (RTT ${fmtMs(o.recovery.bystander.firstRttMs)})` : 'FAILED'}` : '-'}`,
      );
    }
  }
  for (const m of inMemory) {
    const pts = (m.points as Array<{ sessions: number; perSession: ReturnType<typeof perSession> }> | undefined) ?? [];
    const last = pts.at(-1);
    const f = m.failure as { at: number; error: string } | undefined;
    console.log(
      `in-memory (${m.codec}): ${f ? `FAILED at ${f.at} sessions: ${f.error}` : `${m.reached} sessions greeted`}` +
        `${last ? `; at ${last.sessions}: ${fmtK(last.perSession.rss)} RSS / ${fmtK(last.perSession.heapUsed)} heap / ${fmtK(last.perSession.external)} ext per session` : ''}`,
    );
  }
  console.log(`total ${elapsed.toFixed(1)} s`);

  const cpu = cpus();
  const out = {
    bench: 'capacity',
    quick: QUICK,
    date: new Date().toISOString(),
    node: process.version,
    machine: {
      cpu: cpu[0]?.model,
      cores: cpu.length,
      memGiB: +(totalmem() / 2 ** 30).toFixed(1),
      os: `${platform()} ${release()} ${arch()}`,
      fdLimit: limit,
      line: machineLine(),
    },
    settings: {
      clients: CLIENTS,
      sources: SOURCES,
      settleMs: SETTLE_MS,
      listenerCodec: LISTENER_CODEC,
      reserve: RESERVE,
      extra: EXTRA,
      memTarget: MEM_TARGET,
      targets,
    },
    elapsedSeconds: elapsed,
    scenarios,
    inMemory,
  };
  const dir = resolve(here, '../../bench/results');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, QUICK ? 'capacity-quick.json' : 'capacity.json');
  writeFileSync(file, `${JSON.stringify(out, null, 2)}\n`);
  console.log(`wrote ${file}`);
}

main().then(
  () => {
    killAll();
    process.exit(0);
  },
  (e) => {
    console.error(e);
    killAll();
    process.exit(1);
  },
);
