// SASL profile family over BEEP (RFC 3080 §4.1), PyVortex vortex.sasl: acceptMech on the
// listener, startAuth on the initiator, isAuthenticated / methodUsed / authId. One successful
// authentication per session; PLAIN only under TLS unless the listener opts in.
import { BeepError, BeepReplyError } from '../errors.js';
import { registerProfile, type Ctx } from '../api/ctx.js';
import type { Connection, TuningStart } from '../api/connection.js';
import type { Channel } from '../api/channel.js';
import { isEnabled as tlsEnabled, peerCertificate } from '../tls/node-tls.js';
import { blobXml, parseBlob, type Blob } from './blob.js';
import { base64Text } from '../util/base64.js';
import {
  anonymousServer, plainServer, externalServer, cramMd5Server, anonymousClient, plainClient,
  externalClient, cramMd5Client, type AuthProps, type ServerMechanism, type ServerContext,
  type ClientMechanism, type ClientProps, type ServerStep,
} from './mechanisms.js';
import { digestMd5Server, digestMd5Client } from './digest-md5.js';
import { scramServer, scramClient } from './scram.js';

export type { AuthProps, ClientProps } from './mechanisms.js';

/** Mechanism names (PyVortex vortex.sasl.PLAIN and friends). */
export const ANONYMOUS = 'ANONYMOUS', PLAIN = 'PLAIN', CRAM_MD5 = 'CRAM-MD5', DIGEST_MD5 = 'DIGEST-MD5', EXTERNAL = 'EXTERNAL', SCRAM_SHA_256 = 'SCRAM-SHA-256';
const MECHS: Record<string, [(c: ServerContext) => ServerMechanism, (p: ClientProps) => ClientMechanism]> = {
  [ANONYMOUS]: [anonymousServer, anonymousClient],
  [PLAIN]: [plainServer, plainClient],
  [CRAM_MD5]: [cramMd5Server, cramMd5Client],
  [DIGEST_MD5]: [digestMd5Server, digestMd5Client],
  [EXTERNAL]: [externalServer, externalClient],
  [SCRAM_SHA_256]: [scramServer, scramClient],
};

/** Profile URI of a mechanism. */
export const saslUri = (mech: string): string => `http://iana.org/beep/SASL/${mech.toUpperCase()}`;

/** Listener handler: (conn, props) -> true/false, or the password for CRAM/DIGEST/SCRAM. */
export type AuthHandler = (conn: Connection, props: AuthProps) => boolean | string | null | undefined | Promise<boolean | string | null | undefined>;

/** Options of acceptMech. */
export interface AcceptMechOptions {
  /** Allow PLAIN on a session without TLS (default false: refused with 538). */
  allowPlainInClear?: boolean;
  /** DIGEST-MD5 realm (default: serverName, else 'beepwire'). */
  realm?: string;
  /**
   * EXTERNAL: the identity the transport vouches for (RFC 4422 App. A). Default: the common
   * name of the TLS client certificate; a listener on a trusted transport may supply another.
   */
  externalIdentity?: (conn: Connection) => string | undefined;
}

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

/** Enables a mechanism on a listener context (PyVortex vortex.sasl.accept_mech). */
export function acceptMech(ctx: Ctx, mech: string, handler: AuthHandler, opts: AcceptMechOptions = {}): boolean {
  const name = mech.toUpperCase();
  const factory = MECHS[name]?.[0];
  if (factory === undefined) throw new RangeError(`unsupported SASL mechanism ${mech}`);
  const uri = saslUri(name);
  const key = (n: number): string => `sasl:exchange:${n}`;
  registerProfile(ctx, uri, {
    frameReceived: (conn, channel, frame) => {
      if (frame.type === 'MSG') void serverMsg(conn, channel, frame.msgNo, frame.text, conn.tuning.get(key(channel.number)) as ServerMechanism | undefined, name, () => conn.tuning.delete(key(channel.number)));
    },
  });
  const start: TuningStart = async (conn, req, offer) => {
    if (isAuthenticated(conn)) return { accept: false, code: 550, text: 'session already authenticated' };
    if (name === PLAIN && !opts.allowPlainInClear && !tlsEnabled(conn)) return { accept: false, code: 538, text: 'PLAIN requires TLS on this listener' };
    const serverName = conn.serverName ?? req.serverName;
    const ex = factory({
      check: (props) => handler(conn, props),
      serverName,
      realm: opts.realm,
      externalId: opts.externalIdentity ? opts.externalIdentity(conn) : (peerCertificate(conn)?.subject?.CN as string | undefined),
    });
    // No piggyback (a mechanism without an initial response, as LibVortex starts CRAM-MD5):
    // the first challenge still goes back in the start reply, where that client waits for it.
    let b: Blob | { error: number; text: string } = { status: 'continue', data: undefined };
    if (offer.content !== undefined) {
      try { b = parseBlob(offer.encoding === 'base64' ? base64Text(offer.content) : offer.content); } catch (e) { return { accept: false, code: 501, text: (e as Error).message }; }
    }
    if ('error' in b || b.status === 'abort') return { accept: false, code: 535, text: 'authentication aborted' };
    const step = await ex.step(b.data);
    if (step.kind === 'fail') return { accept: false, code: step.code, text: step.text };
    if (step.kind === 'success') {
      if (!complete(conn, name, step)) return { accept: false, code: 550, text: 'session already authenticated' };
      return { accept: true, uri, content: blobXml('complete', step.data) };
    }
    conn.tuning.set(key(req.number), ex);
    return { accept: true, uri, content: blobXml('continue', step.challenge) };
  };
  ctx.tuning.set(`start:${uri}`, start);
  return true;
}

/** Records a success; false if the session authenticated meanwhile (one per session). */
function complete(conn: Connection, mech: string, step: Extract<ServerStep, { kind: 'success' }>): boolean {
  if (isAuthenticated(conn)) return false;
  conn.tuning.set('sasl', { mech, authId: step.authId, ...(step.authorizationId ? { authorizationId: step.authorizationId } : {}) } satisfies SaslState);
  return true;
}

async function serverMsg(conn: Connection, channel: Channel, msgNo: number, text: string, ex: ServerMechanism | undefined, mech: string, forget: () => void): Promise<void> {
  const err = (code: number, why: string): void => { forget(); channel.sendErr(`<error code='${code}'>${why}</error>`, undefined, msgNo, XML); };
  let b;
  try { b = parseBlob(text); } catch (e) { return err(501, (e as Error).message); }
  if ('error' in b) return err(501, 'expected <blob>');
  if (b.status === 'abort') return err(535, 'authentication aborted');
  if (ex === undefined) return err(550, 'no authentication in progress on this channel');
  const step = await ex.step(b.data);
  if (step.kind === 'fail') return err(step.code, step.text);
  if (step.kind === 'continue') { channel.sendRpy(blobXml('continue', step.challenge), undefined, msgNo, XML); return; }
  forget();
  if (!complete(conn, mech, step)) return err(550, 'session already authenticated');
  channel.sendRpy(blobXml('complete', step.data), undefined, msgNo, XML);
}

/** Client options beyond credentials. */
export interface StartAuthOptions {
  /** Aborting sends <blob status='abort'/> at the next step. */
  signal?: AbortSignal;
  /** Observes each server challenge (diagnostics, tests). */
  onChallenge?: (challenge: Uint8Array | undefined) => void;
}

/**
 * Authenticates the session (PyVortex vortex.sasl.start_auth). Resolves true on success;
 * false with the reason in conn.popChannelError() otherwise (the session stays usable).
 */
export async function startAuth(conn: Connection, mech: string, props: ClientProps, opts: StartAuthOptions = {}): Promise<boolean> {
  const name = mech.toUpperCase();
  const factory = MECHS[name]?.[1];
  if (factory === undefined) throw new RangeError(`unsupported SASL mechanism ${mech}`);
  const failWith = (e: unknown): false => { conn.pushError(e); return false; };
  if (isAuthenticated(conn)) return failWith(new BeepReplyError(550, 'session already authenticated'));
  const m = factory({ ...props, serverName: props.serverName ?? conn.serverName ?? 'localhost' });
  const initial = await m.initial();
  const ch = await conn.openChannel(0, saslUri(name), { content: blobXml('continue', initial), serverName: props.serverName });
  if (ch === null) return false;
  const finish = async (ok: boolean, e?: unknown): Promise<boolean> => {
    if (e !== undefined) conn.pushError(e);
    if (ch.isOk()) await ch.close();
    return ok;
  };
  try {
    let reply = ch.startReply !== undefined ? parseBlob(ch.startReply) : await ask(ch, blobXml('continue', initial));
    for (let round = 0; round < 16; round++) {
      if ('error' in reply) return finish(false, new BeepReplyError(reply.error, reply.text));
      if (reply.status === 'abort') return finish(false, new BeepReplyError(535, 'authentication aborted by the listener'));
      if (reply.status === 'complete') {
        if (!(await m.verify(reply.data))) return finish(false, new BeepError(`the listener failed ${name} server verification`, 'BEEP_ERR_SASL'));
        conn.tuning.set('sasl', { mech: name, authId: props.authId ?? props.anonymousToken ?? '', ...(props.authorizationId ? { authorizationId: props.authorizationId } : {}) } satisfies SaslState);
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
async function ask(ch: Channel, xml: string): Promise<Blob | { error: number; text: string }> {
  const f = await ch.request(xml, XML);
  const r = parseBlob(f.text);
  if (f.type === 'ERR' && !('error' in r)) return { error: 535, text: 'authentication failed' };
  return r;
}

/** True once the session authenticated (PyVortex vortex.sasl.is_authenticated). */
export function isAuthenticated(conn: Connection): boolean {
  return conn.tuning.has('sasl');
}

/** Mechanism that authenticated the session (PyVortex vortex.sasl.method_used). */
export function methodUsed(conn: Connection): string | undefined {
  return (conn.tuning.get('sasl') as SaslState | undefined)?.mech;
}

/** Authenticated identity (PyVortex auth_id). */
export function authId(conn: Connection): string | undefined {
  return (conn.tuning.get('sasl') as SaslState | undefined)?.authId;
}
