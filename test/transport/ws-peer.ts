// Raw WebSocket peers for the wire tests: BEEP frames written by hand, split and merged across
// WebSocket messages at will, TEXT or BINARY, and every message received kept apart.
import { WebSocket, WebSocketServer } from 'ws';
import type { AddressInfo } from 'node:net';
import type { WebSocketClientOptions, WebSocketConstructor } from '../../src/index.js';
import { runtimeName } from '../../src/transport/select.js';

/** Octets of Latin-1 text (each char one octet, so any byte value can be written). */
export const latin1 = (s: string): Buffer => Buffer.from(s, 'latin1');

/** Collects the messages of a ws socket: octets, and whether each was TEXT. */
export class Messages {
  /** Every message, in order. */
  readonly list: Array<{ data: Buffer; text: boolean }> = [];
  /** Pongs received. */
  pongs = 0;

  /** Listens on `ws`. */
  constructor(ws: WebSocket) {
    ws.on('message', (d: Buffer, isBinary: boolean) => {
      this.list.push({ data: d, text: !isBinary });
    });
    ws.on('pong', () => {
      this.pongs++;
    });
  }

  /** Everything received, as one Latin-1 string. */
  get all(): string {
    return this.list.map((m) => m.data.toString('latin1')).join('');
  }

  /** Waits until the concatenated stream matches `pattern`. */
  async waitFor(pattern: string | RegExp, ms = 5000): Promise<string> {
    const deadline = Date.now() + ms;
    for (;;) {
      const s = this.all;
      if (typeof pattern === 'string' ? s.includes(pattern) : pattern.test(s)) return s;
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${pattern}; got ${JSON.stringify(s.slice(0, 400))}`);
      await new Promise((r) => setTimeout(r, 5));
    }
  }
}

/**
 * True when `m` is exactly one BEEP frame: a data frame (header, `size` octets, END) or a SEQ
 * frame (RFC 3080 §2.2.1, RFC 3081 §3.1.4).
 */
export function isOneFrame(m: Buffer): boolean {
  const s = m.toString('latin1');
  if (/^SEQ \d+ \d+ \d+\r\n$/.test(s)) return true;
  const h = /^(MSG|RPY|ERR|ANS|NUL) \d+ \d+ [.*] \d+ (\d+)(?: \d+)?\r\n/.exec(s);
  if (h === null) return false;
  return s.length === h[0].length + Number(h[2]) + 5 && s.endsWith('END\r\n');
}

/** Sends `octets` cut at `cuts` (offsets), each piece its own message, TEXT or BINARY as `text` says. */
export async function sendSplit(ws: WebSocket, octets: Buffer, cuts: number[], text: (i: number) => boolean): Promise<void> {
  const points = [0, ...cuts.filter((c) => c > 0 && c < octets.length).sort((a, b) => a - b), octets.length];
  for (let i = 0; i + 1 < points.length; i++) {
    const piece = octets.subarray(points[i], points[i + 1]);
    if (piece.length === 0) continue;
    await new Promise<void>((res, rej) => ws.send(piece, { binary: !text(i) }, (e) => (e ? rej(e) : res())));
  }
}

/** A ws client to 127.0.0.1:port that sends TEXT frames without UTF-8 checks on either side. */
export async function rawClient(port: number, path = '/'): Promise<{ ws: WebSocket; msgs: Messages }> {
  const ws = new WebSocket(`ws://127.0.0.1:${port}${path}`, { skipUTF8Validation: true, perMessageDeflate: false });
  const msgs = new Messages(ws);
  await new Promise<void>((res, rej) => {
    ws.once('open', () => res());
    ws.once('error', rej);
  });
  return { ws, msgs };
}

/** A ws server on 127.0.0.1 (a LibVortex-like listener written by hand), port picked by the system. */
export async function rawServer(
  onConnection: (ws: WebSocket, msgs: Messages) => void,
): Promise<{ port: number; close: () => Promise<void> }> {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, skipUTF8Validation: true, perMessageDeflate: false });
  wss.on('connection', (ws) => onConnection(ws, new Messages(ws)));
  await new Promise<void>((res) => wss.once('listening', () => res()));
  return {
    port: (wss.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((res) => {
        for (const c of wss.clients) c.terminate();
        wss.close(() => res());
      }),
  };
}

/**
 * Client options for wss:// to a listener whose certificate `ca` signed. On Node the `ws` client
 * takes `ca`; elsewhere the client is the WHATWG WebSocket, which takes no CA, so `ws`'s
 * WHATWG-shaped class (Bun: its own built-in one) is passed, made with `ca`.
 */
export function trusting(ca: string): WebSocketClientOptions {
  if (runtimeName() === 'node') return { ca };
  const withCa = class extends WebSocket {
    constructor(url: string | URL, protocols?: string | string[]) {
      super(url, protocols, { ca });
    }
  };
  return { WebSocket: withCa as unknown as WebSocketConstructor };
}
