// Survival helpers shared by the profile modules (SASL, TLS, TUNNEL, XML-RPC, ALIVE): no
// exception from peer input or an application handler may escape a session, every element we
// send is built with the one escaper (session/mgmt.ts), and channels that only carry small
// control messages are bounded before anything is buffered (DESIGN.md "Survival").
// It lives under src/sasl/ because SASL is its main user; it belongs with the profile layer
// once the coordinator moves shared profile code (DESIGN.md suggests src/xml/ and profiles/).
import type { Ctx } from '../api/ctx.js';
import type { Connection } from '../api/connection.js';
import type { Channel } from '../api/channel.js';
import { BeepError, thrownText } from '../errors.js';
import { errorXml } from '../session/mgmt.js';

/** An application handler (password lookup, policy callback) threw or rejected. */
export class HandlerFault extends Error {
  /** Wraps what the handler threw. */
  constructor(
    where: string,
    readonly fault: unknown,
  ) {
    super(`${where} failed: ${thrownText(fault)}`, { cause: fault });
    this.name = 'HandlerFault';
  }
}

/** Reports an application handler fault through ctx.reportError (ctx.setOnError) as BEEP_ERR_HANDLER with `cause`. */
export function reportHandlerFault(ctx: Ctx, err: unknown, conn?: Connection): void {
  const fault = err instanceof HandlerFault ? err.fault : err;
  const e = new BeepError(err instanceof HandlerFault ? err.message : `handler failed: ${thrownText(err)}`, 'BEEP_ERR_HANDLER', {
    cause: fault,
  });
  ctx.reportError(e, conn === undefined ? {} : { conn });
}

/** Runs an application handler; a throw or rejection becomes a HandlerFault naming `where`. */
export async function callHandler<T>(where: string, f: () => T | Promise<T>): Promise<T> {
  try {
    return await f();
  } catch (e) {
    throw new HandlerFault(where, e);
  }
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

const XML_HEADERS = { 'Content-Type': 'application/beep+xml' };

/**
 * Queues an application/beep+xml reply unless the session or channel is gone (a peer may end
 * the session while an asynchronous answer is being prepared). True when queued.
 */
export function replyXml(channel: Channel, type: 'RPY' | 'ERR', msgNo: number, xml: string, onSent?: () => void): boolean {
  if (channel.conn.closed || channel.state.state === 'closed') return false;
  try {
    const opts = { headers: XML_HEADERS, ...(onSent === undefined ? {} : { onSent }) };
    return type === 'RPY' ? channel.sendRpy(xml, undefined, msgNo, opts) : channel.sendErr(xml, undefined, msgNo, opts);
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
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 0 || n > 0x7fffffff)
    throw new RangeError(`${name} must be an integer number of ms (0 = off)`);
  return n;
}

/**
 * Ends a session with `err` after its queued frames are handed to the transport (so the reply
 * that explains why reaches the peer), then closes it; a peer that does not read is cut off.
 */
export function dropSession(conn: Connection, err: Error): void {
  conn.drop(err);
}
