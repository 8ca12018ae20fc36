// DIGEST-MD5 (RFC 2831), qop=auth only (no security layer), md5-sess, UTF-8.
import { utf8, fromUtf8, hex, md5, randomBytes, toBase64, timingSafeEqual } from './crypto.js';
import {
  AUTH_FAILED,
  MAX_FIELD,
  fail,
  type ServerMechanism,
  type ServerContext,
  type ServerStep,
  type ClientMechanism,
  type ClientProps,
} from './mechanisms.js';

/** Parses `key=value, key="quoted \" value"` directives (RFC 2831 §7.1); null if malformed. */
export function parseDirectives(s: string): Map<string, string> | null {
  const out = new Map<string, string>();
  let i = 0;
  while (i < s.length) {
    while (i < s.length && /[\s,]/.test(s.charAt(i))) i++;
    if (i >= s.length) break;
    const eq = s.indexOf('=', i);
    if (eq < 0) return null;
    const key = s.slice(i, eq).trim().toLowerCase();
    if (!/^[a-z-]+$/.test(key) || out.has(key)) return null;
    i = eq + 1;
    let v = '';
    if (s[i] === '"') {
      i++;
      while (i < s.length && s[i] !== '"') {
        if (s[i] === '\\') i++;
        v += s[i++] ?? '';
      }
      if (s[i] !== '"') return null;
      i++;
    } else {
      while (i < s.length && s[i] !== ',') v += s[i++];
      v = v.trim();
    }
    out.set(key, v);
  }
  return out;
}

const quote = (v: string): string => `"${v.replace(/(["\\])/g, '\\$1')}"`;
const cat = (...parts: Uint8Array[]): Uint8Array => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
};

/** HEX(KD(HEX(H(A1)), nonce:nc:cnonce:qop:HEX(H(A2)))) with A2 prefix "AUTHENTICATE" or "". */
function digestResponse(
  user: string,
  realm: string,
  password: string,
  nonce: string,
  cnonce: string,
  nc: string,
  uri: string,
  authzid: string | undefined,
  a2prefix: string,
): string {
  const a1 = cat(md5(utf8(`${user}:${realm}:${password}`)), utf8(`:${nonce}:${cnonce}${authzid ? `:${authzid}` : ''}`));
  const ha1 = hex(md5(a1));
  const ha2 = hex(md5(utf8(`${a2prefix}:${uri}`)));
  return hex(md5(utf8(`${ha1}:${nonce}:${nc}:${cnonce}:auth:${ha2}`)));
}

/** Server: challenge, verify the response, send rspauth, complete on the empty final response. */
export function digestMd5Server(ctx: ServerContext): ServerMechanism {
  const realm = ctx.realm ?? ctx.serverName ?? 'beepwire';
  const nonce = toBase64(randomBytes(18));
  let stage = 0;
  let done: ServerStep | undefined;
  return {
    async step(response) {
      if (stage === 0) {
        stage = 1;
        return {
          kind: 'continue',
          challenge: utf8(`realm=${quote(realm)},nonce=${quote(nonce)},qop="auth",charset=utf-8,algorithm=md5-sess`),
        };
      }
      if (stage === 2) return done!; // the client's empty answer to rspauth
      if (response === undefined) return fail('missing DIGEST-MD5 response', 501);
      if (response.length >= 4096) return fail('DIGEST-MD5 response of 4096 octets or more (RFC 2831 §2.1.2)', 501);
      let d: Map<string, string> | null;
      try {
        d = parseDirectives(fromUtf8(response));
      } catch {
        d = null;
      }
      if (d === null) return fail('malformed DIGEST-MD5 response', 501);
      const user = d.get('username'),
        cnonce = d.get('cnonce'),
        nc = d.get('nc'),
        uri = d.get('digest-uri'),
        resp = d.get('response');
      const r = d.get('realm') ?? realm;
      if (
        !user ||
        !cnonce ||
        !nc ||
        !uri ||
        !resp ||
        d.get('nonce') !== nonce ||
        (d.get('qop') ?? 'auth') !== 'auth' ||
        r !== realm ||
        user.length > MAX_FIELD
      ) {
        return fail('DIGEST-MD5 response lacks or mismatches a directive', 501);
      }
      if (nc !== '00000001' || !/^[0-9a-f]{32}$/.test(resp)) return AUTH_FAILED;
      const authzid = d.get('authzid');
      const password = await ctx.check({
        mech: 'DIGEST-MD5',
        authId: user,
        realm: r,
        serverName: ctx.serverName,
        ...(authzid ? { authorizationId: authzid } : {}),
      });
      if (typeof password !== 'string') return AUTH_FAILED;
      const expected = digestResponse(user, r, password, nonce, cnonce, nc, uri, authzid, 'AUTHENTICATE');
      if (!timingSafeEqual(utf8(expected), utf8(resp))) return AUTH_FAILED;
      stage = 2;
      done = { kind: 'success', authId: user, authorizationId: authzid };
      return { kind: 'continue', challenge: utf8(`rspauth=${digestResponse(user, r, password, nonce, cnonce, nc, uri, authzid, '')}`) };
    },
  };
}

/** Client: answers the challenge, then checks the server's rspauth. */
export function digestMd5Client(p: ClientProps, fixedCnonce?: string, service = 'beep'): ClientMechanism {
  let expectRspauth: string | undefined;
  return {
    initial: async () => undefined,
    async step(challenge) {
      const d = parseDirectives(fromUtf8(challenge));
      if (d === null) throw new TypeError('malformed DIGEST-MD5 challenge');
      if (d.has('rspauth')) {
        if (expectRspauth === undefined || !timingSafeEqual(utf8(expectRspauth), utf8(d.get('rspauth')!)))
          throw new TypeError('server rspauth does not match');
        return new Uint8Array(0);
      }
      const nonce = d.get('nonce');
      if (!nonce) throw new TypeError('DIGEST-MD5 challenge without nonce');
      const realm = p.realm ?? d.get('realm') ?? '';
      const cnonce = fixedCnonce ?? toBase64(randomBytes(18)); // fixed only for RFC test vectors
      const uri = `${service}/${p.serverName ?? 'localhost'}`;
      const user = p.authId ?? '',
        pw = p.password ?? '';
      const resp = digestResponse(user, realm, pw, nonce, cnonce, '00000001', uri, p.authorizationId, 'AUTHENTICATE');
      expectRspauth = digestResponse(user, realm, pw, nonce, cnonce, '00000001', uri, p.authorizationId, '');
      return utf8(
        `charset=utf-8,username=${quote(user)},realm=${quote(realm)},nonce=${quote(nonce)},nc=00000001,cnonce=${quote(cnonce)},digest-uri=${quote(uri)},response=${resp},qop=auth${p.authorizationId ? `,authzid=${quote(p.authorizationId)}` : ''}`,
      );
    },
    verify: async () => true,
  };
}
