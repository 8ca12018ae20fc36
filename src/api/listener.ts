// Listeners (PyVortex vortex.create_listener / wait_listeners / unlock_listeners).
import { createServer, type Server, type Socket } from 'node:net';
import { Connection } from './connection.js';
import type { Ctx } from './ctx.js';
import { processBudget } from '../session/budget.js';
import { greetingRefusal } from '../session/refusal.js';
import type { BeepError } from '../errors.js';

/** Octets of the 421 greeting sent to connections over capacity (made once). */
let busy: Uint8Array | undefined;

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
  /** Accept failures while listening (EMFILE when the process is out of file descriptors, …). */
  acceptErrors = 0;
  /** Connections refused with 421 because a limit (maxConnections, process sessions, codec) was reached. */
  refused = 0;
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
    // Over a limit a stranger gets the 421 greeting and costs no session, no codec slot.
    if (opts.refuse === undefined && (listener.connections.size >= max || processBudget.sessions >= processBudget.maxSessions)) {
      refuseBusy(listener, socket);
      return;
    }
    let conn: Connection;
    try {
      conn = Connection.accept(ctx, socket, opts.refuse);
    } catch (e) {
      if ((e as BeepError)?.code === 'BEEP_ERR_CAPACITY') refuseBusy(listener, socket);
      else { socket.destroy(); ctx.reportError(e); }
      return;
    }
    listener.connections.add(conn);
    conn.listener = listener;
    if (opts.onAccept !== undefined) {
      try {
        opts.onAccept(conn);
      } catch (e) {
        ctx.reportError(e, { conn });
      }
    }
  });
  listener = new Listener(ctx, host, server);
  return new Promise((resolve) => {
    const failed = (e: Error): void => { listener.setState(false, p, e.message); resolve(listener); };
    server.once('error', failed);
    server.listen(p, host, () => {
      server.off('error', failed);
      // While listening, accept errors (EMFILE, ENFILE, ECONNABORTED) are counted, never thrown:
      // the server keeps listening and accepts again once descriptors free up.
      server.on('error', () => { listener.acceptErrors++; });
      const addr = server.address();
      listener.setState(true, typeof addr === 'object' && addr !== null ? addr.port : p);
      ctx.listeners.add(listener);
      resolve(listener);
    });
  });
}

/** Sends the 421 greeting and closes; the socket is destroyed soon even if the peer lingers. */
function refuseBusy(listener: Listener, socket: Socket): void {
  listener.refused++;
  socket.on('error', () => { /* a refused stranger's resets are of no interest */ });
  busy ??= greetingRefusal(421, 'too many connections');
  socket.end(busy);
  setTimeout(() => socket.destroy(), 1000).unref();
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
