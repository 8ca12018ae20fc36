// Shared pieces of the `beepwire` command: profile URIs, output (--json or coloured text), and
// the address forms it accepts.
import pc from 'picocolors';
import { Connection, consoleLogger, eventRecord, type Ctx } from '../index.js';
import { escapeControls } from '../api/console-logger.js';

/** Profile the listener echoes on (`--profile echo`). */
export const ECHO_URI = 'http://beepwire.dev/profiles/echo';
/** Profile the listener swallows (`--profile sink`): every MSG answered with an empty RPY. */
export const SINK_URI = 'http://beepwire.dev/profiles/sink';

/** Resolves `echo`, `sink` or a URI. */
export function profileUri(name: string): string {
  return name === 'echo' ? ECHO_URI : name === 'sink' ? SINK_URI : name;
}

/** Where output goes: a JSON line per event (`--json`) or readable text. */
export class Output {
  /** Emits JSON lines instead of text. */
  readonly json: boolean;
  /** @param json `--json` was given. */
  constructor(json: boolean) {
    this.json = json;
  }
  /** An event: text for people, the object for `--json` (either way with peer-chosen control characters escaped). */
  event(text: string, data: Record<string, unknown>): void {
    if (this.json) console.log(escapeControls(JSON.stringify(data)));
    else console.log(escapeControls(text));
  }
  /** A failure (stderr in text mode; control characters escaped). */
  fail(text: string, data: Record<string, unknown>): void {
    if (this.json) console.log(escapeControls(JSON.stringify({ ...data, ok: false })));
    else console.error(pc.red(escapeControls(text)));
  }
}

/**
 * `--log`: the engine's events (src/api/events.ts: sessions, channels, refusals, session errors,
 * TLS and SASL outcomes) as they happen: JSON lines `{ "event": "log", … }` with `--json`,
 * otherwise text lines on stderr (coloured on a terminal), so stdout keeps the command's own output.
 */
export function logEvents(ctx: Ctx, out: Output): void {
  ctx.setLogger(
    out.json
      ? (e) => console.log(escapeControls(JSON.stringify({ event: 'log', ...eventRecord(e) })))
      : consoleLogger({ color: pc.isColorSupported, write: (line) => console.error(line) }),
  );
}

/** Splits HOST:PORT (IPv6 as [::1]:PORT). */
export function hostPort(s: string): { host: string; port: number } {
  const m = /^\[([^\]]+)\]:(\d+)$/.exec(s) ?? /^([^:]+):(\d+)$/.exec(s);
  if (m === null) throw new Error(`expected HOST:PORT, got "${s}"`);
  const port = Number(m[2]);
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new Error(`bad port in "${s}"`);
  return { host: m[1] ?? '', port };
}

/** A connected session to `target` (HOST:PORT or a ws:// / wss:// URL), and where it went. */
export async function connectTarget(ctx: Ctx, target: string): Promise<{ conn: Connection; host: string; port: number }> {
  const url = /^wss?:\/\//i.test(target) ? new URL(target) : undefined;
  if (url === undefined) {
    const { host, port } = hostPort(target);
    return { conn: await Connection.connect(ctx, host, port), host, port };
  }
  const port = Number(url.port || (url.protocol === 'wss:' ? 443 : 80));
  return { conn: await Connection.connect(ctx, url), host: url.hostname, port };
}

/**
 * The failure exit of a subcommand: reports the connection's last error (code and text) for
 * `step`, drops the connection and gives exit code 1.
 */
export function failure(out: Output, conn: Connection): (step: string) => number {
  return (step) => {
    const e = conn.popChannelError() ?? [421, 'unknown failure'];
    out.fail(`${step} failed: ${e[0]} ${e[1]}`, { event: step, code: e[0], error: e[1] });
    conn.shutdown();
    return 1;
  };
}
