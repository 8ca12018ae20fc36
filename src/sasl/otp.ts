// One-time passwords (RFC 2289) and their extended challenges and responses (RFC 2243), without
// node:: the keys, the hex and six-word forms, and the parsers for what a peer sends. The SASL
// mechanism over them (RFC 2444) is otp-mech.ts. Every parser bounds its input and throws
// MgmtSyntaxError with the RFC 3080 §8 reply code that answers it (501; 504 for an algorithm
// we do not implement); functions the application calls with bad arguments throw RangeError.
import { MgmtSyntaxError } from '../errors.js';
import { utf8, md5, sha1, hex } from './crypto.js';
import { OTP_WORDS, OTP_SHORT_WORDS } from './otp-words.js';

/** Hash algorithms implemented (RFC 2289 §4: md4, md5, sha1; MD4 is not: no portable MD4 here and no peer needs it). */
export type OtpAlgorithm = 'md5' | 'sha1';
/** The algorithms, in the names challenges carry ('otp-md5', 'otp-sha1'). */
export const OTP_ALGORITHMS: readonly OtpAlgorithm[] = ['md5', 'sha1'];

/**
 * Largest sequence number accepted from a peer or the application, as Cyrus SASL's OTP plugin
 * (OTP_SEQUENCE_MAX) and OPIE: a client hashes `sequence` + 1 times, so a server's challenge
 * must not be able to make it hash 2^32 times.
 */
export const OTP_MAX_SEQUENCE = 9999;
/** Longest seed (RFC 2289 §6.0: 1 to 16 alphanumeric characters). */
export const OTP_MAX_SEED = 16;
/** Longest challenge or response text parsed, in characters (Cyrus SASL takes 100; init-word needs about 110). */
export const OTP_MAX_TEXT = 256;
/** Longest pass phrase, in characters (RFC 2289 §6.0: generators MUST take 10 to 63; longer MAY be taken). */
export const OTP_MAX_PASSPHRASE = 1024;

/** A parsed challenge: `otp-<algorithm> <sequence> <seed> ext` (RFC 2289 §6.0, RFC 2243 §3). */
export interface OtpChallenge {
  /** Hash algorithm. */
  algorithm: OtpAlgorithm;
  /** Sequence number of the one-time password asked for. */
  sequence: number;
  /** Seed as sent (hashed in lower case). */
  seed: string;
  /** Extension names after `ext` (RFC 2243 §3); empty for a bare `ext`. */
  extensions: string[];
}

/** New parameters and key of an init-hex / init-word response (RFC 2243 §4). */
export interface OtpReinit {
  /** Hash algorithm from now on. */
  algorithm: OtpAlgorithm;
  /** Sequence number of `key`. */
  sequence: number;
  /** New seed. */
  seed: string;
  /** The one-time password of `sequence` under the new parameters. */
  key: Uint8Array;
}

/** A parsed client response: the one-time password, and new parameters for init-hex / init-word. */
export interface OtpResponse {
  /** How it was written: 'hex', 'word', or a standard (RFC 2289) response without a type. */
  form: 'hex' | 'word' | 'standard';
  /** The 64-bit one-time password. */
  key: Uint8Array;
  /** Present for init-hex / init-word (RFC 2243 §4). */
  reinit?: OtpReinit;
}

const SEED = /^[A-Za-z0-9]{1,16}$/;
const bad = (text: string, code = 501): MgmtSyntaxError => new MgmtSyntaxError(`OTP: ${text}`, code);

/** True for a seed RFC 2289 §6.0 allows: 1 to 16 ASCII letters and digits. */
export function isOtpSeed(seed: string): boolean {
  return SEED.test(seed);
}

/**
 * RFC 2289 §6.0's fold of a digest to 64 bits. MD5: the XOR of its two 64-bit halves. SHA-1:
 * the five 32-bit words w0..w4 folded as w0^w2^w4 and w1^w3, each word then written least
 * significant byte first, as the RFC's reference code does on the little-endian machines its
 * Appendix C vectors came from (Cyrus SASL: "swab" 4 bytes).
 */
export function otpFold(algorithm: OtpAlgorithm, digest: Uint8Array): Uint8Array {
  const out = new Uint8Array(8);
  for (let i = 0; i < digest.length; i++) out[i % 8] = out[i % 8]! ^ digest[i]!;
  if (algorithm === 'sha1') {
    out.set([out[3]!, out[2]!, out[1]!, out[0]!, out[7]!, out[6]!, out[5]!, out[4]!]);
  }
  return out;
}

/** One application of the hash and the fold (RFC 2289 §6.0). */
export function otpStep(algorithm: OtpAlgorithm, data: Uint8Array): Uint8Array {
  return otpFold(algorithm, algorithm === 'md5' ? md5(data) : sha1(data));
}

/** Checks an algorithm name the application gave; RangeError otherwise. */
function algorithmArg(a: unknown): OtpAlgorithm {
  if (a !== 'md5' && a !== 'sha1') throw new RangeError(`OTP algorithm must be 'md5' or 'sha1', not ${String(a)}`);
  return a;
}

/**
 * The one-time password of `sequence` (RFC 2289 §6.0): the seed in lower case followed by the
 * pass phrase, hashed and folded, then hashed and folded `sequence` more times. RangeError for
 * a seed, sequence or pass phrase out of bounds.
 */
export function otpKey(algorithm: OtpAlgorithm, passphrase: string, seed: string, sequence: number): Uint8Array {
  algorithmArg(algorithm);
  if (!isOtpSeed(seed)) throw new RangeError('OTP seed must be 1 to 16 ASCII letters and digits (RFC 2289 §6.0)');
  if (!Number.isInteger(sequence) || sequence < 0 || sequence > OTP_MAX_SEQUENCE)
    throw new RangeError(`OTP sequence must be an integer in 0..${OTP_MAX_SEQUENCE}`);
  if (typeof passphrase !== 'string' || passphrase.length === 0 || passphrase.length > OTP_MAX_PASSPHRASE)
    throw new RangeError(`OTP pass phrase must have 1 to ${OTP_MAX_PASSPHRASE} characters`);
  let key = otpStep(algorithm, utf8(seed.toLowerCase() + passphrase));
  for (let i = 0; i < sequence; i++) key = otpStep(algorithm, key);
  return key;
}

/** The 64 bits of a key as a BigInt, first byte most significant. */
function toBig(key: Uint8Array): bigint {
  let v = 0n;
  for (const b of key) v = (v << 8n) | BigInt(b);
  return v;
}

/** RFC 2289 Appendix B: the sum of the 32 two-bit groups of the key, modulo 4. */
function checksum(v: bigint): bigint {
  let sum = 0n;
  for (let i = 0n; i < 64n; i += 2n) sum += (v >> i) & 3n;
  return sum & 3n;
}

/** A key as six words of the standard dictionary (RFC 2289 Appendix B: 64 bits and a 2-bit checksum, 11 bits a word). */
export function otpSixWords(key: Uint8Array): string {
  if (key.length !== 8) throw new RangeError('an OTP key has 8 octets');
  const v = toBig(key);
  const all = (v << 2n) | checksum(v);
  const words: string[] = [];
  for (let i = 0; i < 6; i++) words.push(OTP_WORDS[Number((all >> BigInt(55 - 11 * i)) & 0x7ffn)]!);
  return words.join(' ');
}

/** Lower-case hex of a key (16 digits, no spaces), as hex: responses carry it. */
export function otpHex(key: Uint8Array): string {
  if (key.length !== 8) throw new RangeError('an OTP key has 8 octets');
  return hex(key);
}

/** Index of a word in the standard dictionary (case-insensitive), or -1. */
function wordIndex(word: string): number {
  const w = word.toUpperCase();
  // Each group of the table is sorted: binary search in the group the word's length picks.
  let lo = w.length === 4 ? OTP_SHORT_WORDS : 0;
  let hi = w.length === 4 ? OTP_WORDS.length - 1 : OTP_SHORT_WORDS - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const m = OTP_WORDS[mid]!;
    if (m === w) return mid;
    if (m < w) lo = mid + 1;
    else hi = mid - 1;
  }
  return -1;
}

/**
 * The key six words of the standard dictionary encode (RFC 2289 Appendix B; any case, any
 * whitespace between). MgmtSyntaxError 501 for another count, a word not in the dictionary
 * (alternative dictionaries, RFC 2289 §6.0's MAY, are not supported) or a wrong checksum.
 */
export function otpFromWords(text: string): Uint8Array {
  if (text.length > OTP_MAX_TEXT) throw bad('six-word response too long');
  const words = text.trim().split(/\s+/);
  if (words.length !== 6) throw bad(`six words expected, got ${words[0] === '' ? 0 : words.length}`);
  let all = 0n;
  for (const [n, w] of words.entries()) {
    const i = /^[A-Za-z]{1,4}$/.test(w) ? wordIndex(w) : -1;
    // Its position, not the word: a person may have typed the secret pass phrase here, and
    // the text goes back in the reply and into sasl:fail, hence into logs.
    if (i < 0) throw bad(`word ${n + 1} is not in the RFC 2289 dictionary`);
    all = (all << 11n) | BigInt(i);
  }
  const v = all >> 2n;
  if ((all & 3n) !== checksum(v)) throw bad('the six words fail the RFC 2289 checksum');
  const key = new Uint8Array(8);
  for (let i = 7, x = v; i >= 0; i--, x >>= 8n) key[i] = Number(x & 0xffn);
  return key;
}

/** The key 16 hex digits encode (any case, whitespace between digits allowed, RFC 2289 §6.0); MgmtSyntaxError 501 otherwise. */
export function otpFromHex(text: string): Uint8Array {
  if (text.length > OTP_MAX_TEXT) throw bad('hex response too long');
  const digits = text.replace(/\s+/g, '');
  if (!/^[0-9A-Fa-f]{16}$/.test(digits)) throw bad('a hex one-time password is 16 hex digits');
  const key = new Uint8Array(8);
  for (let i = 0; i < 8; i++) key[i] = Number.parseInt(digits.slice(2 * i, 2 * i + 2), 16);
  return key;
}

/** Parses `<algorithm> <sequence> <seed>` (after `otp-` in a challenge, bare in init- responses). */
function parseParams(alg: string, seq: string, seed: string): { algorithm: OtpAlgorithm; sequence: number; seed: string } {
  const algorithm = alg.toLowerCase();
  if (algorithm !== 'md5' && algorithm !== 'sha1') {
    if (/^[a-z0-9]{1,16}$/.test(algorithm)) throw bad(`algorithm '${algorithm}' not implemented (md5 and sha1 are)`, 504);
    throw bad('malformed algorithm name');
  }
  if (!/^[0-9]{1,10}$/.test(seq)) throw bad('the sequence number is not a decimal integer');
  const sequence = Number(seq);
  if (sequence > OTP_MAX_SEQUENCE) throw bad(`sequence number ${sequence} above ${OTP_MAX_SEQUENCE}`);
  if (!isOtpSeed(seed)) throw bad('the seed must be 1 to 16 ASCII letters and digits (RFC 2289 §6.0)');
  return { algorithm, sequence, seed };
}

/**
 * Parses a server's extended challenge, `otp-<algorithm> <sequence> <seed> ext[,<name>...]`
 * (RFC 2243 §3; RFC 2444 §3 requires the extended form). MgmtSyntaxError 501 when malformed or
 * out of bounds, 504 for an algorithm not implemented.
 */
export function parseOtpChallenge(text: string): OtpChallenge {
  if (text.length > OTP_MAX_TEXT) throw bad('challenge too long');
  const parts = text.trim().split(/[ \t]+/);
  if (parts.length !== 4 || !parts[0]!.toLowerCase().startsWith('otp-'))
    throw bad('challenge is not of the form otp-<algorithm> <sequence> <seed> ext');
  const p = parseParams(parts[0]!.slice(4), parts[1]!, parts[2]!);
  const ext = parts[3]!.split(',');
  if (ext[0] !== 'ext') throw bad('not an extended challenge (RFC 2243 §3: "ext" after the seed)');
  if (ext.slice(1).some((e) => !/^[A-Za-z0-9-]{1,32}$/.test(e))) throw bad('malformed extension list');
  return { ...p, extensions: ext.slice(1) };
}

/** The extended challenge for the one-time password of `sequence` (RFC 2243 §3). */
export function otpChallenge(algorithm: OtpAlgorithm, sequence: number, seed: string): string {
  return `otp-${algorithm} ${sequence} ${seed} ext`;
}

/**
 * Parses a client response: `hex:`, `word:`, `init-hex:`, `init-word:` (RFC 2243 §4, type
 * names in any case), or a standard RFC 2289 response (six words, else 16 hex digits).
 * MgmtSyntaxError 501 when malformed, 504 for a re-initialisation to an algorithm not
 * implemented. An init- response's new parameters are only parsed here: the caller decides
 * whether to accept them.
 */
export function parseOtpResponse(text: string): OtpResponse {
  if (text.length > OTP_MAX_TEXT) throw bad('response too long');
  const t = text.trim();
  const colon = t.indexOf(':');
  if (colon < 0) {
    // RFC 2289 §6.0: a standard response is six words or hex. Six tokens are taken for words,
    // anything else for hex; the other form is tried second and the first one's error reported.
    const [first, second] = t.split(/\s+/).length === 6 ? [otpFromWords, otpFromHex] : [otpFromHex, otpFromWords];
    try {
      return { form: 'standard', key: first(t) };
    } catch (e) {
      try {
        return { form: 'standard', key: second(t) };
      } catch {
        throw e;
      }
    }
  }
  const type = t.slice(0, colon).toLowerCase();
  const rest = t.slice(colon + 1);
  if (type === 'hex') return { form: 'hex', key: otpFromHex(rest) };
  if (type === 'word') return { form: 'word', key: otpFromWords(rest) };
  // Not repeated in the error (see otpFromWords): what precedes a colon may be a pass phrase.
  if (type !== 'init-hex' && type !== 'init-word') throw bad('unknown response type (hex, word, init-hex or init-word)');
  const fields = rest.split(':');
  if (fields.length !== 3) throw bad(`${type} takes <current OTP>:<algorithm> <sequence> <seed>:<new OTP>`);
  const decode = type === 'init-hex' ? otpFromHex : otpFromWords;
  const key = decode(fields[0]!);
  const params = fields[1]!.trim().split(/[ \t]+/);
  if (params.length !== 3) throw bad(`${type}: new parameters are <algorithm> <sequence> <seed>`);
  const p = parseParams(params[0]!, params[1]!, params[2]!);
  return { form: type === 'init-hex' ? 'hex' : 'word', key, reinit: { ...p, key: decode(fields[2]!) } };
}

/** Formats a response: `hex:` or `word:`, or init-hex / init-word when `reinit` is given (RFC 2243 §4). */
export function otpResponse(form: 'hex' | 'word', key: Uint8Array, reinit?: OtpReinit): string {
  const enc = form === 'hex' ? otpHex : otpSixWords;
  if (reinit === undefined) return `${form}:${enc(key)}`;
  return `init-${form}:${enc(key)}:${reinit.algorithm} ${reinit.sequence} ${reinit.seed}:${enc(reinit.key)}`;
}
