// Child processes of the matrix run. Each starts in its own process group so that stopping it
// also stops anything it started; every live one is stopped at exit, on failure and on a
// signal; every wait has a deadline (a runtime that hangs must fail the run, not stall CI).
import { spawn } from 'node:child_process';

/** Output kept per stream: enough for a diagnosis, bounded whatever a child prints. */
const KEEP = 64 * 1024;

const live = new Set();

/** Starts `cmd args` in its own process group; stdout and stderr are collected. */
export function start(cmd, args, { cwd, env } = {}) {
  const child = spawn(cmd, args, { cwd, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  const proc = { child, out: '', err: '', exit: undefined, closed: false };
  live.add(proc);
  // 'exit' says how it ended; 'close' comes once its output is all read (what waits need).
  child.on('exit', (code, signal) => {
    live.delete(proc);
    proc.exit ??= { code, signal };
  });
  proc.exited = new Promise((resolve) => {
    const done = () => {
      live.delete(proc);
      proc.exit ??= { code: null, signal: null };
      proc.closed = true;
      resolve(proc.exit);
    };
    child.on('close', done);
    child.on('error', (e) => {
      proc.err += `${e.message}\n`;
      done();
    });
  });
  const keep = (key) => (d) => {
    if (proc[key].length < KEEP) proc[key] += d;
  };
  child.stdout.setEncoding('utf8').on('data', keep('out'));
  child.stderr.setEncoding('utf8').on('data', keep('err'));
  return proc;
}

/** Awaits `p`, rejecting with "<what> timed out" after `ms` (the timer goes with the wait). */
export function within(p, ms, what) {
  let timer;
  const late = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} timed out after ${ms} ms`)), ms);
  });
  return Promise.race([p, late]).finally(() => clearTimeout(timer));
}

/** Why a process ended, with its first error line from stderr (for a result cell's detail). */
export function describeExit(proc) {
  const e = proc.exit;
  const how = e === undefined ? 'still running' : e.signal ? `killed by ${e.signal}` : `exited ${e.code}`;
  const lines = proc.err
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
  const why = lines.find((l) => /error/i.test(l)) ?? lines.at(-1);
  return why ? `${how}: ${why}` : how;
}

/** The first stdout line that parses as JSON, within `ms` (rejects if the process ends first). */
export async function firstJson(proc, ms, what) {
  const found = new Promise((resolve, reject) => {
    const look = () => {
      for (const line of proc.out.split('\n')) {
        try {
          const v = JSON.parse(line);
          if (v && typeof v === 'object') return resolve(v);
        } catch {
          /* not yet */
        }
      }
      if (proc.closed) reject(new Error(`${what}: ${describeExit(proc)}`));
    };
    proc.child.stdout.on('data', look);
    void proc.exited.then(look);
    look();
  });
  return within(found, ms, what);
}

/** Runs `cmd args` to the end within `ms` and returns its first JSON line (stopped on timeout). */
export async function runJson(cmd, args, ms, what, opts) {
  const proc = start(cmd, args, opts);
  try {
    const v = await firstJson(proc, ms, what);
    await within(proc.exited, 10_000, `${what} exit`).catch(() => {}); // it said all; a slow exit is stopped below
    return v;
  } finally {
    stop(proc);
  }
}

/** Stops a process and its group (SIGKILL: nothing of ours needs a clean shutdown). */
export function stop(proc) {
  if (proc.closed) return;
  try {
    process.kill(-proc.child.pid, 'SIGKILL');
  } catch {
    /* already gone */
  }
}

/** Stops every child still running. */
export function stopAll() {
  for (const p of live) stop(p);
}

process.on('exit', stopAll);
for (const sig of ['SIGINT', 'SIGTERM'])
  process.on(sig, () => {
    stopAll();
    process.exit(130);
  });
