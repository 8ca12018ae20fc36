// SASL mechanism state machines, both sides, independent of BEEP and of Node: ANONYMOUS
// (RFC 4505), PLAIN (RFC 4616), EXTERNAL (RFC 4422 App. A), CRAM-MD5 (RFC 2195). DIGEST-MD5,
// SCRAM-SHA-256 and OTP live in their own files.
import { utf8, utf8Text, hex, hmacMd5, randomBytes, saslprep, timingSafeEqual } from './crypto.js';
import type { OtpEntry, OtpClientOptions } from './otp-mech.js';

/** SASL credentials: what a client supplies and what a server handler is shown. */
export interface Credentials {
  /** Authentication identity (user; SASLprep-ed where the mechanism says so). */
  authId?: string;
  /** Authorization identity to act as, if any. */
  authorizationId?: string;
  /** Password (a server handler sees it for PLAIN only: other mechanisms never send it). */
  password?: string;
  /** Realm (DIGEST-MD5). */
  realm?: string;
  /** Trace token (ANONYMOUS). */
  anonymousToken?: string;
  /** serverName of the session; the client also uses it as DIGEST-MD5's digest-uri host. */
  serverName?: string | undefined;
}

/** Credentials and context a server handler receives (PyVortex auth_props). */
export interface AuthProps extends Credentials {
  /** Mechanism name, e.g. 'PLAIN'. */
  mech: string;
}

/** What a server handler may return (AuthCheck says which mechanism takes which). */
export type AuthResult = boolean | string | OtpEntry | null | undefined;

/**
 * Server handler (PyVortex semantics): ANONYMOUS, PLAIN and EXTERNAL return true/false;
 * CRAM-MD5, DIGEST-MD5 and SCRAM-SHA-256 return the user's password, or null to refuse; OTP
 * returns the user's OtpEntry, or null. PLAIN may also return the password, which is then
 * compared in constant time. Any other value refuses.
 */
export type AuthCheck = (props: AuthProps) => AuthResult | Promise<AuthResult>;

/** One server step's outcome. */
export type ServerStep =
  | { kind: 'continue'; challenge: Uint8Array }
  | { kind: 'success'; authId: string; authorizationId?: string | undefined; data?: Uint8Array }
  | { kind: 'fail'; code: number; text: string };

/** Server side of one exchange: fed the client's responses in order (undefined: none sent). */
export interface ServerMechanism {
  /** Processes the next client response. */
  step(response: Uint8Array | undefined): Promise<ServerStep>;
}

/** What a server mechanism may know about the session. */
export interface ServerContext {
  /** The application's handler. */
  check: AuthCheck;
  /** serverName, also the CRAM/DIGEST host part. */
  serverName?: string | undefined;
  /** DIGEST-MD5 realm offered (default serverName or 'beepwire'). */
  realm?: string | undefined;
  /** Identity from the TLS client certificate (EXTERNAL). */
  externalId?: string | undefined;
}

/** Client credentials (PyVortex start_auth properties); for OTP, `password` is the pass phrase. */
export interface ClientProps extends Credentials {
  /** OTP only: response form, a response computed elsewhere, re-initialisation. */
  otp?: OtpClientOptions;
}

/** Client side of one exchange. */
export interface ClientMechanism {
  /** Initial response, or undefined when the mechanism has none (client speaks second). */
  initial(): Promise<Uint8Array | undefined>;
  /** Answer to a server challenge. */
  step(challenge: Uint8Array): Promise<Uint8Array>;
  /** Checks additional data sent with success (server signature); false = reject the server. */
  verify(data: Uint8Array | undefined): Promise<boolean>;
}

/** The step result for wrong credentials (RFC 3080 §8: 535). */
export const AUTH_FAILED = { kind: 'fail', code: 535, text: 'authentication failed' } as const;
/** A failed step with its reply code (535 unless given). */
export const fail = (text: string, code = 535): ServerStep => ({ kind: 'fail', code, text });

/** Longest identity (authcid, authzid, trace) or password accepted, in characters (RFC 4616 asks for at least 255 octets). */
export const MAX_FIELD = 1024;

/** The step result for client input that breaks the mechanism's syntax (RFC 3080 §8: 501). */
const malformed = (what: string): ServerStep => fail(`malformed ${what}`, 501);

/** Runs the handler; `true` or a matching password string means yes. */
async function granted(check: AuthCheck, props: AuthProps, password?: string): Promise<boolean> {
  const r = await check(props);
  if (typeof r === 'string') {
    let stored: string;
    try {
      stored = saslprep(r);
    } catch {
      return false;
    } // the application's stored password is unusable
    return password !== undefined && timingSafeEqual(utf8(stored), utf8(password));
  }
  return r === true;
}

/** ANONYMOUS (RFC 4505): the trace token is handed to the handler. */
export function anonymousServer(ctx: ServerContext): ServerMechanism {
  return {
    async step(response) {
      // No initial response (RFC 3080 §4.1): an empty challenge asks for the trace (RFC 4505 §3).
      if (response === undefined) return { kind: 'continue', challenge: new Uint8Array(0) };
      const token = utf8Text(response); // an empty blob is an empty token
      if (token === undefined) return malformed('ANONYMOUS trace (not UTF-8)');
      if ([...token].length > 255) return fail('trace token longer than 255 characters (RFC 4505 §2)', 501);
      return (await granted(ctx.check, { mech: 'ANONYMOUS', anonymousToken: token, serverName: ctx.serverName }))
        ? { kind: 'success', authId: token }
        : AUTH_FAILED;
    },
  };
}

/** PLAIN (RFC 4616): [authzid] NUL authcid NUL passwd, SASLprep-ed. */
export function plainServer(ctx: ServerContext): ServerMechanism {
  return {
    async step(response) {
      if (response === undefined) return { kind: 'continue', challenge: new Uint8Array(0) };
      const parts = utf8Text(response)?.split('\0');
      if (parts === undefined) return fail('PLAIN response is not UTF-8', 501);
      const [authzid, authcid, passwd] = parts;
      if (parts.length !== 3 || authzid === undefined || !authcid || !passwd) return fail('malformed PLAIN response', 501);
      if (parts.some((x) => x.length > MAX_FIELD)) return malformed(`PLAIN response (a field longer than ${MAX_FIELD} characters)`);
      let authId: string, password: string;
      try {
        authId = saslprep(authcid);
        password = saslprep(passwd);
      } catch {
        return AUTH_FAILED;
      }
      const authorizationId = authzid === '' ? undefined : authzid;
      const props: AuthProps = {
        mech: 'PLAIN',
        authId,
        password,
        serverName: ctx.serverName,
        ...(authorizationId ? { authorizationId } : {}),
      };
      return (await granted(ctx.check, props, password)) ? { kind: 'success', authId, authorizationId } : AUTH_FAILED;
    },
  };
}

/** EXTERNAL (RFC 4422 App. A): the identity comes from the TLS client certificate. */
export function externalServer(ctx: ServerContext): ServerMechanism {
  return {
    async step(response) {
      if (ctx.externalId === undefined) return fail('no external identity (TLS client certificate) on this session', 538);
      // No initial response (RFC 3080 §4.1): an empty challenge asks for the authzid message.
      if (response === undefined) return { kind: 'continue', challenge: new Uint8Array(0) };
      const authorizationId = response.length === 0 ? undefined : utf8Text(response);
      if (response.length > 0 && authorizationId === undefined) return malformed('EXTERNAL authorization identity (not UTF-8)');
      if (authorizationId !== undefined && authorizationId.length > MAX_FIELD)
        return malformed('EXTERNAL authorization identity (too long)');
      const props: AuthProps = {
        mech: 'EXTERNAL',
        authId: ctx.externalId,
        serverName: ctx.serverName,
        ...(authorizationId ? { authorizationId } : {}),
      };
      return (await granted(ctx.check, props)) ? { kind: 'success', authId: ctx.externalId, authorizationId } : AUTH_FAILED;
    },
  };
}

/** CRAM-MD5 (RFC 2195): HMAC-MD5 of a fresh challenge keyed with the password. */
export function cramMd5Server(ctx: ServerContext): ServerMechanism {
  let challenge: Uint8Array | undefined;
  return {
    async step(response) {
      if (challenge === undefined) {
        challenge = utf8(`<${hex(randomBytes(8))}.${Date.now()}@${ctx.serverName ?? 'beepwire'}>`);
        return { kind: 'continue', challenge };
      }
      if (response === undefined) return fail('missing CRAM-MD5 response', 501);
      const t = utf8Text(response);
      if (t === undefined) return malformed('CRAM-MD5 response (not UTF-8)');
      const sp = t.lastIndexOf(' ');
      if (sp <= 0 || sp > MAX_FIELD || !/^[0-9a-f]{32}$/.test(t.slice(sp + 1))) return fail('malformed CRAM-MD5 response', 501);
      const authId = t.slice(0, sp);
      const password = await ctx.check({ mech: 'CRAM-MD5', authId, serverName: ctx.serverName });
      if (typeof password !== 'string') return AUTH_FAILED;
      const expected = utf8(hex(hmacMd5(utf8(password), challenge)));
      return timingSafeEqual(expected, utf8(t.slice(sp + 1))) ? { kind: 'success', authId } : AUTH_FAILED;
    },
  };
}

/** Client: ANONYMOUS. */
export function anonymousClient(p: ClientProps): ClientMechanism {
  return {
    initial: async () => utf8(p.anonymousToken ?? ''),
    step: async () => utf8(p.anonymousToken ?? ''),
    verify: async () => true,
  };
}

/** Client: PLAIN. */
export function plainClient(p: ClientProps): ClientMechanism {
  const msg = (): Uint8Array => utf8(`${p.authorizationId ?? ''}\0${saslprep(p.authId ?? '')}\0${saslprep(p.password ?? '')}`);
  return { initial: async () => msg(), step: async () => msg(), verify: async () => true };
}

/** Client: EXTERNAL (the identity is the TLS client certificate; only authzid is sent). */
export function externalClient(p: ClientProps): ClientMechanism {
  return { initial: async () => utf8(p.authorizationId ?? ''), step: async () => utf8(p.authorizationId ?? ''), verify: async () => true };
}

/** Client: CRAM-MD5 (no initial response). */
export function cramMd5Client(p: ClientProps): ClientMechanism {
  return {
    initial: async () => undefined,
    step: async (challenge) => utf8(`${p.authId ?? ''} ${hex(hmacMd5(utf8(p.password ?? ''), challenge))}`),
    verify: async () => true,
  };
}
