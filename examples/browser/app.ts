// The browser demo page's module (bundled by serve.ts with esbuild, platform browser): runs
// demo.ts against the ws:// URL the page names and draws what it reports. The result is also
// machine-readable: window.__beepwireResult (a DemoResult) and the JSON in <pre id="result">,
// set once, when the run is over (scripts/browser-test.mjs waits for it).
import { runDemo, ROUNDS, type DemoResult } from './demo.js';

declare global {
  interface Window {
    /** The demo's outcome, set once the run is over. */
    __beepwireResult?: DemoResult;
  }
}

const $ = <T extends HTMLElement>(id: string): T => document.getElementById(id) as T;
const mib = (n: number): string => (n / (1 << 20)).toFixed(2);

/** The listener's URL: ?ws=… if given, else the one the server wrote into the page. */
function listenerUrl(): string {
  const q = new URLSearchParams(location.search).get('ws');
  if (q !== null) return q;
  return document.querySelector<HTMLMetaElement>('meta[name="beepwire-ws"]')?.content ?? '';
}

function log(line: string): void {
  const li = document.createElement('li');
  li.textContent = line;
  $('log').append(li);
}

/** Sets a bar and its label; drawn at most once per animation frame. */
function bar(id: string): (octets: number, total: number) => void {
  let pending: [number, number] | undefined;
  return (octets, total) => {
    if (pending === undefined) {
      requestAnimationFrame(() => {
        const [o, t] = pending!;
        pending = undefined;
        $<HTMLProgressElement>(id).max = t;
        $<HTMLProgressElement>(id).value = o;
        $(`${id}-text`).textContent = `${mib(o)} / ${mib(t)} MiB`;
      });
    }
    pending = [octets, total];
  };
}

async function main(): Promise<void> {
  const url = listenerUrl();
  $('url').textContent = url;
  $('status').textContent = 'running…';
  const rtts = $('rtts');
  const result = await runDemo(url, {
    log,
    rtt: (round, ms) => {
      const li = document.createElement('li');
      li.textContent = `${round + 1}/${ROUNDS}: ${ms.toFixed(2)} ms`;
      rtts.append(li);
    },
    sent: bar('sent'),
    received: bar('received'),
  });
  if (result.error !== undefined) log(`error: ${result.error}`);
  $('status').textContent = result.ok ? 'passed' : 'FAILED';
  $('status').className = result.ok ? 'ok' : 'bad';
  $('result').textContent = JSON.stringify(result, null, 2);
  window.__beepwireResult = result;
}

main().catch((e: unknown) => {
  // runDemo never rejects: this is a bug in the page itself, reported the same way.
  const error = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
  const none = { ok: false, rounds: 0, rttMs: { min: 0, median: 0, max: 0 }, error };
  window.__beepwireResult = {
    ok: false,
    url: listenerUrl(),
    connectMs: 0,
    echo64: none,
    echo8MiB: { ok: false, octets: 0, ms: 0, sentMs: 0, replyFrames: 0, mibPerS: 0, error },
    error,
  };
  $('status').textContent = `FAILED: ${error}`;
});
