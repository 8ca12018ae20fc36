// SCRAM-SHA-256 (RFC 5802, RFC 7677), no channel binding ("n,,"), Web Crypto only.
import {
  utf8,
  fromUtf8,
  utf8Text,
  toBase64,
  fromBase64,
  randomBytes,
  saslprep,
  timingSafeEqual,
  sha256,
  hmacSha256,
  pbkdf2Sha256,
} from './crypto.js';
import {
  AUTH_FAILED,
  MAX_FIELD,
  fail,
  type ServerMechanism,
  type ServerContext,
  type ClientMechanism,
  type ClientProps,
} from './mechanisms.js';

/** Iteration count the server asks for (RFC 7677 §4 recommends at least 4096). */
export const SCRAM_ITERATIONS = 4096;

/** XOR of two byte strings of the same length (both 32 here: SHA-256 sizes, the proof's checked). */
const xor = (a: Uint8Array, b: Uint8Array): Uint8Array => a.map((v, i) => v ^ b[i]!);
const escapeName = (s: string): string => s.replace(/=/g, '=3D').replace(/,/g, '=2C');
const unescapeName = (s: string): string | null => (/=(?!2C|3D)/.test(s) ? null : s.replace(/=2C/g, ',').replace(/=3D/g, '='));

/** Parses "a=1,b=2" SCRAM attributes (values may contain '='). */
function attrs(s: string): Map<string, string> {
  const m = new Map<string, string>();
  for (const part of s.split(',')) {
    if (part.length < 2 || part[1] !== '=') continue;
    m.set(part.charAt(0), part.slice(2));
  }
  return m;
}

/** ClientKey, StoredKey and ServerKey from a salted password (RFC 5802 §3). */
async function keys(salted: Uint8Array): Promise<{ clientKey: Uint8Array; storedKey: Uint8Array; serverKey: Uint8Array }> {
  const clientKey = await hmacSha256(salted, utf8('Client Key'));
  return { clientKey, storedKey: await sha256(clientKey), serverKey: await hmacSha256(salted, utf8('Server Key')) };
}

/** Server side. The handler returns the user's password; the salt is fresh per exchange. */
export function scramServer(ctx: ServerContext): ServerMechanism {
  let stage = 0;
  let clientFirstBare = '',
    serverFirst = '',
    nonce = '',
    user = '',
    authzid: string | undefined,
    gs2 = '';
  let salt: Uint8Array = new Uint8Array(0);
  return {
    async step(response) {
      if (response === undefined) return { kind: 'continue', challenge: new Uint8Array(0) };
      const text = utf8Text(response);
      if (text === undefined) return fail('SCRAM message is not UTF-8', 501);
      if (stage === 0) {
        // gs2-header: "n," or "y," (no channel binding here), then optional "a=authzid", ","
        const m = /^([ny]),(a=[^,]*)?,(.*)$/.exec(text);
        if (m === null) return fail('malformed SCRAM client-first message', 501);
        gs2 = `${m[1]},${m[2] ?? ''},`;
        authzid = m[2] ? (unescapeName(m[2].slice(2)) ?? undefined) : undefined;
        clientFirstBare = m[3]!; // group 3 is not optional: set on every match
        const a = attrs(clientFirstBare);
        const name = a.get('n'),
          cnonce = a.get('r');
        if (name === undefined || !cnonce || a.has('m')) return fail('malformed SCRAM client-first message', 501);
        const u = unescapeName(name);
        if (u === null) return fail('bad SCRAM username escaping', 501);
        if (u.length > MAX_FIELD || (authzid?.length ?? 0) > MAX_FIELD) return fail('SCRAM user name too long', 501);
        try {
          user = saslprep(u);
        } catch {
          return AUTH_FAILED;
        }
        salt = randomBytes(16);
        nonce = cnonce + toBase64(randomBytes(18));
        serverFirst = `r=${nonce},s=${toBase64(salt)},i=${SCRAM_ITERATIONS}`;
        stage = 1;
        return { kind: 'continue', challenge: utf8(serverFirst) };
      }
      if (stage !== 1) return fail('unexpected SCRAM message', 501);
      stage = 2;
      const cut = text.lastIndexOf(',p=');
      if (cut < 0) return fail('SCRAM client-final message lacks a proof', 501);
      const withoutProof = text.slice(0, cut);
      const a = attrs(withoutProof);
      let proof: Uint8Array;
      try {
        proof = fromBase64(text.slice(cut + 3));
      } catch {
        return fail('malformed SCRAM proof', 501);
      }
      if (a.get('r') !== nonce || a.get('c') !== toBase64(utf8(gs2)) || proof.length !== 32) {
        return AUTH_FAILED;
      }
      const password = await ctx.check({
        mech: 'SCRAM-SHA-256',
        authId: user,
        serverName: ctx.serverName,
        ...(authzid ? { authorizationId: authzid } : {}),
      });
      if (typeof password !== 'string') return AUTH_FAILED;
      let pw: string;
      try {
        pw = saslprep(password);
      } catch {
        return AUTH_FAILED;
      }
      const k = await keys(await pbkdf2Sha256(utf8(pw), salt, SCRAM_ITERATIONS));
      const authMessage = utf8(`${clientFirstBare},${serverFirst},${withoutProof}`);
      const clientSignature = await hmacSha256(k.storedKey, authMessage);
      const clientKey = xor(proof, clientSignature);
      if (!timingSafeEqual(await sha256(clientKey), k.storedKey)) return AUTH_FAILED;
      const serverSignature = await hmacSha256(k.serverKey, authMessage);
      return { kind: 'success', authId: user, authorizationId: authzid, data: utf8(`v=${toBase64(serverSignature)}`) };
    },
  };
}

/** Client side; verify() checks the server signature so a fake server is detected. */
export function scramClient(p: ClientProps, fixedNonce?: string): ClientMechanism {
  const cnonce = fixedNonce ?? toBase64(randomBytes(18)); // fixed only for RFC test vectors
  const gs2 = `n,${p.authorizationId ? `a=${escapeName(p.authorizationId)}` : ''},`;
  const bare = `n=${escapeName(saslprep(p.authId ?? ''))},r=${cnonce}`;
  let expected: Uint8Array | undefined;
  return {
    initial: async () => utf8(gs2 + bare),
    async step(challenge) {
      const serverFirst = fromUtf8(challenge);
      const a = attrs(serverFirst);
      const nonce = a.get('r'),
        s = a.get('s'),
        i = Number(a.get('i'));
      if (!nonce?.startsWith(cnonce) || !s || !Number.isInteger(i) || i < 1 || i > 1_000_000)
        throw new TypeError('malformed SCRAM server-first message');
      const k = await keys(await pbkdf2Sha256(utf8(saslprep(p.password ?? '')), fromBase64(s), i));
      const withoutProof = `c=${toBase64(utf8(gs2))},r=${nonce}`;
      const authMessage = utf8(`${bare},${serverFirst},${withoutProof}`);
      const proof = xor(k.clientKey, await hmacSha256(k.storedKey, authMessage));
      expected = await hmacSha256(k.serverKey, authMessage);
      return utf8(`${withoutProof},p=${toBase64(proof)}`);
    },
    async verify(data) {
      if (data === undefined || expected === undefined) return false;
      const v = attrs(fromUtf8(data)).get('v');
      if (v === undefined) return false;
      try {
        return timingSafeEqual(expected, fromBase64(v));
      } catch {
        return false;
      }
    },
  };
}
