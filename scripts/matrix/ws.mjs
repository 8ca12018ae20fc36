// BEEP over WebSocket in the matrix: every runtime is asked for a WebSocket listener
// (`listener-main <cfg> ws`; workerd through its Worker), and every client runtime runs the
// ws:// scenarios (WS_SCENARIOS of test/runtimes/scenarios.ts) against each that listens: Node
// with the `ws` package, Bun, Deno and workerd with their global WebSocket.
import { CLIENTS, LISTENERS, WS_LISTENERS } from './runtimes.mjs';
import { post } from './workerd.mjs';
import { startListenerProc, runClientOn } from './clients.mjs';

/**
 * Starts the WebSocket listeners and records every runtime's answer in results.ws.listeners.
 * Resolves { listeners: { runtime: { proc, port } }, ok }: ok is false when a runtime of
 * WS_LISTENERS did not listen, or another failed otherwise than by saying it cannot.
 */
export async function startWsListeners({ cfg, plain, workerdUrl, workerdError, ms, results }) {
  const listeners = {};
  let ok = true;
  const rec = results.ws.listeners;
  if (workerdUrl === undefined) rec.workerd = { ok: false, summary: 'not checked', detail: workerdError };
  else {
    try {
      const said = await post(`${workerdUrl}listen`, { ...plain, ws: true }, 10_000, 'workerd WebSocket listen');
      rec.workerd = said.listening
        ? { ok: false, summary: 'listener OK but unreachable', detail: 'workerd has no inbound TCP' }
        : { ok: false, summary: 'cannot listen (workerd)', detail: `createListener: ${said.error}` };
    } catch (e) {
      rec.workerd = { ok: false, summary: 'not checked', detail: e.message };
    }
  }
  await Promise.all(
    LISTENERS.map(async (rt) => {
      try {
        listeners[rt] = await startListenerProc(rt, cfg, ms, { ws: true });
        rec[rt] = { ok: true, port: listeners[rt].port };
      } catch (e) {
        const offered = WS_LISTENERS.includes(rt);
        if (e.refused !== undefined && !offered)
          rec[rt] = { ok: false, summary: 'not offered (beepwire: Node and Bun only)', detail: `createListener: ${e.refused}` };
        else {
          rec[rt] = { ok: false, summary: 'did not start', detail: e.message };
          ok = false;
        }
      }
    }),
  );
  return { listeners, ok };
}

/**
 * Runs every client's ws:// scenarios against each WebSocket listener that listens (and against
 * each of WS_LISTENERS that did not: those fail with the reason), into results.ws.cells.
 * Resolves false if any scenario failed.
 */
export async function runWsCells({ listeners, cfg, plain, workerdUrl, workerdError, scenarios, ms, results }) {
  let ok = true;
  const targets = LISTENERS.filter((rt) => listeners[rt] !== undefined || WS_LISTENERS.includes(rt));
  for (const client of CLIENTS) {
    for (const listener of targets) {
      const port = listeners[listener]?.port;
      const outcomes =
        port === undefined
          ? scenarios.map((name) => ({ name, ok: false, detail: `no ${listener} WebSocket listener`, ms: 0 }))
          : await runClientOn(client, port, cfg, { scenarios, ms, workerdUrl, config: { plain, workerdError }, ws: true });
      results.ws.cells.push({ client, listener, outcomes });
      const n = outcomes.filter((o) => o.ok).length;
      console.log(
        `${client.padEnd(8)} → ${`${listener} ws://`.padEnd(5)} ${n}/${outcomes.length}${n < outcomes.length ? `  ${outcomes.find((o) => !o.ok).detail}` : ''}`,
      );
      if (n < outcomes.length) ok = false;
    }
  }
  return ok;
}
