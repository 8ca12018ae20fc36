// Crypto for the SASL mechanisms without node:crypto: Web Crypto (SHA-256, HMAC-SHA-256,
// PBKDF2, random) where it suffices, node-forge for MD5 and HMAC-MD5, which Web Crypto lacks,
// and for SHA-1 where it must be synchronous (OTP hashes up to 10,000 times in a row; Web
// Crypto's digest is a Promise per call). Only forge's MD5, SHA-1 and HMAC modules are imported
// (about 30 KB minified, against about 300 KB for the package root); they run without Buffer or
// process. Default imports, not side-effect ones, so the emitted declarations name no node-forge
// module.
import forgeMd5 from 'node-forge/lib/md5.js';
import forgeSha1 from 'node-forge/lib/sha1.js';
import forgeHmac from 'node-forge/lib/hmac.js';

const subtle = globalThis.crypto.subtle;
/** Web Crypto's parameter type (TS types typed arrays over ArrayBufferLike). */
const src = (b: Uint8Array): BufferSource => b as Uint8Array<ArrayBuffer>;
const enc = new TextEncoder();

/** UTF-8 bytes of a string. */
export const utf8 = (s: string): Uint8Array => enc.encode(s);
/** String from UTF-8 bytes. */
export const fromUtf8 = (b: Uint8Array): string => new TextDecoder('utf-8', { fatal: true }).decode(b);
/** String from UTF-8 bytes, or undefined when they are not valid UTF-8 (a peer's message). */
export function utf8Text(b: Uint8Array): string | undefined {
  try {
    return fromUtf8(b);
  } catch {
    return undefined;
  }
}

export { toBase64, fromBase64 } from '../util/base64.js';

/** Cryptographically random bytes. */
export function randomBytes(n: number): Uint8Array {
  return globalThis.crypto.getRandomValues(new Uint8Array(n));
}

/** Lower-case hex. */
export function hex(b: Uint8Array): string {
  let s = '';
  for (const byte of b) s += byte.toString(16).padStart(2, '0');
  return s;
}

/** Compares without an early exit, so timing does not reveal where inputs differ. */
export function timingSafeEqual(a: Uint8Array, b: Uint8Array): boolean {
  let diff = a.length ^ b.length;
  for (let i = 0; i < a.length; i++) diff |= a[i]! ^ (b[i] ?? 0);
  return diff === 0;
}

export { saslprep, type SaslprepOptions } from './saslprep.js';

const bin = (b: Uint8Array): string => String.fromCharCode(...b);
const unbin = (s: string): Uint8Array => Uint8Array.from(s, (c) => c.charCodeAt(0));

/** MD5 (node-forge: Web Crypto has no MD5). */
export function md5(data: Uint8Array): Uint8Array {
  return unbin(forgeMd5.create().update(bin(data)).digest().getBytes());
}

/** SHA-1, synchronous (node-forge), for OTP (RFC 2289). */
export function sha1(data: Uint8Array): Uint8Array {
  return unbin(forgeSha1.create().update(bin(data)).digest().getBytes());
}

/** HMAC-MD5 (node-forge), for CRAM-MD5 (RFC 2195). */
export function hmacMd5(key: Uint8Array, data: Uint8Array): Uint8Array {
  const h = forgeHmac.create();
  h.start(forgeMd5.create(), bin(key));
  h.update(bin(data));
  return unbin(h.digest().getBytes());
}

/** SHA-256 (Web Crypto). */
export async function sha256(data: Uint8Array): Promise<Uint8Array> {
  return new Uint8Array(await subtle.digest('SHA-256', src(data)));
}

/** HMAC-SHA-256 (Web Crypto). */
export async function hmacSha256(key: Uint8Array, data: Uint8Array): Promise<Uint8Array> {
  const k = await subtle.importKey('raw', src(key), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
  return new Uint8Array(await subtle.sign('HMAC', k, src(data)));
}

/** PBKDF2-HMAC-SHA-256 (Web Crypto), SCRAM's Hi() (RFC 5802 §2.2). */
export async function pbkdf2Sha256(password: Uint8Array, salt: Uint8Array, iterations: number): Promise<Uint8Array> {
  const k = await subtle.importKey('raw', src(password), 'PBKDF2', false, ['deriveBits']);
  return new Uint8Array(await subtle.deriveBits({ name: 'PBKDF2', hash: 'SHA-256', salt: src(salt), iterations }, k, 256));
}
