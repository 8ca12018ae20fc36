// Survival helpers shared by the profile modules (SASL, TLS, TUNNEL, XML-RPC, ALIVE): no
// exception from peer input or an application handler may escape a session, every element we
// send is built with the one escaper (session/mgmt.ts), and channels that only carry small
// control messages are bounded before anything is buffered (DESIGN.md "Survival").
// It lives under src/sasl/ because SASL is its main user; it belongs with the profile layer
// once the coordinator moves shared profile code (DESIGN.md suggests src/xml/ and profiles/).
import type { Socket } from 'node:net';
import type { Ctx } from '../api/ctx.js';
import type { Connection } from '../api/connection.js';
import type { ChannelState } from '../session/channel-state.js';
import { BeepError, thrownText } from '../errors.js';
import { errorXml } from '../session/mgmt.js';

/** An application handler (password lookup, policy callback) threw or rejected. */
export class HandlerFault extends Error {
  /** Wraps what the handler threw. */
  constructor(where: string, readonly fault: unknown) {
    super(`${where} failed: ${thrownText(fault)}`, { cause: fault });
    this.name = 'HandlerFault';
  }
}

/** Reports an application handler fault through ctx.reportError (ctx.setOnError) as BEEP_ERR_HANDLER with `cause`. */
export function reportHandlerFault(ctx: Ctx, err: unknown, conn?: Connection): void {
  const fault = err instanceof HandlerFault ? err.fault : err;
  const e = new BeepError(err instanceof HandlerFault ? err.message : `handler failed: ${thrownText(err)}`, 'BEEP_ERR_HANDLER', { cause: fault });
  ctx.reportError(e, conn === undefined ? {} : { conn });
}

/** Runs an application handler; a throw or rejection becomes a HandlerFault naming `where`. */
export async function callHandler<T>(where: string, f: () => T | Promise<T>): Promise<T> {
  try { return await f(); } catch (e) { throw new HandlerFault(where, e); }
}

/** Longest diagnostic text we put in an error reply (peer-chosen names end up in it). */
const MAX_ERROR_TEXT = 256;

/** Bounds a diagnostic text for an error reply. */
export function clipText(text: string): string {
  return text.length > MAX_ERROR_TEXT ? `${text.slice(0, MAX_ERROR_TEXT)}...` : text;
}

/** `<error code='..'>text</error>` through session/mgmt.ts's escaper, text bounded. */
export function errorElement(code: number, text: string): string {
  return errorXml({ code, text: clipText(text) });
}

const enc = new TextEncoder();
const XML_HEAD = enc.encode('Content-Type: application/beep+xml\r\n\r\n');

/**
 * Queues an application/beep+xml reply unless the session or channel is gone (a peer may end
 * the session while an asynchronous answer is being prepared). True when queued.
 */
export function replyXml(conn: Connection, st: ChannelState, type: 'RPY' | 'ERR', msgNo: number, xml: string, onSent?: () => void): boolean {
  if (conn.session.ended || st.state === 'closed') return false;
  try {
    conn.session.sendReply(st, type, msgNo, enc.encode(xml), onSent, st.mime ? XML_HEAD : undefined);
    return true;
  } catch {
    return false; // ended in between: nobody is owed this reply any more
  }
}

/** Runs an async task from a synchronous callback; a rejection is reported, never unhandled. */
export function detach(ctx: Ctx, conn: Connection, task: Promise<unknown>): void {
  task.catch((e: unknown) => reportHandlerFault(ctx, e, conn));
}

/** Checks a message-size option: a positive integer, else RangeError. */
export function sizeOption(name: string, v: number | undefined, dflt: number): number {
  const n = v ?? dflt;
  if (!Number.isInteger(n) || n < 1 || n > 0x7fffffff) throw new RangeError(`${name} must be an integer in 1..2147483647`);
  return n;
}

/** Checks a timer option in ms: 0 (off) or a positive integer, else RangeError. */
export function msOption(name: string, v: unknown, dflt: number): number {
  const n = v ?? dflt;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 0 || n > 0x7fffffff) throw new RangeError(`${name} must be an integer number of ms (0 = off)`);
  return n;
}

/**
 * Gives a socket a TUNNEL/TLS module took over an 'error' listener for the rest of its life:
 * an 'error' event without one is an uncaught exception. 'close' follows every error, so the
 * owner's close handling still runs; `onError` may end the session early.
 */
export function guardSocket(socket: Socket, onError?: (e: Error) => void): void {
  // Once per socket: a socket reused through repeated tuning resets must not gather listeners.
  if (onError === undefined) {
    if (guarded.has(socket)) return;
    guarded.add(socket);
  }
  socket.on('error', (e: Error) => { try { onError?.(e); } catch { /* closing anyway */ } });
}

/** Sockets that already carry a plain guard. */
const guarded = new WeakSet<Socket>();

/**
 * Ends a session with `err` after its queued frames are handed to the socket (so the reply
 * that explains why reaches the peer), then closes TCP; a peer that does not read is cut off.
 */
export function dropSession(conn: Connection, err: Error): void {
  if (conn.session.ended) return;
  conn.session.flush();
  conn.io.flush();
  const s = conn.io.socket;
  conn.session.transportClosed(err); // ends the session with `err` (hooks, onClose) without aborting the socket
  const cut = setTimeout(() => s.destroy(), 2000);
  cut.unref?.();
  s.once('close', () => clearTimeout(cut));
  s.end();
}
