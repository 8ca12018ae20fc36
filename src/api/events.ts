// The diagnostic events (docs/diagnostics.md): what a Ctx logger receives and what is published
// on diagnostics_channel, one channel per type (`beepwire:<type>`). Lifecycle steps and failures
// only: no event per frame (the echo path stays free of them), and no event carries a secret
// (SASL events name the mechanism and the identity, never a password or a blob).
import type { Ctx } from './ctx.js';
import type { Connection } from './connection.js';
import type { Channel } from './channel.js';
import type { Listener } from './listener.js';
import type { BeepError } from '../errors.js';
import type { TransportAddress } from '../transport/transport.js';

/** Which side did it: this process ('local') or the peer. */
export type Side = 'local' | 'peer';

/** What every event carries. */
export interface EventOf<T extends string> {
  /** The kind of event (the diagnostics channel is `beepwire:<type>`). */
  type: T;
  /** The context it happened in. */
  ctx: Ctx;
}

/** An event of one connection. */
export interface ConnectionEventOf<T extends string> extends EventOf<T> {
  /** The connection. */
  conn: Connection;
}

/** The session of a connection exists (accepted by a listener, or connecting). */
export interface ConnectionOpenEvent extends ConnectionEventOf<'connection:open'> {
  /** This side's role. */
  role: 'initiator' | 'listener';
  /** The peer's host (on the initiator side the one asked for). */
  host: string;
  /** The peer's port. */
  port: number;
  /** Transport adapter ('node', 'deno', 'websocket', …). */
  transport: string;
}

/** Greetings were exchanged (again after a tuning reset: `reset` true). */
export interface ConnectionReadyEvent extends ConnectionEventOf<'connection:ready'> {
  /** Profiles the peer advertised. */
  profiles: string[];
  /** This greeting follows a tuning reset (TLS, TUNNEL). */
  reset: boolean;
}

/** The session ended: once per connection:open. */
export interface ConnectionCloseEvent extends ConnectionEventOf<'connection:close'> {
  /** Why, unset for an orderly release. */
  error?: Error | undefined;
}

/**
 * The session ended because of a BeepError (a malformed frame, a budget, a timer, a refused
 * greeting, …), right before its connection:close. The peer closing the transport under the
 * session is not one: that is only connection:close, with its error.
 */
export interface SessionErrorEvent extends ConnectionEventOf<'session:error'> {
  /** The error that ended the session. */
  error: BeepError;
  /** Its stable code (BEEP_ERR_FRAMING, BEEP_ERR_BUDGET, BEEP_ERR_TIMEOUT, …). */
  code: string;
  /** The RFC 3080 §8 reply code popChannelError() gives for it (500 poorly formed, 550 a limit, 421 else). */
  replyCode: number;
}

/** A channel opened. */
export interface ChannelStartEvent extends ConnectionEventOf<'channel:start'> {
  /** Channel number. */
  number: number;
  /** Profile URI it runs. */
  profile: string;
  /** The side that asked for it. */
  by: Side;
}

/** A channel-0 request answered with an error: a start or a close refused, or a malformed element. */
export interface ChannelRefusedEvent extends ConnectionEventOf<'channel:refused'> {
  /** Channel number (-1 for a malformed element). */
  number: number;
  /** What was refused. */
  request: 'start' | 'close' | 'malformed';
  /** RFC 3080 §8 reply code (550, 501, 421, 554, …). */
  code: number;
  /** The diagnostic text sent with it. */
  text: string;
  /** The side that refused. */
  by: Side;
  /** Profiles the start asked for ([] for a close or a malformed element). */
  profiles: string[];
}

/** A channel is gone (closed by either side, a tuning reset or the session's end). */
export interface ChannelCloseEvent extends ConnectionEventOf<'channel:close'> {
  /** Channel number. */
  number: number;
  /** Profile URI it ran. */
  profile: string;
}

/** An application handler (or a profile module's) failed: what setOnError receives. */
export interface HandlerErrorEvent extends EventOf<'handler:error'> {
  /** The connection, if the fault belongs to one. */
  conn?: Connection | undefined;
  /** The channel, if the fault belongs to one. */
  channel?: Channel | undefined;
  /** The fault (BEEP_ERR_HANDLER with the thrown value as `cause`, or BEEP_ERR_TIMEOUT for a handler that never decided). */
  error: BeepError;
}

/** TLS is up: the session runs over it. */
export interface TlsOkEvent extends ConnectionEventOf<'tls:ok'> {
  /** This side's role in the handshake. */
  role: 'initiator' | 'listener';
  /** Negotiated protocol, when the runtime tells. */
  protocol?: string | undefined;
  /** The peer's certificate verified (tls.verifyCert). */
  verified: boolean;
  /** Why it did not, as the runtime says. */
  verifyError?: string | undefined;
  /** Common name of the peer's certificate, when the runtime exposes it. */
  peerName?: string | undefined;
}

/** A TLS start failed (refused, handshake, timeout): the session is shut down. */
export interface TlsFailEvent extends ConnectionEventOf<'tls:fail'> {
  /** This side's role in the handshake. */
  role: 'initiator' | 'listener';
  /** RFC 3080 §8 reply code of the reason, as popChannelError() gives it. */
  code: number;
  /** The reason. */
  text: string;
}

/** A SASL authentication succeeded. */
export interface SaslOkEvent extends ConnectionEventOf<'sasl:ok'> {
  /** This side's role. */
  role: 'initiator' | 'listener';
  /** Mechanism ('SCRAM-SHA-256', 'PLAIN', …). */
  mechanism: string;
  /** Authenticated identity. */
  authId: string;
  /** Authorization identity, if one was asked for. */
  authorizationId?: string | undefined;
}

/** A SASL attempt failed. */
export interface SaslFailEvent extends ConnectionEventOf<'sasl:fail'> {
  /** This side's role. */
  role: 'initiator' | 'listener';
  /** Mechanism tried. */
  mechanism: string;
  /** The identity tried, when the exchange got that far. */
  authId?: string | undefined;
  /** RFC 3080 §8 reply code (535 bad credentials, 454 the listener's handler failed, 501, 538, …). */
  code: number;
  /** The reason. */
  text: string;
}

/** A listener turned a connection away before any session (421 over a limit). */
export interface ListenerRefusedEvent extends EventOf<'listener:refused'> {
  /** The listener. */
  listener: Listener;
  /** Reply code of the greeting sent. */
  code: number;
  /** Its text. */
  text: string;
  /** The peer, when the transport tells. */
  remote?: TransportAddress | undefined;
}

/** Accepting failed while listening (EMFILE, ENFILE, ECONNABORTED): counted, the listener goes on. */
export interface ListenerErrorEvent extends EventOf<'listener:error'> {
  /** The listener. */
  listener: Listener;
  /** The runtime's error. */
  error: Error;
}

/** Every diagnostic event, told apart by `type`. */
export type BeepEvent =
  | ConnectionOpenEvent
  | ConnectionReadyEvent
  | ConnectionCloseEvent
  | SessionErrorEvent
  | ChannelStartEvent
  | ChannelRefusedEvent
  | ChannelCloseEvent
  | HandlerErrorEvent
  | TlsOkEvent
  | TlsFailEvent
  | SaslOkEvent
  | SaslFailEvent
  | ListenerRefusedEvent
  | ListenerErrorEvent;

/** The `type` of an event. */
export type BeepEventType = BeepEvent['type'];

/** Every event type; each is published on diagnostics_channel as `beepwire:<type>`. */
export const EVENT_TYPES: readonly BeepEventType[] = [
  'connection:open',
  'connection:ready',
  'connection:close',
  'session:error',
  'channel:start',
  'channel:refused',
  'channel:close',
  'handler:error',
  'tls:ok',
  'tls:fail',
  'sasl:ok',
  'sasl:fail',
  'listener:refused',
  'listener:error',
];

/** Receives every event of a context (CtxOptions.logger, ctx.setLogger); a throw is ignored. */
export type Logger = (event: BeepEvent) => void;

/** An error as plain data. */
export interface ErrorRecord {
  /** Error class name. */
  name: string;
  /** Message. */
  message: string;
  /** Stable code, when it has one. */
  code?: string;
}

/** An event as plain, JSON-safe data: objects replaced by their ids and errors by their text. */
export type EventRecord = {
  /** Which event this records. */
  type: BeepEventType;
} & Record<string, string | number | boolean | string[] | ErrorRecord | undefined>;

function errorRecord(e: unknown): ErrorRecord {
  const x = e as { name?: unknown; message?: unknown; code?: unknown } | null | undefined;
  const r: ErrorRecord = { name: String(x?.name ?? 'Error'), message: String(x?.message ?? e) };
  if (typeof x?.code === 'string') r.code = x.code;
  return r;
}

/** The event as plain data (a log line, JSON): `conn` becomes its id, `channel` its number, `ctx` is left out. */
export function eventRecord(e: BeepEvent): EventRecord {
  const out: EventRecord = { type: e.type };
  for (const [k, v] of Object.entries(e)) {
    if (k === 'type' || k === 'ctx' || v === undefined) continue;
    if (k === 'conn') out.conn = (v as Connection).id;
    else if (k === 'channel') out.channel = (v as Channel).number;
    else if (k === 'listener') out.listener = `${(v as Listener).host}:${(v as Listener).port}`;
    else if (k === 'error') out.error = errorRecord(v);
    else if (k === 'remote') out.remote = `${(v as TransportAddress).host}:${(v as TransportAddress).port}`;
    else out[k] = v as string | number | boolean | string[];
  }
  return out;
}
