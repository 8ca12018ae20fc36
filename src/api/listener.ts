// Listeners (PyVortex vortex.create_listener / wait_listeners / unlock_listeners).
import { Connection } from './connection.js';
import type { Transport, TransportFactory, TransportServer } from '../transport/transport.js';
import { runtimeTransport } from '../transport/select.js';
import { endWithin } from '../transport/linger.js';
import { websocketTransport } from '../transport/websocket.js';
import type { WebSocketListenOptions } from '../transport/ws-listen.js';
import type { Ctx } from './ctx.js';
import { processBudget } from '../session/budget.js';
import { greetingRefusal } from '../session/refusal.js';
import type { BeepError } from '../errors.js';
import { listenerRefused, listenerError } from './diagnostics.js';

/** Octets of the 421 greeting sent to connections over capacity (made once). */
let busy: Uint8Array | undefined;

/** Options of a listener. */
export interface ListenerOptions {
  /** Refuse every session with this greeting error (RFC 3080 §2.3.1.1, e.g. 421). */
  refuse?: {
    /** Reply code of the greeting's <error> (e.g. 421, service not available). */
    code: number;
    /** Diagnostic text of the <error>. */
    text: string;
  };
  /** Connections accepted at once; further ones are refused with 421 (default 10,000). */
  maxConnections?: number;
  /** Called for every accepted connection. */
  onAccept?: (conn: Connection) => void;
  /** Transport to listen with (default: the context's, else the runtime's). */
  transport?: TransportFactory;
  /**
   * Accept BEEP over WebSocket (Node): true, or options (`share: true` for plain BEEP and
   * WebSocket on one port; see WebSocketListenOptions). Not with `transport`.
   */
  websocket?: boolean | WebSocketListenOptions;
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
  #server: TransportServer | undefined;
  #ok = false;

  /** Use createListener(). */
  constructor(ctx: Ctx, host: string) {
    this.ctx = ctx;
    this.host = host;
  }

  /** True while listening. */
  isOk(): boolean {
    return this.#ok;
  }

  /** Marks the listener as bound to `server` or failed (used by createListener). */
  setState(server: TransportServer | undefined, port: number, errorMsg = ''): void {
    this.#server = server;
    this.#ok = server !== undefined;
    this.port = port;
    this.errorMsg = errorMsg;
  }

  /** Stops accepting and shuts down this listener's sessions. */
  close(): Promise<void> {
    this.#ok = false;
    this.ctx.listeners.delete(this);
    for (const c of this.connections) c.shutdown();
    return this.#server?.close() ?? Promise.resolve();
  }
}

/**
 * Starts a listener on host:port (port 0 picks a free one). Check isOk() / errorMsg: a
 * runtime that cannot listen (workerd, a browser) gives a listener that is not OK and says why.
 */
export async function createListener(ctx: Ctx, host: string, port: number | string, opts: ListenerOptions = {}): Promise<Listener> {
  const p = Number(port);
  if (!Number.isInteger(p) || p < 0 || p > 65535) throw new RangeError(`bad port ${port}`);
  const max = opts.maxConnections ?? 10_000;
  const listener = new Listener(ctx, host);
  let factory: TransportFactory;
  const ws = opts.websocket === true ? {} : opts.websocket === false ? undefined : opts.websocket;
  if (ws !== undefined && opts.transport !== undefined) throw new TypeError('`websocket` and `transport` exclude each other');
  try {
    factory = ws !== undefined ? websocketTransport(ws) : (opts.transport ?? ctx.options.transport ?? (await runtimeTransport()));
  } catch (e) {
    listener.setState(undefined, p, (e as Error).message);
    return listener;
  }
  if (factory.listen === undefined) {
    listener.setState(undefined, p, `the ${factory.kind} transport cannot listen on this runtime`);
    return listener;
  }
  const accepted = (t: Transport): void => {
    // Over a limit a stranger gets the 421 greeting and costs no session, no codec slot.
    if (opts.refuse === undefined && (listener.connections.size >= max || processBudget.sessions >= processBudget.maxSessions)) {
      refuseBusy(listener, t);
      return;
    }
    let conn: Connection;
    try {
      conn = Connection.accept(ctx, t, opts.refuse);
    } catch (e) {
      if ((e as BeepError)?.code === 'BEEP_ERR_CAPACITY') refuseBusy(listener, t);
      else {
        t.abort();
        ctx.reportError(e);
      }
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
  };
  try {
    // Accept errors while listening (EMFILE, ENFILE, ECONNABORTED) are counted, never thrown.
    const server = await factory.listen(host, p, accepted, (e) => {
      listener.acceptErrors++;
      listenerError(listener, e);
    });
    listener.setState(server, server.port);
    ctx.listeners.add(listener);
  } catch (e) {
    listener.setState(undefined, p, (e as Error).message);
  }
  return listener;
}

/** Sends the 421 greeting and closes; the transport is dropped soon even if the peer lingers. */
function refuseBusy(listener: Listener, t: Transport): void {
  listener.refused++;
  listenerRefused(listener, 421, 'too many connections', t.remote);
  busy ??= greetingRefusal(421, 'too many connections');
  endWithin(t, 1000, busy); // a refused stranger's octets and resets are of no interest
}

/** The part of Node's `process` that delivers signals. */
interface Signals {
  once(signal: string, f: () => void): unknown;
  off(signal: string, f: () => void): unknown;
}

/** Resolves when unlockListeners(ctx) is called (or on SIGINT/SIGTERM with unlockOnSignal). */
export function waitListeners(ctx: Ctx, opts: { unlockOnSignal?: boolean } = {}): Promise<void> {
  // Signals exist where a process does (Node, Bun, Deno's node compatibility); elsewhere the option is a no-op.
  const proc = (globalThis as { process?: Signals }).process;
  const signals = opts.unlockOnSignal && typeof proc?.once === 'function' ? proc : undefined;
  return new Promise((resolve) => {
    const done = (): void => {
      ctx.waiters.delete(done);
      if (signals) {
        signals.off('SIGINT', done);
        signals.off('SIGTERM', done);
      }
      resolve();
    };
    ctx.waiters.add(done);
    if (signals) {
      signals.once('SIGINT', done);
      signals.once('SIGTERM', done);
    }
  });
}

/** Unblocks every waitListeners() on the context. */
export function unlockListeners(ctx: Ctx): void {
  for (const w of [...ctx.waiters]) w();
}
