// TLS tuning profile (PyVortex vortex.tls): acceptTls on the listener side, startTls on the
// initiator side. TLS runs over the same connection, upgraded in place by the transport
// (node:tls, Deno.startTls, workerd's startTls); after the handshake both peers perform the
// tuning reset (RFC 3080 §3.1, §3) and greet again.
import { BeepError, BeepReplyError, thrownText } from '../errors.js';
import { within } from '../util/within.js';
import { registerProfile, type Ctx, type TuningStart } from '../api/ctx.js';
import { Connection, replyCodeOf } from '../api/connection.js';
import type { Channel } from '../api/channel.js';
import type { StartDecision } from '../session/management.js';
import type { PeerCertificateInfo, TlsServerUpgrade } from '../transport/transport.js';
import { TLS_URI, READY_XML, PROCEED_XML, parseTlsElement } from './profile.js';
import { callHandler, reportHandlerFault, errorElement, replyXml, detach, sizeOption, msOption } from '../sasl/guard.js';
import { base64Text } from '../util/base64.js';
import { isIpAddress } from '../util/ip.js';
import { readPem, type PemOrPath } from './pem.js';
import { wants, emit } from '../api/diagnostics.js';

export { TLS_URI } from './profile.js';
export type { PemOrPath } from './pem.js';
export type { PeerCertificateInfo, TlsInfo } from '../transport/transport.js';

/** Listener-side TLS handlers (PyVortex vortex.tls.accept_tls) and options. */
export interface AcceptTlsHandlers {
  /** Accept or refuse TLS for this connection and serverName (default accept). */
  acceptHandler?: (conn: Connection, serverName: string | undefined) => boolean | Promise<boolean>;
  /** Certificate for serverName: PEM or a path. */
  certHandler: (conn: Connection, serverName: string | undefined) => PemOrPath | Promise<PemOrPath>;
  /** Private key for serverName: PEM or a path. */
  keyHandler: (conn: Connection, serverName: string | undefined) => PemOrPath | Promise<PemOrPath>;
  /** CA certificates to verify client certificates (enables client certificate requests). */
  caHandler?: (conn: Connection, serverName: string | undefined) => PemOrPath | Promise<PemOrPath>;
  /**
   * Milliseconds from <proceed/> to a completed handshake, and again from there to the
   * peer's new greeting (default: the context's tlsHandshakeTimeout, else 10,000; 0 = off).
   * A peer that stalls is dropped with BeepError 'BEEP_ERR_TIMEOUT'.
   */
  tlsHandshakeTimeout?: number;
  /** Largest message accepted on a TLS channel, in octets (default 4096: it carries <ready/>). */
  maxMessage?: number;
}

/** Initiator-side options (PyVortex vortex.tls.start_tls). */
export interface StartTlsOptions {
  /** serverName for the TLS start and the certificate check (default: the connection's host). */
  serverName?: string;
  /** Trusted CA certificates (PEM or path); default: the platform's store. */
  ca?: PemOrPath | PemOrPath[];
  /** Client certificate (PEM or path), e.g. for SASL EXTERNAL. */
  cert?: PemOrPath;
  /** Client key (PEM or path). */
  key?: PemOrPath;
  /** Verify the listener's certificate (default true). */
  rejectUnauthorized?: boolean;
  /**
   * Milliseconds for the handshake after <proceed/> (default: `timeout`, else the context's
   * tlsHandshakeTimeout, else 10,000; 0 = off). Expiry: false, BeepError 'BEEP_ERR_TIMEOUT'.
   */
  tlsHandshakeTimeout?: number;
  /** Milliseconds for the listener's greeting after the handshake (default: the context's greetingTimeout, else 10,000); also the handshake's default. */
  timeout?: number;
}

/** Default tlsHandshakeTimeout in ms (contract: issue 9). */
export const TLS_HANDSHAKE_TIMEOUT = 10_000;
/** Default size limit of a TLS channel message: <ready/>, <proceed/> or an <error>. */
export const TLS_MAX_MESSAGE = 4096;

/** The context-wide tlsHandshakeTimeout (a CtxOptions field on the coordinator's branch). */
const ctxHandshakeTimeout = (ctx: Ctx): number | undefined => ctx.options.tlsHandshakeTimeout;

/** Connections whose TLS upgrade has begun (a second <ready/> must not start another). */
const upgrading = new WeakSet<Connection>();

/** Enables the TLS profile on a listener context (PyVortex vortex.tls.accept_tls). */
export function acceptTls(ctx: Ctx, handlers: AcceptTlsHandlers): boolean {
  const maxMessage = sizeOption('maxMessage', handlers.maxMessage, TLS_MAX_MESSAGE);
  const timeoutOf = (): number =>
    msOption('tlsHandshakeTimeout', handlers.tlsHandshakeTimeout ?? ctxHandshakeTimeout(ctx), TLS_HANDSHAKE_TIMEOUT);
  timeoutOf(); // a bad option is a RangeError now, not in the middle of a session
  const start: TuningStart = async (conn, req, offer) => {
    const d = await decide(conn, req, offer);
    if (!d.accept) tlsFailed(conn, 'listener', d.code, d.text);
    return d;
  };
  const decide: TuningStart = async (conn, req, offer) => {
    const serverName = req.serverName ?? conn.serverName;
    if (isEnabled(conn) || upgrading.has(conn)) return { accept: false, code: 550, text: 'TLS is already active' };
    if (!conn.transport.canAcceptTls)
      return { accept: false, code: 421, text: `TLS is not available on the ${conn.transport.kind} transport` };
    if (!(await allowed(conn, serverName, handlers))) return { accept: false, code: 421, text: 'TLS not available' };
    if (offer.content === undefined) {
      // <ready/> follows as a MSG
      return { accept: true, uri: TLS_URI, maxMessage };
    }
    let el: ReturnType<typeof parseTlsElement>;
    try {
      el = parseTlsElement(offer.encoding === 'base64' ? base64Text(offer.content) : offer.content);
    } catch (e) {
      return { accept: false, code: 501, text: (e as Error).message };
    }
    if (el.kind !== 'ready') return { accept: false, code: 501, text: 'expected <ready />' };
    let secure: TlsServerUpgrade;
    try {
      secure = await credentialsFor(conn, serverName, handlers);
    } catch (e) {
      reportHandlerFault(ctx, e, conn);
      return { accept: false, code: 421, text: 'TLS not available' };
    }
    if (conn.closed || upgrading.has(conn)) return { accept: false, code: 550, text: 'TLS is already active' };
    upgrading.add(conn);
    const d: StartDecision = {
      accept: true,
      uri: TLS_URI,
      content: PROCEED_XML,
      maxMessage,
      onReplySent: () => upgradeListener(conn, secure, timeoutOf()),
    };
    return d;
  };
  // Advertised in greetings; ready messages sent after the start arrive on the channel.
  registerProfile(ctx, TLS_URI, {
    frameReceived: (conn, channel, frame) => {
      if (frame.type !== 'MSG') return;
      detach(ctx, conn, answerReady(conn, channel, frame.msgNo, frame.text, handlers, timeoutOf()));
    },
    tuningStart: start,
  });
  return true;
}

/** Runs the application's acceptHandler; a throw refuses and is reported. */
async function allowed(conn: Connection, serverName: string | undefined, h: AcceptTlsHandlers): Promise<boolean> {
  if (h.acceptHandler === undefined) return true;
  try {
    return (await callHandler('TLS acceptHandler', () => h.acceptHandler!(conn, serverName))) === true;
  } catch (e) {
    reportHandlerFault(conn.ctx, e, conn);
    return false;
  }
}

/** Collects the listener's certificate, key and CA; a throwing handler (or an unreadable file) is a HandlerFault. */
async function credentialsFor(conn: Connection, serverName: string | undefined, h: AcceptTlsHandlers): Promise<TlsServerUpgrade> {
  return callHandler('TLS certificate handlers', async () => {
    const cert = await readPem(await h.certHandler(conn, serverName));
    const key = await readPem(await h.keyHandler(conn, serverName));
    const ca = h.caHandler ? await readPem(await h.caHandler(conn, serverName)) : undefined;
    return { cert, key, ...(ca === undefined ? {} : { ca }) };
  });
}

/** <ready/> sent as a MSG on an open TLS channel: RPY <proceed/> or ERR, then the upgrade. */
async function answerReady(
  conn: Connection,
  channel: Channel,
  msgNo: number,
  text: string,
  h: AcceptTlsHandlers,
  timeout: number,
): Promise<void> {
  const serverName = conn.serverName;
  // Every send is guarded: the peer may end the session while we wait for the handlers.
  const fail = (code: number, why: string): void => {
    tlsFailed(conn, 'listener', code, why);
    replyXml(channel, 'ERR', msgNo, errorElement(code, why));
  };
  let el: ReturnType<typeof parseTlsElement>;
  try {
    el = parseTlsElement(text);
  } catch (e) {
    return fail(501, (e as Error).message);
  }
  if (el.kind !== 'ready') return fail(501, 'expected <ready />');
  if (isEnabled(conn) || upgrading.has(conn)) return fail(550, 'TLS is already active');
  if (!conn.transport.canAcceptTls) return fail(421, `TLS is not available on the ${conn.transport.kind} transport`);
  upgrading.add(conn); // claimed before the first await: one upgrade per connection
  let secure: TlsServerUpgrade | undefined;
  if (await allowed(conn, serverName, h)) {
    try {
      secure = await credentialsFor(conn, serverName, h);
    } catch (e) {
      reportHandlerFault(conn.ctx, e, conn);
    }
  }
  if (secure === undefined) {
    upgrading.delete(conn);
    return fail(421, 'TLS not available');
  }
  const sc = secure;
  if (!replyXml(channel, 'RPY', msgNo, PROCEED_XML, () => upgradeListener(conn, sc, timeout))) upgrading.delete(conn);
}

/**
 * Listener side, right after <proceed/> was handed to the transport: upgrade in place; the
 * session is reset (and greets again) when the handshake completes. A peer that stalls in the
 * handshake, or never greets again, is dropped after `timeout` ms each.
 */
function upgradeListener(conn: Connection, secure: TlsServerUpgrade, timeout: number): void {
  if (conn.closed) return;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const stop = (): void => {
    clearTimeout(timer);
    timer = undefined;
  };
  const arm = (what: string): void => {
    stop();
    if (timeout > 0)
      timer = setTimeout(() => conn.shutdown(new BeepError(`${what} not completed within ${timeout} ms`, 'BEEP_ERR_TIMEOUT')), timeout);
  };
  conn.setOnClose(stop);
  arm('TLS handshake');
  conn.upgradeTls({ ...secure, server: true }, [TLS_URI]).then(
    () => {
      if (conn.closed) {
        stop();
        return;
      }
      arm('greeting after TLS');
      conn.ready.then(stop, stop);
      tlsUp(conn, 'listener');
    },
    (e: unknown) => {
      stop();
      const why = `TLS upgrade failed: ${(e as Error)?.message ?? String(e)}`;
      tlsFailed(conn, 'listener', 421, why);
      conn.shutdown(new BeepError(why, 'BEEP_ERR_TLS', { cause: e }));
    },
  );
}

/**
 * Starts TLS on a connection (PyVortex vortex.tls.start_tls): <ready/> piggybacked in the
 * start, <proceed/>, handshake with certificate verification, tuning reset, new greetings.
 * Resolves true when the session is running over TLS. On refusal or a failed handshake it
 * resolves false, the reason is in conn.popChannelError(), and the connection is shut down:
 * it never stays OK in clear after a failed TLS request.
 */
export async function startTls(conn: Connection, opts: StartTlsOptions = {}): Promise<boolean> {
  const already = isEnabled(conn);
  const ok = await negotiate(conn, opts);
  if (ok && !already) tlsUp(conn, 'initiator');
  return ok;
}

/** startTls's work; the outcome is reported by startTls. */
async function negotiate(conn: Connection, opts: StartTlsOptions): Promise<boolean> {
  // The session ends with the reason (conn.error, onClose; BEEP_ERR_TIMEOUT for a timer), which
  // popChannelError() then reports; never OK in clear after a failed TLS request.
  const fail = (e: unknown): false => {
    const err = e instanceof Error ? e : new BeepError(String(e), 'BEEP_ERR_TLS');
    tlsFailed(conn, 'initiator', err instanceof BeepReplyError ? err.replyCode : replyCodeOf(err), thrownText(err)); // before the connection:close it causes
    if (conn.closed) conn.pushError(err);
    conn.shutdown(err);
    return false;
  };
  const greetingWait = msOption('timeout', opts.timeout ?? conn.ctx.options.greetingTimeout, 10_000);
  const handshakeWait = msOption(
    'tlsHandshakeTimeout',
    opts.tlsHandshakeTimeout ?? opts.timeout ?? ctxHandshakeTimeout(conn.ctx),
    TLS_HANDSHAKE_TIMEOUT,
  );
  if (!conn.isOk()) return fail(new BeepError('connection is not ready', 'BEEP_ERR_NOT_CONNECTED'));
  if (isEnabled(conn)) return true;
  const serverName = opts.serverName ?? (isIpAddress(conn.host) ? undefined : conn.host);
  const ch = await conn.openChannel(0, TLS_URI, { content: READY_XML, serverName, tuning: true, mime: true, maxMessage: TLS_MAX_MESSAGE });
  if (ch === null) {
    tlsFailed(conn, 'initiator'); // the refusal openChannel recorded
    conn.shutdown();
    return false;
  }
  let el: ReturnType<typeof parseTlsElement>;
  try {
    el = parseTlsElement(
      ch.startReply ?? (await ch.request(READY_XML, { headers: { 'Content-Type': 'application/beep+xml' }, timeout: handshakeWait })).text,
    );
  } catch (e) {
    return fail(e);
  }
  if (el.kind === 'error') return fail(new BeepReplyError(el.code, el.text));
  if (el.kind !== 'proceed') return fail(new BeepReplyError(501, 'expected <proceed />'));
  try {
    const ca = opts.ca === undefined ? undefined : await Promise.all((Array.isArray(opts.ca) ? opts.ca : [opts.ca]).map(readPem));
    const cert = opts.cert === undefined ? undefined : await readPem(opts.cert);
    const key = opts.key === undefined ? undefined : await readPem(opts.key);
    await within(
      handshakeWait,
      'TLS handshake',
      conn.upgradeTls(
        {
          serverName,
          // The identity checked when no serverName is given (an IP address): the host connected to.
          host: conn.host,
          ...(ca === undefined ? {} : { ca }),
          ...(cert === undefined ? {} : { cert }),
          ...(key === undefined ? {} : { key }),
          rejectUnauthorized: opts.rejectUnauthorized ?? true,
        },
        [TLS_URI],
      ),
    );
    await within(greetingWait, 'greeting after TLS', conn.ready);
    return conn.isOk();
  } catch (e) {
    return fail(
      e instanceof BeepError
        ? e
        : new BeepError(`TLS handshake failed: ${(e as Error)?.message ?? String(e)}`, 'BEEP_ERR_TLS', { cause: e }),
    );
  }
}

/** Connects and starts TLS at once (auto-TLS); check isOk() and isEnabled(). */
export async function connectTls(ctx: Ctx, host: string, port: number | string, opts: StartTlsOptions = {}): Promise<Connection> {
  const conn = await Connection.connect(ctx, host, port);
  if (conn.isOk()) await startTls(conn, opts);
  return conn;
}

/** Nothing to initialise (PyVortex vortex.tls.init): TLS is the runtime's; returns true. */
export function init(_ctx: Ctx): boolean {
  return true;
}

/** True when the connection runs over TLS (PyVortex vortex.tls.is_enabled). */
export function isEnabled(conn: Connection): boolean {
  return conn.tls !== undefined;
}

/**
 * True when TLS is up and the peer's certificate was verified (PyVortex vortex.tls.verify_cert):
 * it chains to a trusted CA and, on the initiator side, names the host. False without TLS, when
 * the initiator turned verification off (rejectUnauthorized false) and the check failed, and on
 * a listener when the client sent no certificate or one its caHandler's CAs do not sign
 * (conn.tls.verifyError says why).
 */
export function verifyCert(conn: Connection): boolean {
  return conn.tls?.verified === true;
}

/** tls:ok, with what the handshake established. */
function tlsUp(conn: Connection, role: 'initiator' | 'listener'): void {
  const ctx = conn.ctx;
  const i = conn.tls;
  if (i === undefined || !wants(ctx, 'tls:ok')) return;
  const cn = i.peerCertificate?.subject.CN;
  emit({
    type: 'tls:ok',
    ctx,
    conn,
    role,
    protocol: i.protocol,
    verified: i.verified,
    verifyError: i.verifyError,
    peerName: Array.isArray(cn) ? cn[0] : cn,
  });
}

/** tls:fail with `code` and `text`, else the reason the connection recorded last (popChannelError). */
function tlsFailed(conn: Connection, role: 'initiator' | 'listener', code?: number, text?: string): void {
  const ctx = conn.ctx;
  if (!wants(ctx, 'tls:fail')) return;
  const last = conn.lastChannelError();
  emit({ type: 'tls:fail', ctx, conn, role, code: code ?? last?.[0] ?? 421, text: text ?? last?.[1] ?? 'TLS failed' });
}

/** The peer's certificate, if TLS is up and the peer sent one (as far as the runtime exposes it). */
export function peerCertificate(conn: Connection): PeerCertificateInfo | undefined {
  return conn.tls?.peerCertificate;
}

/** SHA-256 digest of the peer certificate (colon-separated hex), if any. */
export function peerCertificateDigest(conn: Connection): string | undefined {
  return peerCertificate(conn)?.fingerprint256;
}
