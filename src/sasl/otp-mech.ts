// SASL OTP (RFC 2444) over the one-time passwords of otp.ts, both sides. The client sends
// "authzid NUL authcid", the server answers with an extended challenge, the client with an
// extended response (RFC 2243), the server hashes it once and compares it with the stored key.
// The server's store is the application's (handler -> OtpEntry); its update is a
// compare-and-set, so two sessions that present the same one-time password cannot both pass.
import { MgmtSyntaxError } from '../errors.js';
import { fromUtf8, utf8, utf8Text, timingSafeEqual } from './crypto.js';
import { HandlerFault, callHandler } from './guard.js';
import {
  AUTH_FAILED,
  MAX_FIELD,
  fail,
  type ServerMechanism,
  type ServerContext,
  type ClientMechanism,
  type ClientProps,
} from './mechanisms.js';
import {
  OTP_ALGORITHMS,
  OTP_MAX_SEQUENCE,
  OTP_MAX_TEXT,
  isOtpSeed,
  otpChallenge,
  otpKey,
  otpResponse,
  otpStep,
  parseOtpChallenge,
  parseOtpResponse,
  type OtpAlgorithm,
  type OtpChallenge,
  type OtpResponse,
} from './otp.js';

/** What a server stores per user (RFC 2289 §6.0): the last one-time password accepted and its sequence number. */
export interface OtpState {
  /** Hash algorithm. */
  algorithm: OtpAlgorithm;
  /** Sequence number of `key`; the next challenge asks for `sequence - 1`. */
  sequence: number;
  /** Seed, 1 to 16 ASCII letters and digits. */
  seed: string;
  /** The 8-octet one-time password of `sequence`. */
  key: Uint8Array;
}

/**
 * What the acceptMech handler returns for OTP: the user's state and how to replace it. `update`
 * must be a compare-and-set: replace the stored state with `next` only if it still equals
 * `previous` (same sequence, seed, algorithm and key), and resolve true only then. Two sessions
 * answering the same challenge both verify; only the one whose update wins is authenticated.
 */
export interface OtpEntry extends OtpState {
  /** Stores `next` if the stored state is still `previous`; true when it did. */
  update(next: OtpState, previous: OtpState): boolean | Promise<boolean>;
}

/** Client side of OTP (ClientProps.otp); without it the client computes the response from `password`, the pass phrase. */
export interface OtpClientOptions {
  /** Response form: 'hex' (default) or 'word' (six words of the RFC 2289 dictionary). */
  format?: 'hex' | 'word';
  /**
   * A response computed elsewhere (a printed list, a token): called with the server's
   * challenge, its text is sent as is (a standard or extended response, at most 256 characters).
   */
  response?: (challenge: OtpChallenge) => string | Promise<string>;
  /**
   * Re-initialise (RFC 2243 init-hex / init-word): after this login the server holds the
   * one-time password of `sequence` for `seed` (and `passphrase` and `algorithm` when given,
   * else the current ones). The seed must differ from the current one.
   */
  reinit?: {
    /** Sequence number of the new chain (at least 1). */
    sequence: number;
    /** Seed of the new chain (must differ from the current one). */
    seed: string;
    /** Pass phrase of the new chain (default: the current one). */
    passphrase?: string;
    /** Hash of the new chain (default: the current one). */
    algorithm?: OtpAlgorithm;
  };
}

/** Copy of a state, its key too (the application's object may change later). */
const copyState = (s: OtpState): OtpState => ({ algorithm: s.algorithm, sequence: s.sequence, seed: s.seed, key: Uint8Array.from(s.key) });

/** Why a stored state is unusable, or undefined when it is fine. */
function badState(s: Partial<OtpState> | null | undefined): string | undefined {
  if (typeof s !== 'object' || s === null) return 'not an object';
  if (!OTP_ALGORITHMS.includes(s.algorithm as OtpAlgorithm)) return `algorithm ${String(s.algorithm)} (md5 or sha1)`;
  if (!Number.isInteger(s.sequence) || (s.sequence as number) < 0 || (s.sequence as number) > OTP_MAX_SEQUENCE)
    return `sequence ${String(s.sequence)} (0..${OTP_MAX_SEQUENCE})`;
  if (typeof s.seed !== 'string' || !isOtpSeed(s.seed)) return 'seed (1 to 16 ASCII letters and digits)';
  if (!(s.key instanceof Uint8Array) || s.key.length !== 8) return 'key (8 octets)';
  return undefined;
}

/** Whether an init- response's new parameters may replace `current` (RFC 2243 §4; the seed must change, as Cyrus SASL requires). */
function reinitRefusal(r: NonNullable<OtpResponse['reinit']>, current: OtpState): string | undefined {
  if (r.sequence < 1) return 'new sequence number must be at least 1';
  if (r.seed.toLowerCase() === current.seed.toLowerCase()) return 'new seed must differ from the current one';
  return undefined;
}

/**
 * Server side. The handler (props.mech 'OTP', authId, authorizationId) returns the user's
 * OtpEntry, or null to refuse. A state whose sequence is 0 has no one-time password left (535);
 * a malformed entry is the application's fault (454, reported).
 */
export function otpServer(ctx: ServerContext): ServerMechanism {
  let stage = 0;
  let entry: OtpEntry | undefined;
  let held: OtpState | undefined;
  let authId = '';
  let authorizationId: string | undefined;
  return {
    async step(response) {
      // Client-first (RFC 2444 §3): without an initial response, an empty challenge asks for it.
      if (response === undefined) return { kind: 'continue', challenge: new Uint8Array(0) };
      const text = utf8Text(response);
      if (text === undefined) return fail('OTP message is not UTF-8', 501);
      if (stage === 0) {
        stage = 1;
        const parts = text.split('\0');
        if (parts.length !== 2 || !parts[1]) return fail('malformed OTP initial response (authzid NUL authcid)', 501);
        if (parts[0]!.length > MAX_FIELD || parts[1].length > MAX_FIELD) return fail('OTP identity too long', 501);
        authId = parts[1];
        authorizationId = parts[0] || undefined;
        const found = await ctx.check({
          mech: 'OTP',
          authId,
          serverName: ctx.serverName,
          ...(authorizationId ? { authorizationId } : {}),
        });
        if (typeof found !== 'object' || found === null) return AUTH_FAILED;
        const why = badState(found) ?? (typeof found.update !== 'function' ? 'update (a function)' : undefined);
        if (why !== undefined) throw new HandlerFault('SASL OTP lookup', new TypeError(`the OTP entry of '${authId}' has a bad ${why}`));
        if (found.sequence < 1) return fail('no one-time password left for this user: re-initialise', 535);
        entry = found;
        held = copyState(found);
        return { kind: 'continue', challenge: utf8(otpChallenge(held.algorithm, held.sequence - 1, held.seed)) };
      }
      if (stage !== 1 || entry === undefined || held === undefined) return fail('unexpected OTP message', 501);
      stage = 2;
      let r: OtpResponse;
      try {
        r = parseOtpResponse(text);
      } catch (e) {
        return e instanceof MgmtSyntaxError ? fail(e.message, e.replyCode) : fail('malformed OTP response', 501);
      }
      // RFC 2289 §6.0 verification: one more hash of the response gives the stored key.
      if (!timingSafeEqual(otpStep(held.algorithm, r.key), held.key)) return AUTH_FAILED;
      const used: OtpState = { algorithm: held.algorithm, sequence: held.sequence - 1, seed: held.seed, key: r.key };
      const refusal = r.reinit === undefined ? undefined : reinitRefusal(r.reinit, held);
      // A refused re-initialisation still consumes the one-time password: it crossed the wire.
      const next = r.reinit === undefined || refusal !== undefined ? used : copyState(r.reinit);
      const e = entry,
        previous = copyState(held);
      const stored = await callHandler('SASL OTP update', () => e.update(next, previous));
      if (stored !== true) return fail('one-time password already used', 535);
      if (refusal !== undefined) return fail(`OTP re-initialisation refused: ${refusal}`, 501);
      return { kind: 'success', authId, authorizationId };
    },
  };
}

/** Checks the client's OTP options once, before anything is sent; RangeError for bad ones. */
function checkOptions(o: OtpClientOptions | undefined): void {
  if (o === undefined) return;
  if (o.format !== undefined && o.format !== 'hex' && o.format !== 'word') throw new RangeError("otp.format must be 'hex' or 'word'");
  if (o.response !== undefined && typeof o.response !== 'function') throw new RangeError('otp.response must be a function');
  const r = o.reinit;
  if (r !== undefined) {
    if (!isOtpSeed(r.seed)) throw new RangeError('otp.reinit.seed must be 1 to 16 ASCII letters and digits');
    if (!Number.isInteger(r.sequence) || r.sequence < 1 || r.sequence > OTP_MAX_SEQUENCE)
      throw new RangeError(`otp.reinit.sequence must be an integer in 1..${OTP_MAX_SEQUENCE}`);
    if (r.algorithm !== undefined && !OTP_ALGORITHMS.includes(r.algorithm))
      throw new RangeError("otp.reinit.algorithm must be 'md5' or 'sha1'");
  }
}

/**
 * Client side: `password` is the pass phrase (hashed sequence + 1 times, at most 10,000), or
 * `otp.response` supplies the response. A malformed challenge (or one above sequence 9999)
 * rejects with MgmtSyntaxError 501 (504 for an algorithm not implemented) before any hashing.
 */
export function otpClient(p: ClientProps): ClientMechanism {
  const o = p.otp;
  checkOptions(o);
  let answered = false;
  const identities = (): Uint8Array => utf8(`${p.authorizationId ?? ''}\0${p.authId ?? ''}`);
  return {
    initial: async () => identities(),
    async step(challenge) {
      if (challenge.length === 0 && !answered) return identities(); // a server that did not take the initial response
      if (answered) throw new MgmtSyntaxError('OTP: a second challenge after the response', 501);
      let text: string;
      try {
        text = fromUtf8(challenge);
      } catch {
        throw new MgmtSyntaxError('OTP: challenge is not UTF-8', 501);
      }
      const c = parseOtpChallenge(text);
      answered = true;
      if (o?.response !== undefined) {
        const r = await o.response(c);
        if (typeof r !== 'string' || r.length === 0 || r.length > OTP_MAX_TEXT)
          throw new RangeError(`otp.response must give a response of 1 to ${OTP_MAX_TEXT} characters`);
        return utf8(r);
      }
      const pass = p.password ?? '';
      const key = otpKey(c.algorithm, pass, c.seed, c.sequence);
      const form = o?.format ?? 'hex';
      const ri = o?.reinit;
      if (ri === undefined) return utf8(otpResponse(form, key));
      const algorithm = ri.algorithm ?? c.algorithm;
      const next = { algorithm, sequence: ri.sequence, seed: ri.seed, key: otpKey(algorithm, ri.passphrase ?? pass, ri.seed, ri.sequence) };
      return utf8(otpResponse(form, key, next));
    },
    verify: async () => true, // RFC 2444: success carries no server proof
  };
}

/** A user's initial server state: the one-time password of `sequence` for `passphrase` and `seed` (what keyinit / opiepasswd store). */
export function otpInit(algorithm: OtpAlgorithm, passphrase: string, seed: string, sequence: number): OtpState {
  return { algorithm, sequence, seed, key: otpKey(algorithm, passphrase, seed, sequence) };
}

/** Equal states (the compare of compare-and-set). */
function sameState(a: OtpState, b: OtpState): boolean {
  return a.algorithm === b.algorithm && a.sequence === b.sequence && a.seed === b.seed && timingSafeEqual(a.key, b.key);
}

/** An in-memory OTP store for one process: entry() is what an acceptMech handler returns; its update is a compare-and-set. */
export class OtpMemoryStore {
  readonly #users = new Map<string, OtpState>();
  /** Sets (or replaces) a user's state; RangeError for a malformed one. */
  set(user: string, state: OtpState): void {
    const why = badState(state);
    if (why !== undefined) throw new RangeError(`bad OTP state: ${why}`);
    this.#users.set(user, copyState(state));
  }
  /** A copy of the user's state, or undefined. */
  get(user: string): OtpState | undefined {
    const s = this.#users.get(user);
    return s === undefined ? undefined : copyState(s);
  }
  /** Removes a user; true when there was one. */
  delete(user: string): boolean {
    return this.#users.delete(user);
  }
  /** The user's entry for an acceptMech handler, or null when unknown. */
  entry(user: string | undefined): OtpEntry | null {
    const s = user === undefined ? undefined : this.#users.get(user);
    if (user === undefined || s === undefined) return null;
    return {
      ...copyState(s),
      update: (next, previous) => {
        const cur = this.#users.get(user);
        if (cur === undefined || !sameState(cur, previous)) return false;
        this.#users.set(user, copyState(next));
        return true;
      },
    };
  }
}
