// Listeners (PyVortex vortex.create_listener / wait_listeners / unlock_listeners).
import { createServer, type Server, type Socket } from 'node:net';
import { Connection } from './connection.js';
import type { Ctx } from './ctx.js';

/** Options of a listener. */
export interface ListenerOptions {
  /** Refuse every session with this greeting error (RFC 3080 §2.3.1.1, e.g. 421). */
  refuse?: { code: number; text: string };
  /** Connections accepted at once; further ones are refused with 421 (default 10,000). */
  maxConnections?: number;
  /** Called for every accepted connection. */
  onAccept?: (conn: Connection) => void;
}

/** A listening socket accepting BEEP sessions. */
export class Listener {
  /** Context. */
  readonly ctx: Ctx;
  /** Host bound. */
  readonly host: string;
  /** Port bound (the real one when 0 was asked). */
  port = 0;
  /** Why listening failed, if it did. */
  errorMsg = '';
  /** Sessions accepted and still open. */
  readonly connections = new Set<Connection>();
  readonly #server: Server;
  #ok = false;

  /** Use createListener(). */
  constructor(ctx: Ctx, host: string, server: Server) {
    this.ctx = ctx;
    this.host = host;
    this.#server = server;
  }

  /** True while listening. */
  isOk(): boolean { return this.#ok; }

  /** Marks the listener as bound or failed (used by createListener). */
  setState(ok: boolean, port: number, errorMsg = ''): void {
    this.#ok = ok;
    this.port = port;
    this.errorMsg = errorMsg;
  }

  /** Stops accepting and shuts down this listener's sessions. */
  close(): Promise<void> {
    this.#ok = false;
    this.ctx.listeners.delete(this);
    for (const c of this.connections) c.shutdown();
    return new Promise((res) => this.#server.close(() => res()));
  }
}

/** Starts a listener on host:port (port 0 picks a free one). Check isOk() / errorMsg. */
export function createListener(ctx: Ctx, host: string, port: number | string, opts: ListenerOptions = {}): Promise<Listener> {
  const p = Number(port);
  if (!Number.isInteger(p) || p < 0 || p > 65535) throw new RangeError(`bad port ${port}`);
  const max = opts.maxConnections ?? 10_000;
  let listener: Listener;
  const server = createServer({ noDelay: true }, (socket: Socket) => {
    const refuse = opts.refuse ?? (listener.connections.size >= max ? { code: 421, text: 'too many connections' } : undefined);
    const conn = Connection.accept(ctx, socket, refuse);
    listener.connections.add(conn);
    conn.setOnClose(() => listener.connections.delete(conn));
    opts.onAccept?.(conn);
  });
  listener = new Listener(ctx, host, server);
  return new Promise((resolve) => {
    server.once('error', (e) => { listener.setState(false, p, e.message); resolve(listener); });
    server.listen(p, host, () => {
      const addr = server.address();
      listener.setState(true, typeof addr === 'object' && addr !== null ? addr.port : p);
      ctx.listeners.add(listener);
      resolve(listener);
    });
  });
}

/** Resolves when unlockListeners(ctx) is called (or on SIGINT/SIGTERM with unlockOnSignal). */
export function waitListeners(ctx: Ctx, opts: { unlockOnSignal?: boolean } = {}): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      ctx.waiters.delete(done);
      if (opts.unlockOnSignal) { process.off('SIGINT', done); process.off('SIGTERM', done); }
      resolve();
    };
    ctx.waiters.add(done);
    if (opts.unlockOnSignal) { process.once('SIGINT', done); process.once('SIGTERM', done); }
  });
}

/** Unblocks every waitListeners() on the context. */
export function unlockListeners(ctx: Ctx): void {
  for (const w of [...ctx.waiters]) w();
}
