// Listener and client processes of the matrix (Node, Bun, Deno run the compiled entry points
// of dist/test/runtimes; workerd runs the Worker, see workerd.mjs). A client that crashes or
// hangs fails every scenario it did not report, with the reason, so the table stays complete.
import { command, ENV } from './runtimes.mjs';
import { start, stop, firstJson, runJson } from './procs.mjs';
import { post } from './workerd.mjs';

/**
 * Starts `runtime`'s listener (`ws`: its BEEP over WebSocket listener); resolves { proc, port }
 * once it says it listens. One that answers it cannot rejects with `refused` set to its reason.
 */
export async function startListenerProc(runtime, cfg, ms, { ws = false } = {}) {
  const what = `${runtime} ${ws ? 'WebSocket ' : ''}listener`;
  const [cmd, args] = command(runtime, 'listener-main.js', ws ? [cfg, 'ws'] : [cfg]);
  const proc = start(cmd, args, { env: ENV });
  const said = await firstJson(proc, ms, what).catch((e) => {
    stop(proc);
    throw e;
  });
  if (typeof said.port !== 'number') {
    stop(proc);
    throw Object.assign(new Error(`${what}: ${said.error ?? JSON.stringify(said)}`), { refused: said.error });
  }
  return { proc, port: said.port };
}

/** Every scenario failed for the same reason (the client never reported). */
function allFailed(scenarios, why, ms) {
  return scenarios.map((name) => ({ name, ok: false, detail: why, ms }));
}

/**
 * Runs `runtime`'s client scenarios against 127.0.0.1:port (`ws`: the ws:// ones, against a
 * WebSocket listener); always resolves one outcome per scenario.
 */
export async function runClientOn(runtime, port, cfg, { scenarios, ms, workerdUrl, config, ws = false }) {
  const t0 = Date.now();
  try {
    let said;
    if (runtime === 'workerd') {
      if (workerdUrl === undefined) throw new Error(config.workerdError);
      said = await post(workerdUrl, { ...config.plain, host: '127.0.0.1', port, ws }, ms, 'workerd client');
    } else {
      const [cmd, args] = command(runtime, 'client-main.js', ['127.0.0.1', String(port), cfg, ...(ws ? ['ws'] : [])]);
      said = await runJson(cmd, args, ms, `${runtime} client`, { env: ENV });
    }
    const got = new Map((said.outcomes ?? []).map((o) => [o.name, o]));
    return scenarios.map((name) => got.get(name) ?? { name, ok: false, detail: 'not reported by the client', ms: 0 });
  } catch (e) {
    return allFailed(scenarios, e.message, Date.now() - t0);
  }
}

/** Runs the Deno TLS loop (`count` rounds) against 127.0.0.1:port. */
export async function denoTlsLoop(port, count, cfg, ms) {
  const [cmd, args] = command('deno', 'tls-loop-main.js', ['127.0.0.1', String(port), String(count), cfg]);
  const t0 = Date.now();
  try {
    const r = await runJson(cmd, args, ms, 'Deno TLS loop', { env: ENV });
    return { passed: r.passed, total: count, ms: r.ms, errors: r.errors };
  } catch (e) {
    return { passed: 0, total: count, ms: Date.now() - t0, errors: [e.message] };
  }
}
