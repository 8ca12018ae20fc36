// Emitting the diagnostic events (events.ts) to a context's logger and to diagnostics_channel.
// Every site asks wants() first and builds the event only when someone listens: with no logger
// and no subscriber an event costs one property read and one boolean, and nothing is allocated.
import type { Ctx } from './ctx.js';
import type { Connection } from './connection.js';
import type { Listener } from './listener.js';
import { EVENT_TYPES, type BeepEvent, type BeepEventType, type Side, type ChannelRefusedEvent } from './events.js';
import { diagnosticsChannel, type DiagnosticsChannel } from '../transport/diagnostics.js';
import { BeepError } from '../errors.js';
import type { TransportAddress } from '../transport/transport.js';

/** The diagnostics channel of each event type (undefined where the runtime has none). */
const channels = {} as Record<BeepEventType, DiagnosticsChannel | undefined>;
for (const t of EVENT_TYPES) channels[t] = diagnosticsChannel(`beepwire:${t}`);

/** True when an event of `type` on `ctx` has a receiver (its logger, or a channel subscriber). */
export function wants(ctx: Ctx, type: BeepEventType): boolean {
  return ctx.logger !== undefined || channels[type]?.hasSubscribers === true;
}

const ignore = (): void => {};

/**
 * Hands `e` to its channel's subscribers and to the context's logger. A logger that throws (or
 * returns a rejected promise) is ignored, and never reported as an event: that would call it again.
 */
export function emit(e: BeepEvent): void {
  const ch = channels[e.type];
  if (ch?.hasSubscribers === true) ch.publish(e); // a subscriber's throw is the runtime's to report (Node: on the next tick)
  const log = e.ctx.logger;
  if (log === undefined) return;
  try {
    const r = log(e) as unknown;
    if (r !== null && typeof r === 'object' && typeof (r as Promise<unknown>).then === 'function')
      (r as Promise<unknown>).then(undefined, ignore);
  } catch {
    // ignored: see above
  }
}

/** connection:open. */
export function connectionOpened(conn: Connection): void {
  const ctx = conn.ctx;
  if (!wants(ctx, 'connection:open')) return;
  emit({ type: 'connection:open', ctx, conn, role: conn.role, host: conn.host, port: conn.port, transport: conn.transport.kind });
}

/** connection:ready. */
export function connectionReady(conn: Connection): void {
  const ctx = conn.ctx;
  if (!wants(ctx, 'connection:ready')) return;
  emit({ type: 'connection:ready', ctx, conn, profiles: conn.remoteProfiles, reset: conn.tuningEpoch > 0 });
}

/** session:error (when `err` is a BeepError other than the transport closing) and connection:close. */
export function connectionClosed(conn: Connection, err: Error | undefined): void {
  const ctx = conn.ctx;
  if (err instanceof BeepError && err.code !== 'BEEP_ERR_CONNECTION_CLOSED' && wants(ctx, 'session:error'))
    emit({ type: 'session:error', ctx, conn, error: err, code: err.code, replyCode: conn.lastChannelError()?.[0] ?? 421 });
  if (wants(ctx, 'connection:close')) emit({ type: 'connection:close', ctx, conn, error: err });
}

/** channel:start. */
export function channelStarted(conn: Connection, number: number, profile: string, by: Side): void {
  const ctx = conn.ctx;
  if (wants(ctx, 'channel:start')) emit({ type: 'channel:start', ctx, conn, number, profile, by });
}

/** channel:close. */
export function channelClosed(conn: Connection, number: number, profile: string): void {
  const ctx = conn.ctx;
  if (wants(ctx, 'channel:close')) emit({ type: 'channel:close', ctx, conn, number, profile });
}

/** channel:refused. */
export function channelRefused(
  conn: Connection,
  number: number,
  request: ChannelRefusedEvent['request'],
  code: number,
  text: string,
  by: Side,
  profiles: string[] = [],
): void {
  const ctx = conn.ctx;
  if (wants(ctx, 'channel:refused')) emit({ type: 'channel:refused', ctx, conn, number, request, code, text, by, profiles });
}

/** listener:refused. */
export function listenerRefused(listener: Listener, code: number, text: string, remote: TransportAddress | undefined): void {
  const ctx = listener.ctx;
  if (wants(ctx, 'listener:refused')) emit({ type: 'listener:refused', ctx, listener, code, text, remote });
}

/** listener:error. */
export function listenerError(listener: Listener, error: Error): void {
  const ctx = listener.ctx;
  if (wants(ctx, 'listener:error')) emit({ type: 'listener:error', ctx, listener, error });
}
