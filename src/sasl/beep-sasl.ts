// SASL profile family over BEEP (RFC 3080 §4.1), PyVortex vortex.sasl: acceptMech on the
// listener, startAuth on the initiator, isAuthenticated / methodUsed / authId. One successful
// authentication per session; PLAIN only under TLS unless the listener opts in.
import { BeepError, BeepReplyError } from '../errors.js';
import { registerProfile, type Ctx, type ProfileHandlers, type TuningStart } from '../api/ctx.js';
import type { Connection } from '../api/connection.js';
import { ConnectionSlot } from '../api/slot.js';
import type { Channel } from '../api/channel.js';
import type { StartDecision, StartRequest } from '../session/management.js';
import type { ProfileOffer } from '../session/mgmt.js';
import { blobXml, parseBlob, type Blob } from './blob.js';
import { base64Text } from '../util/base64.js';
import {
  anonymousServer,
  plainServer,
  externalServer,
  cramMd5Server,
  anonymousClient,
  plainClient,
  externalClient,
  cramMd5Client,
  type AuthProps,
  type ServerMechanism,
  type ServerContext,
  type ClientMechanism,
  type ClientProps,
  type ServerStep,
} from './mechanisms.js';
import { digestMd5Server, digestMd5Client } from './digest-md5.js';
import {
  HandlerFault,
  reportHandlerFault,
  callHandler,
  errorElement,
  clipText,
  replyXml,
  detach,
  sizeOption,
  msOption,
  dropSession,
} from './guard.js';
import { scramServer, scramClient } from './scram.js';
import { wants, emit } from '../api/diagnostics.js';
import { otpServer, otpClient } from './otp-mech.js';
import type { AuthResult } from './mechanisms.js';

export type { AuthProps, ClientProps, Credentials, AuthResult } from './mechanisms.js';
export { otpInit, OtpMemoryStore, type OtpState, type OtpEntry, type OtpClientOptions } from './otp-mech.js';
export { otpKey, otpHex, otpSixWords, type OtpAlgorithm, type OtpChallenge } from './otp.js';

/** Mechanism names (PyVortex vortex.sasl.PLAIN and friends). */
export const ANONYMOUS = 'ANONYMOUS',
  PLAIN = 'PLAIN',
  CRAM_MD5 = 'CRAM-MD5',
  DIGEST_MD5 = 'DIGEST-MD5',
  EXTERNAL = 'EXTERNAL',
  SCRAM_SHA_256 = 'SCRAM-SHA-256',
  OTP = 'OTP';
const MECHS: Record<string, [(c: ServerContext) => ServerMechanism, (p: ClientProps) => ClientMechanism]> = {
  [ANONYMOUS]: [anonymousServer, anonymousClient],
  [PLAIN]: [plainServer, plainClient],
  [CRAM_MD5]: [cramMd5Server, cramMd5Client],
  [DIGEST_MD5]: [digestMd5Server, digestMd5Client],
  [EXTERNAL]: [externalServer, externalClient],
  [SCRAM_SHA_256]: [scramServer, scramClient],
  [OTP]: [otpServer, otpClient],
};

/** Prefix of the SASL profile URIs (RFC 3080 §4.1: http://iana.org/beep/SASL/ followed by the mechanism name). */
export const SASL_URI_PREFIX = 'http://iana.org/beep/SASL/';

/**
 * The mechanism name a name or a profile URI stands for: 'plain', 'PLAIN' and
 * 'http://iana.org/beep/SASL/PLAIN' all give 'PLAIN'. Every API that takes a mechanism goes
 * through it. RangeError for anything else (RFC 4422 §3.1: 1 to 20 of A-Z, 0-9, '-', '_').
 */
export function mechName(mech: string): string {
  if (typeof mech !== 'string') throw new TypeError('a SASL mechanism is a string');
  const name = (mech.startsWith(SASL_URI_PREFIX) ? mech.slice(SASL_URI_PREFIX.length) : mech).toUpperCase();
  if (!/^[A-Z0-9_-]{1,20}$/.test(name)) throw new RangeError(`not a SASL mechanism name or profile URI: ${clipText(mech)}`);
  return name;
}

/** Profile URI of a mechanism given by name or URI (RangeError as mechName). */
export const saslUri = (mech: string): string => SASL_URI_PREFIX + mechName(mech);

/** True when beepwire implements the mechanism (given by name or URI); false for anything else, never throws. */
export function isSupported(mech: string): boolean {
  try {
    return Object.hasOwn(MECHS, mechName(mech));
  } catch {
    return false;
  }
}

/** Mechanisms the peer's greeting advertises, by name (its http://iana.org/beep/SASL/* profiles). */
export function peerMechanisms(conn: Connection): string[] {
  const out: string[] = [];
  for (const uri of conn.remoteProfiles) {
    if (!uri.startsWith(SASL_URI_PREFIX)) continue;
    try {
      out.push(mechName(uri));
    } catch {
      /* a peer's malformed name: not a mechanism */
    }
  }
  return out;
}

/** The factories of a mechanism given by name or URI; RangeError when unsupported. */
function mechanism(mech: string): {
  name: string;
  server: (c: ServerContext) => ServerMechanism;
  client: (p: ClientProps) => ClientMechanism;
} {
  const name = mechName(mech);
  const m = Object.hasOwn(MECHS, name) ? MECHS[name] : undefined;
  if (m === undefined) throw new RangeError(`unsupported SASL mechanism ${clipText(mech)}`);
  return { name, server: m[0], client: m[1] };
}

/**
 * Listener handler: (conn, props) -> true/false, the password for CRAM/DIGEST/SCRAM, or the
 * user's OtpEntry for OTP. A throw or rejection fails the attempt with 454 (temporary
 * authentication failure; not counted in maxFailures) and is reported as BEEP_ERR_HANDLER
 * (reportHandlerFault in guard.ts).
 */
export type AuthHandler = (conn: Connection, props: AuthProps) => AuthResult | Promise<AuthResult>;

/** Options of acceptMech. */
export interface AcceptMechOptions {
  /** Allow PLAIN on a session without TLS (default false: refused with 538). */
  allowPlainInClear?: boolean;
  /** DIGEST-MD5 realm (default: serverName, else 'beepwire'). */
  realm?: string;
  /**
   * EXTERNAL: the identity the transport vouches for (RFC 4422 App. A). Default: the common
   * name of the TLS client certificate when it verified against the caHandler's CAs (none
   * otherwise: 538); a listener on a trusted transport may supply another.
   */
  externalIdentity?: (conn: Connection) => string | undefined;
  /**
   * Largest message accepted on a SASL channel, in octets (default 65,536). A bigger one ends
   * the session (BEEP_ERR_MESSAGE_TOO_LARGE) before it is buffered: blobs are small.
   */
  maxMessage?: number;
  /** Milliseconds a failure reply is held back, to slow down password guessing (default 0). */
  failureDelay?: number;
  /**
   * Failed attempts allowed per session (default 10; 0 = no limit). The failure that reaches
   * it is still answered, then the session ends with BeepError 'BEEP_ERR_AUTH_LIMIT'.
   * Counted: every exchange that ends in a failure reply except 454 (our handler's fault)
   * and 550 (state errors, e.g. a second authentication).
   */
  maxFailures?: number;
}

/** Default acceptMech maxMessage: a SASL channel carries <blob> elements of a few hundred octets. */
export const SASL_MAX_MESSAGE = 65536;
/** Default acceptMech maxFailures. */
export const SASL_MAX_FAILURES = 10;
/** Longest decoded client response handed to a mechanism (longer: 501 without parsing). */
const MAX_RESPONSE = 8192;

/** What a session's successful authentication established. */
export interface SaslState {
  /** Mechanism used. */
  mech: string;
  /** Authenticated identity. */
  authId: string;
  /** Authorization identity, if asked for. */
  authorizationId?: string;
}

const XML = { headers: { 'Content-Type': 'application/beep+xml' } };
const EMPTY = new Uint8Array(0);

/** Where a connection keeps what its authentication established. */
const SASL_STATE = new ConnectionSlot<SaslState>('sasl');

/** The first value of a certificate field (node:tls gives an array for repeated fields). */
function firstOf(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}

/** Per-session SASL bookkeeping (survives tuning resets: the TCP peer is the same). */
interface Guard {
  /** Failed attempts so far. */
  failures: number;
  /** A step (and its password lookup) is running: one at a time per session. */
  busy: boolean;
  /** Exchanges in progress by channel number. */
  exchanges: Map<number, ServerMechanism>;
}
const guards = new WeakMap<Connection, Guard>();
/** The identity an exchange's client claimed (for sasl:fail; never its password). */
const claimed = new WeakMap<ServerMechanism, { authId?: string | undefined }>();
const guardOf = (conn: Connection): Guard => {
  let g = guards.get(conn);
  if (g === undefined) guards.set(conn, (g = { failures: 0, busy: false, exchanges: new Map() }));
  return g;
};

/** Options with defaults filled in and checked. */
interface Resolved {
  maxMessage: number;
  failureDelay: number;
  maxFailures: number;
}

/** One mechanism step that never throws: handler faults become 454, anything else 501. */
async function safeStep(ctx: Ctx, conn: Connection, ex: ServerMechanism, response: Uint8Array | undefined): Promise<ServerStep> {
  if (response !== undefined && response.length > MAX_RESPONSE)
    return { kind: 'fail', code: 501, text: `SASL response longer than ${MAX_RESPONSE} octets` };
  try {
    return await ex.step(response);
  } catch (e) {
    if (e instanceof HandlerFault) {
      reportHandlerFault(ctx, e, conn);
      // RFC 3080 §8 454: the client may retry; its credentials were not judged.
      return { kind: 'fail', code: 454, text: 'temporary authentication failure' };
    }
    return { kind: 'fail', code: 501, text: 'malformed SASL message' }; // a mechanism tripped over client input
  }
}

/**
 * Counts a failure reply and holds it for failureDelay; true when it reaches maxFailures, in
 * which case the session is ended right after the reply is handed to the transport.
 */
async function noteFailure(conn: Connection, o: Resolved, code: number): Promise<boolean> {
  if (code === 454 || code === 550) return false;
  const g = guardOf(conn);
  g.failures++;
  // The session stays busy through the delay: steps sent meanwhile, on any channel, get 550
  // unjudged, so spreading guesses over channels gains nothing.
  if (o.failureDelay > 0) {
    g.busy = true;
    try {
      await new Promise((r) => setTimeout(r, o.failureDelay));
    } finally {
      g.busy = false;
    }
  }
  if (o.maxFailures === 0 || g.failures < o.maxFailures) return false;
  // After the current run of microtasks: the failure reply is queued and flushed by then.
  setTimeout(() => dropSession(conn, new BeepError(`${g.failures} failed SASL authentications on this session`, 'BEEP_ERR_AUTH_LIMIT')), 0);
  return true;
}

/** Enables a mechanism (name or profile URI) on a listener context (PyVortex vortex.sasl.accept_mech). */
export function acceptMech(ctx: Ctx, mech: string, handler: AuthHandler, opts: AcceptMechOptions = {}): boolean {
  const { name, server: factory } = mechanism(mech);
  const o: Resolved = {
    maxMessage: sizeOption('maxMessage', opts.maxMessage, SASL_MAX_MESSAGE),
    failureDelay: msOption('failureDelay', opts.failureDelay, 0),
    maxFailures: msOption('maxFailures', opts.maxFailures, SASL_MAX_FAILURES),
  };
  const uri = saslUri(name);
  const handlers: ProfileHandlers = {
    frameReceived: (conn, channel, frame) => {
      if (frame.type === 'MSG') detach(ctx, conn, serverMsg(ctx, conn, channel, frame.msgNo, frame.text, name, o));
    },
    close: (n, conn) => {
      guardOf(conn).exchanges.delete(n);
      return true;
    },
    closed: (n, conn) => {
      guardOf(conn).exchanges.delete(n);
    }, // a tuning reset drops channels too
  };
  const start: TuningStart = async (conn, req, offer) => {
    const who: { authId?: string | undefined } = {}; // the identity claimed, once the mechanism knows it
    const d = await decide(conn, req, offer, who);
    if (!d.accept) saslFailed(conn, 'listener', name, who.authId, d.code, d.text);
    return d;
  };
  const decide = async (
    conn: Connection,
    req: StartRequest,
    offer: ProfileOffer,
    who: { authId?: string | undefined },
  ): Promise<StartDecision> => {
    const refuse = async (code: number, text: string): Promise<StartDecision> => {
      await noteFailure(conn, o, code);
      return { accept: false, code, text: clipText(text) };
    };
    if (isAuthenticated(conn)) return { accept: false, code: 550, text: 'session already authenticated' };
    if (name === PLAIN && !opts.allowPlainInClear && conn.tls === undefined)
      return { accept: false, code: 538, text: 'PLAIN requires TLS on this listener' };
    const g = guardOf(conn);
    if (g.busy) return { accept: false, code: 550, text: 'another SASL step is in progress on this session' };
    if (o.maxFailures > 0 && g.failures >= o.maxFailures) return { accept: false, code: 550, text: 'too many failed authentications' };
    // RFC 3080 §4.1: the piggybacked blob is the initial response; without one the client has
    // none yet (the mechanism then sends the first challenge, empty for client-first ones).
    let response: Uint8Array | undefined;
    if (offer.content !== undefined) {
      let b: ReturnType<typeof parseBlob>;
      try {
        b = parseBlob(offer.encoding === 'base64' ? base64Text(offer.content) : offer.content);
      } catch (e) {
        return refuse(501, (e as Error).message);
      }
      if ('error' in b) return refuse(501, 'SASL: expected <blob>, got <error>');
      if (b.status === 'abort') return refuse(535, 'authentication aborted');
      response = b.data ?? EMPTY; // <blob/>: an empty initial response
    }
    let externalId: string | undefined;
    try {
      // Only a certificate that verified against the listener's CAs vouches for anyone: a
      // listener asks for client certificates without requiring them (tls.verifyCert).
      externalId = opts.externalIdentity
        ? opts.externalIdentity(conn)
        : conn.tls?.verified === true
          ? firstOf(conn.tls.peerCertificate?.subject.CN)
          : undefined;
    } catch (e) {
      reportHandlerFault(ctx, new HandlerFault('SASL externalIdentity', e), conn);
      return { accept: false, code: 454, text: 'temporary authentication failure' };
    }
    const ex = factory({
      check: (props) => {
        who.authId = props.authId;
        return callHandler('SASL authentication handler', () => handler(conn, props));
      },
      serverName: conn.serverName ?? req.serverName,
      realm: opts.realm,
      externalId,
    });
    claimed.set(ex, who);
    g.busy = true;
    const epoch = conn.tuningEpoch;
    let step: ServerStep;
    try {
      step = await safeStep(ctx, conn, ex, response);
    } finally {
      g.busy = false;
    }
    // A tuning reset meanwhile (TLS pipelined behind this start): the answer would reach nobody.
    if (conn.tuningEpoch !== epoch) return { accept: false, code: 550, text: 'session was reset' };
    if (step.kind === 'fail') return refuse(step.code, step.text);
    if (step.kind === 'success') {
      if (!complete(conn, name, step)) return { accept: false, code: 550, text: 'session already authenticated' };
      g.exchanges.delete(req.number); // one left on this number by a tuning reset must not answer MSGs
      return { accept: true, uri, content: blobXml('complete', step.data), maxMessage: o.maxMessage };
    }
    g.exchanges.set(req.number, ex); // replaces any exchange left on this number by a tuning reset
    return { accept: true, uri, content: blobXml('continue', step.challenge), maxMessage: o.maxMessage };
  };
  registerProfile(ctx, uri, { ...handlers, tuningStart: start });
  return true;
}

/** Records a success; false if the session authenticated meanwhile (one per session). */
function complete(conn: Connection, mech: string, step: Extract<ServerStep, { kind: 'success' }>): boolean {
  if (isAuthenticated(conn)) return false;
  conn.set(SASL_STATE, {
    mech,
    authId: step.authId,
    ...(step.authorizationId ? { authorizationId: step.authorizationId } : {}),
  } satisfies SaslState);
  saslOk(conn, 'listener', mech, step.authId, step.authorizationId);
  return true;
}

/** sasl:ok. */
function saslOk(conn: Connection, role: 'initiator' | 'listener', mechanism: string, authId: string, authorizationId?: string): void {
  const ctx = conn.ctx;
  if (wants(ctx, 'sasl:ok')) emit({ type: 'sasl:ok', ctx, conn, role, mechanism, authId, authorizationId: authorizationId || undefined });
}

/** sasl:fail: names the mechanism and the identity tried, never a credential. */
function saslFailed(
  conn: Connection,
  role: 'initiator' | 'listener',
  mechanism: string,
  authId: string | undefined,
  code: number,
  text: string,
): void {
  const ctx = conn.ctx;
  if (wants(ctx, 'sasl:fail')) emit({ type: 'sasl:fail', ctx, conn, role, mechanism, authId, code, text });
}

/** A client <blob> on a SASL channel: the next step of the exchange, answered RPY or ERR. */
async function serverMsg(
  ctx: Ctx,
  conn: Connection,
  channel: Channel,
  msgNo: number,
  text: string,
  mech: string,
  o: Resolved,
): Promise<void> {
  const g = guardOf(conn);
  const ex = g.exchanges.get(channel.number);
  const err = async (code: number, why: string, counted = true): Promise<void> => {
    saslFailed(conn, 'listener', mech, ex === undefined ? undefined : claimed.get(ex)?.authId, code, why);
    g.exchanges.delete(channel.number);
    if (counted) await noteFailure(conn, o, code);
    replyXml(channel, 'ERR', msgNo, errorElement(code, why));
  };
  let b: ReturnType<typeof parseBlob>;
  try {
    b = parseBlob(text);
  } catch (e) {
    return err(501, (e as Error).message);
  }
  if ('error' in b) return err(501, 'SASL: expected <blob>, got <error>');
  if (b.status === 'abort') return err(535, 'authentication aborted');
  if (ex === undefined) return err(550, 'no authentication in progress on this channel', false);
  if (g.busy) {
    saslFailed(conn, 'listener', mech, claimed.get(ex)?.authId, 550, 'another SASL step is in progress on this session');
    replyXml(channel, 'ERR', msgNo, errorElement(550, 'another SASL step is in progress on this session'));
    return;
  }
  if (o.maxFailures > 0 && g.failures >= o.maxFailures) return err(550, 'too many failed authentications', false);
  g.busy = true;
  const epoch = conn.tuningEpoch;
  let step: ServerStep;
  try {
    step = await safeStep(ctx, conn, ex, b.data ?? EMPTY);
  } finally {
    g.busy = false;
  }
  if (conn.tuningEpoch !== epoch) return; // the channel went with a tuning reset
  if (step.kind === 'fail') return err(step.code, step.text);
  if (step.kind === 'continue') {
    replyXml(channel, 'RPY', msgNo, blobXml('continue', step.challenge));
    return;
  }
  g.exchanges.delete(channel.number);
  if (!complete(conn, mech, step)) return err(550, 'session already authenticated', false);
  replyXml(channel, 'RPY', msgNo, blobXml('complete', step.data));
}

/** Client options beyond credentials. */
export interface StartAuthOptions {
  /** Aborting sends <blob status='abort'/> at the next step. */
  signal?: AbortSignal;
  /** Observes each server challenge (diagnostics, tests). */
  onChallenge?: (challenge: Uint8Array | undefined) => void;
  /** Largest listener message accepted on the SASL channel, in octets (default 65,536). */
  maxMessage?: number;
  /** Each step's reply must come within this many ms (default: the context's startTimeout, else 30,000). */
  timeout?: number;
}

/**
 * Authenticates the session with a mechanism given by name or profile URI (PyVortex
 * vortex.sasl.start_auth). Resolves true on success;
 * false with the reason in conn.popChannelError() otherwise (the session stays usable).
 */
export async function startAuth(conn: Connection, mech: string, props: ClientProps, opts: StartAuthOptions = {}): Promise<boolean> {
  const ok = await authenticate(conn, mech, props, opts);
  if (ok) {
    const st = conn.get(SASL_STATE)!; // set on success
    saslOk(conn, 'initiator', st.mech, st.authId, st.authorizationId);
  } else if (wants(conn.ctx, 'sasl:fail')) {
    const [code, text] = conn.lastChannelError() ?? [421, 'authentication failed'];
    saslFailed(conn, 'initiator', mechName(mech), props.authId, code, text);
  }
  return ok;
}

/** startAuth's work; the outcome is reported by startAuth. */
async function authenticate(conn: Connection, mech: string, props: ClientProps, opts: StartAuthOptions): Promise<boolean> {
  const { name, client: factory } = mechanism(mech);
  const failWith = (e: unknown): false => {
    conn.pushError(e);
    return false;
  };
  if (isAuthenticated(conn)) return failWith(new BeepReplyError(550, 'session already authenticated'));
  const limit = sizeOption('maxMessage', opts.maxMessage, SASL_MAX_MESSAGE);
  const m = factory({ ...props, serverName: props.serverName ?? conn.serverName ?? 'localhost' });
  const initial = await m.initial();
  const ch = await conn.openChannel(0, saslUri(name), {
    content: blobXml('continue', initial),
    serverName: props.serverName,
    maxMessage: limit,
  });
  if (ch === null) return false;
  const finish = async (ok: boolean, e?: unknown): Promise<boolean> => {
    // A listener that let a step go unanswered leaves the exchange stuck: drop the connection
    // (recorded once, as its end) rather than wait on a channel that cannot close cleanly.
    if ((e as BeepError | undefined)?.code === 'BEEP_ERR_TIMEOUT') {
      conn.shutdown(e as BeepError);
      return false;
    }
    if (e !== undefined) conn.pushError(e);
    if (ch.isOk()) await ch.close();
    return ok;
  };
  try {
    const wait = opts.timeout ?? conn.ctx.options.startTimeout ?? 30_000;
    const ask = (c: Channel, xml: string): Promise<Blob | { error: number; text: string }> => askStep(c, xml, wait);
    let reply = ch.startReply !== undefined ? parseBlob(ch.startReply) : await ask(ch, blobXml('continue', initial));
    for (let round = 0; round < 16; round++) {
      if ('error' in reply) return finish(false, new BeepReplyError(reply.error, reply.text));
      if (reply.status === 'abort') return finish(false, new BeepReplyError(535, 'authentication aborted by the listener'));
      if (reply.status === 'complete') {
        if (!(await m.verify(reply.data)))
          return finish(false, new BeepError(`the listener failed ${name} server verification`, 'BEEP_ERR_SASL'));
        conn.set(SASL_STATE, {
          mech: name,
          authId: props.authId ?? props.anonymousToken ?? '',
          ...(props.authorizationId ? { authorizationId: props.authorizationId } : {}),
        } satisfies SaslState);
        return finish(true);
      }
      opts.onChallenge?.(reply.data);
      if (opts.signal?.aborted) {
        const r = await ask(ch, blobXml('abort'));
        return finish(false, 'error' in r ? new BeepReplyError(r.error, r.text) : new BeepReplyError(535, 'authentication aborted'));
      }
      reply = await ask(ch, blobXml('continue', await m.step(reply.data ?? new Uint8Array(0))));
    }
    return finish(false, new BeepError('SASL exchange did not converge', 'BEEP_ERR_SASL'));
  } catch (e) {
    return finish(false, e);
  }
}

/** Sends one blob on the SASL channel and parses the reply (ERR carries <error>). */
async function askStep(ch: Channel, xml: string, timeout: number): Promise<Blob | { error: number; text: string }> {
  const f = await ch.request(xml, { ...XML, timeout });
  const r = parseBlob(f.text);
  if (f.type === 'ERR' && !('error' in r)) return { error: 535, text: 'authentication failed' };
  return r;
}

/** Nothing to initialise (PyVortex vortex.sasl.init): the mechanisms are built in; returns true. */
export function init(_ctx: Ctx): boolean {
  return true;
}

/** True once the session authenticated (PyVortex vortex.sasl.is_authenticated). */
export function isAuthenticated(conn: Connection): boolean {
  return conn.has(SASL_STATE);
}

/** Mechanism that authenticated the session (PyVortex vortex.sasl.method_used). */
export function methodUsed(conn: Connection): string | undefined {
  return conn.get(SASL_STATE)?.mech;
}

/** Authenticated identity (PyVortex auth_id). */
export function authId(conn: Connection): string | undefined {
  return conn.get(SASL_STATE)?.authId;
}

/** Authorization identity the authenticated client asked to act as, which the handler granted (undefined: none asked). */
export function authorizationId(conn: Connection): string | undefined {
  return conn.get(SASL_STATE)?.authorizationId;
}
