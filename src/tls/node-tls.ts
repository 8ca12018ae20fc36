// TLS tuning profile over node:tls (Node and Bun), PyVortex vortex.tls: acceptTls on the
// listener side, startTls on the initiator side. TLS runs over the same TCP connection; after
// the handshake both peers perform the tuning reset (RFC 3080 §3.1, §3) and greet again.
import { TLSSocket, connect as tlsConnect, createSecureContext, type SecureContext, type PeerCertificate } from 'node:tls';
import { readFileSync } from 'node:fs';
import { isIP, type Socket } from 'node:net';
import { BeepError, BeepReplyError } from '../errors.js';
import { registerProfile, type Ctx } from '../api/ctx.js';
import { Connection, type TuningStart } from '../api/connection.js';
import type { Channel } from '../api/channel.js';
import type { StartDecision } from '../session/management.js';
import { TLS_URI, READY_XML, PROCEED_XML, parseTlsElement } from './profile.js';
import { errorXml } from '../session/mgmt.js';
import { base64Text } from '../util/base64.js';

export { TLS_URI } from './profile.js';

/** A certificate or key: a PEM string, or a path to a PEM file. */
export type PemOrPath = string;

/** Listener-side TLS handlers (PyVortex vortex.tls.accept_tls). */
export interface AcceptTlsHandlers {
  /** Accept or refuse TLS for this connection and serverName (default accept). */
  acceptHandler?: (conn: Connection, serverName: string | undefined) => boolean | Promise<boolean>;
  /** Certificate for serverName: PEM or a path. */
  certHandler: (conn: Connection, serverName: string | undefined) => PemOrPath | Promise<PemOrPath>;
  /** Private key for serverName: PEM or a path. */
  keyHandler: (conn: Connection, serverName: string | undefined) => PemOrPath | Promise<PemOrPath>;
  /** CA certificates to verify client certificates (enables client certificate requests). */
  caHandler?: (conn: Connection, serverName: string | undefined) => PemOrPath | Promise<PemOrPath>;
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
  /** Handshake plus new greeting timeout in ms (default 10,000). */
  timeout?: number;
}

/** What a connection knows once TLS is up. */
export interface TlsState {
  /** The TLS socket. */
  socket: TLSSocket;
  /** serverName the TLS start named. */
  serverName: string | undefined;
}

/** Reads a PEM given inline or as a file path (Node adapter only). */
function pem(v: PemOrPath): string {
  return v.includes('-----BEGIN') ? v : readFileSync(v, 'utf8');
}

const xmlBytes = (xml: string): { body: Uint8Array; head: Uint8Array } => ({
  body: new TextEncoder().encode(xml),
  head: new TextEncoder().encode('Content-Type: application/beep+xml\r\n\r\n'),
});

/** Enables the TLS profile on a listener context (PyVortex vortex.tls.accept_tls). */
export function acceptTls(ctx: Ctx, handlers: AcceptTlsHandlers): boolean {
  // Advertised in greetings; ready messages sent after the start arrive on the channel.
  registerProfile(ctx, TLS_URI, {
    frameReceived: (conn, channel, frame) => {
      if (frame.type !== 'MSG') return;
      void answerReady(conn, channel, frame.msgNo, frame.text, handlers);
    },
  });
  const start: TuningStart = async (conn, req, offer) => {
    const serverName = req.serverName ?? conn.serverName;
    if (isEnabled(conn)) return { accept: false, code: 550, text: 'TLS is already active' };
    if (handlers.acceptHandler && !(await handlers.acceptHandler(conn, serverName))) {
      return { accept: false, code: 421, text: 'TLS not available' };
    }
    if (offer.content === undefined) return { accept: true, uri: TLS_URI }; // <ready/> follows as a MSG
    let el;
    try { el = parseTlsElement(offer.encoding === 'base64' ? base64Text(offer.content) : offer.content); } catch (e) {
      return { accept: false, code: 501, text: (e as Error).message };
    }
    if (el.kind !== 'ready') return { accept: false, code: 501, text: 'expected <ready />' };
    let secure: SecureContext;
    try { secure = await secureContextFor(conn, serverName, handlers); } catch (e) {
      return { accept: false, code: 421, text: `TLS not available: ${(e as Error).message}` };
    }
    const d: StartDecision = { accept: true, uri: TLS_URI, content: PROCEED_XML, onReplySent: () => upgradeListener(conn, secure, serverName, handlers.caHandler !== undefined) };
    return d;
  };
  ctx.tuning.set(`start:${TLS_URI}`, start);
  return true;
}

async function secureContextFor(conn: Connection, serverName: string | undefined, h: AcceptTlsHandlers): Promise<SecureContext> {
  const cert = pem(await h.certHandler(conn, serverName));
  const key = pem(await h.keyHandler(conn, serverName));
  const ca = h.caHandler ? pem(await h.caHandler(conn, serverName)) : undefined;
  return createSecureContext({ cert, key, ca });
}

/** <ready/> sent as a MSG on an open TLS channel: RPY <proceed/> or ERR, then the upgrade. */
async function answerReady(conn: Connection, channel: Channel, msgNo: number, text: string, h: AcceptTlsHandlers): Promise<void> {
  const serverName = conn.serverName;
  const fail = (code: number, why: string): void => {
    const { body, head } = xmlBytes(errorXml({ code, text: why }));
    conn.session.sendReply(channel.state, 'ERR', msgNo, body, undefined, head);
  };
  let el;
  try { el = parseTlsElement(text); } catch (e) { return fail(501, (e as Error).message); }
  if (el.kind !== 'ready') return fail(501, 'expected <ready />');
  let secure: SecureContext;
  try { secure = await secureContextFor(conn, serverName, h); } catch (e) { return fail(421, `TLS not available: ${(e as Error).message}`); }
  const { body, head } = xmlBytes(PROCEED_XML);
  conn.session.sendReply(channel.state, 'RPY', msgNo, body, () => upgradeListener(conn, secure, serverName, h.caHandler !== undefined), head);
}

/** Listener side: wrap the socket right after <proceed/> went out; reset once secure. */
function upgradeListener(conn: Connection, secureContext: SecureContext, serverName: string | undefined, requestCert: boolean): void {
  const raw = conn.releaseSocket();
  const wrap = (): void => {
    const s = new TLSSocket(raw, { isServer: true, secureContext, requestCert, rejectUnauthorized: false });
    conn.adoptSocket(s);
    s.once('secure', () => {
      conn.tuning.set('tls', { socket: s, serverName } satisfies TlsState);
      conn.session.tuningReset(conn.greeting([TLS_URI]));
    });
  };
  // <proceed/> must be on the wire before TLS takes the socket over.
  if (raw.writableLength === 0) wrap();
  else raw.once('drain', wrap);
}

/**
 * Starts TLS on a connection (PyVortex vortex.tls.start_tls): <ready/> piggybacked in the
 * start, <proceed/>, handshake with certificate verification, tuning reset, new greetings.
 * Resolves true when the session is running over TLS. On refusal or a failed handshake it
 * resolves false, the reason is in conn.popChannelError(), and the connection is shut down:
 * it never stays OK in clear after a failed TLS request.
 */
export async function startTls(conn: Connection, opts: StartTlsOptions = {}): Promise<boolean> {
  const fail = (e: unknown): false => {
    conn.pushError(e);
    conn.shutdown();
    return false;
  };
  if (!conn.isOk()) return fail(new BeepError('connection is not ready', 'BEEP_ERR_NOT_CONNECTED'));
  if (isEnabled(conn)) return true;
  const serverName = opts.serverName ?? (isIP(conn.host) === 0 ? conn.host : undefined);
  const ch = await conn.openChannel(0, TLS_URI, { content: READY_XML, serverName, tuning: true, mime: true });
  if (ch === null) { conn.shutdown(); return false; }
  let el;
  try {
    el = parseTlsElement(ch.startReply ?? (await ch.request(READY_XML, { headers: { 'Content-Type': 'application/beep+xml' } })).text);
  } catch (e) { return fail(e); }
  if (el.kind === 'error') return fail(new BeepReplyError(el.code, el.text));
  if (el.kind !== 'proceed') return fail(new BeepReplyError(501, 'expected <proceed />'));
  const timeout = opts.timeout ?? conn.ctx.options.greetingTimeout ?? 10_000;
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    const raw = conn.releaseSocket();
    const s = tlsConnect({
      socket: raw as Socket,
      servername: serverName,
      ca: opts.ca === undefined ? undefined : (Array.isArray(opts.ca) ? opts.ca : [opts.ca]).map(pem),
      cert: opts.cert === undefined ? undefined : pem(opts.cert),
      key: opts.key === undefined ? undefined : pem(opts.key),
      rejectUnauthorized: opts.rejectUnauthorized ?? true,
    });
    conn.adoptSocket(s);
    await Promise.race([
      new Promise<void>((resolve, reject) => {
        s.once('secureConnect', () => resolve());
        s.once('error', reject);
        s.once('close', () => reject(new BeepError('connection closed during the TLS handshake', 'BEEP_ERR_TLS')));
      }),
      new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new BeepError('TLS handshake timed out', 'BEEP_ERR_TIMEOUT')), timeout); }),
    ]);
    conn.tuning.set('tls', { socket: s, serverName } satisfies TlsState);
    conn.session.tuningReset(conn.greeting([TLS_URI]));
    await Promise.race([conn.session.mgmt.ready, new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new BeepError('greeting after TLS timed out', 'BEEP_ERR_TIMEOUT')), timeout); })]);
    return conn.isOk();
  } catch (e) {
    return fail(e instanceof BeepError ? e : new BeepError(`TLS handshake failed: ${(e as Error).message}`, 'BEEP_ERR_TLS', { cause: e }));
  } finally {
    clearTimeout(timer);
  }
}

/** Connects and starts TLS at once (auto-TLS); check isOk() and isEnabled(). */
export async function connectTls(ctx: Ctx, host: string, port: number | string, opts: StartTlsOptions = {}): Promise<Connection> {
  const conn = await Connection.connect(ctx, host, port);
  if (conn.isOk()) await startTls(conn, opts);
  return conn;
}

/** True when the connection runs over TLS (PyVortex vortex.tls.is_enabled). */
export function isEnabled(conn: Connection): boolean {
  return conn.tuning.has('tls');
}

/** The peer's certificate, if TLS is up and the peer sent one. */
export function peerCertificate(conn: Connection): PeerCertificate | undefined {
  const t = conn.tuning.get('tls') as TlsState | undefined;
  const c = t?.socket.getPeerCertificate();
  return c && Object.keys(c).length > 0 ? c : undefined;
}

/** SHA-256 digest of the peer certificate (colon-separated hex), if any. */
export function peerCertificateDigest(conn: Connection): string | undefined {
  return peerCertificate(conn)?.fingerprint256;
}
