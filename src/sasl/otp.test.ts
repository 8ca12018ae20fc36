// RFC 2289 one-time passwords against the RFC's own vectors (Appendix C), the six-word form
// and its checksum (Appendix B), the dictionary (Appendix D), and the RFC 2243 challenge and
// response syntax, including what a hostile peer may send.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MgmtSyntaxError } from '../errors.js';
import { OTP_WORDS, OTP_SHORT_WORDS } from './otp-words.js';
import {
  otpKey,
  otpHex,
  otpSixWords,
  otpFromWords,
  otpFromHex,
  otpFold,
  parseOtpChallenge,
  parseOtpResponse,
  otpResponse,
  otpChallenge,
  type OtpAlgorithm,
} from './otp.js';

/**
 * RFC 2289 Appendix C, the MD5 and SHA1 tables (MD4 is not implemented): pass phrase, seed,
 * count, hex, six words. The SHA1 rows are the printed ones: they follow from the RFC's fold
 * with each 32-bit word written least significant byte first, and Cyrus SASL's OTP plugin
 * computes the same (test/interop/cyrus-otp.test.ts).
 */
const APPENDIX_C: Array<[OtpAlgorithm, string, string, number, string, string]> = [
  ['md5', 'This is a test.', 'TeSt', 0, '9E87 6134 D904 99DD', 'INCH SEA ANNE LONG AHEM TOUR'],
  ['md5', 'This is a test.', 'TeSt', 1, '7965 E054 36F5 029F', 'EASE OIL FUM CURE AWRY AVIS'],
  ['md5', 'This is a test.', 'TeSt', 99, '50FE 1962 C496 5880', 'BAIL TUFT BITS GANG CHEF THY'],
  ['md5', 'AbCdEfGhIjK', 'alpha1', 0, '8706 6DD9 644B F206', 'FULL PEW DOWN ONCE MORT ARC'],
  ['md5', 'AbCdEfGhIjK', 'alpha1', 1, '7CD3 4C10 40AD D14B', 'FACT HOOF AT FIST SITE KENT'],
  ['md5', 'AbCdEfGhIjK', 'alpha1', 99, '5AA3 7A81 F212 146C', 'BODE HOP JAKE STOW JUT RAP'],
  ['md5', "OTP's are good", 'correct', 0, 'F205 7539 43DE 4CF9', 'ULAN NEW ARMY FUSE SUIT EYED'],
  ['md5', "OTP's are good", 'correct', 1, 'DDCD AC95 6F23 4937', 'SKIM CULT LOB SLAM POE HOWL'],
  ['md5', "OTP's are good", 'correct', 99, 'B203 E28F A525 BE47', 'LONG IVY JULY AJAR BOND LEE'],
  ['sha1', 'This is a test.', 'TeSt', 0, 'BB9E 6AE1 979D 8FF4', 'MILT VARY MAST OK SEES WENT'],
  ['sha1', 'This is a test.', 'TeSt', 1, '63D9 3663 9734 385B', 'CART OTTO HIVE ODE VAT NUT'],
  ['sha1', 'This is a test.', 'TeSt', 99, '87FE C776 8B73 CCF9', 'GAFF WAIT SKID GIG SKY EYED'],
  ['sha1', 'AbCdEfGhIjK', 'alpha1', 0, 'AD85 F658 EBE3 83C9', 'LEST OR HEEL SCOT ROB SUIT'],
  ['sha1', 'AbCdEfGhIjK', 'alpha1', 1, 'D07C E229 B5CF 119B', 'RITE TAKE GELD COST TUNE RECK'],
  ['sha1', 'AbCdEfGhIjK', 'alpha1', 99, '27BC 7103 5AAF 3DC6', 'MAY STAR TIN LYON VEDA STAN'],
  ['sha1', "OTP's are good", 'correct', 0, 'D51F 3E99 BF8E 6F0B', 'RUST WELT KICK FELL TAIL FRAU'],
  ['sha1', "OTP's are good", 'correct', 1, '82AE B52D 9437 74E4', 'FLIT DOSE ALSO MEW DRUM DEFY'],
  ['sha1', "OTP's are good", 'correct', 99, '4F29 6A74 FE15 67EC', 'AURA ALOE HURL WING BERG WAIT'],
];

for (const [alg, pass, seed, n, hexText, words] of APPENDIX_C) {
  test(`RFC 2289 Appendix C: ${alg} "${pass}" ${seed} ${n}`, () => {
    const key = otpKey(alg, pass, seed, n);
    assert.equal(otpHex(key), hexText.replace(/ /g, '').toLowerCase());
    assert.equal(otpSixWords(key), words);
    assert.deepEqual(otpFromWords(words), key, 'the six words decode to the key');
    assert.deepEqual(otpFromWords(words.toLowerCase()), key, 'in any case');
    assert.deepEqual(otpFromHex(hexText), key, 'hex with the RFC spacing');
  });
}

test('the seed is hashed in lower case (RFC 2289 §6.0): TeSt and test give the same key', () => {
  assert.deepEqual(otpKey('md5', 'This is a test.', 'test', 1), otpKey('md5', 'This is a test.', 'TeSt', 1));
});

test('SHA-1 fold: w0^w2^w4, w1^w3, each word least significant byte first', () => {
  const digest = Uint8Array.from({ length: 20 }, (_, i) => i + 1);
  // words (big-endian): 01020304 05060708 090a0b0c 0d0e0f10 11121314
  const w0 = 0x01020304 ^ 0x090a0b0c ^ 0x11121314;
  const w1 = 0x05060708 ^ 0x0d0e0f10;
  const le = (w: number): number[] => [w & 0xff, (w >>> 8) & 0xff, (w >>> 16) & 0xff, w >>> 24];
  assert.deepEqual([...otpFold('sha1', digest)], [...le(w0), ...le(w1)]);
  const md5digest = Uint8Array.from({ length: 16 }, (_, i) => i * 17);
  assert.deepEqual(
    [...otpFold('md5', md5digest)],
    [...md5digest.slice(0, 8)].map((b, i) => b ^ md5digest[i + 8]!),
  );
});

test('RFC 2289 Appendix D: 2,048 distinct words, 571 of 1-3 letters then 4-letter ones, each group sorted', () => {
  assert.equal(OTP_WORDS.length, 2048);
  assert.equal(new Set(OTP_WORDS).size, 2048);
  assert.ok(OTP_WORDS.slice(0, OTP_SHORT_WORDS).every((w) => /^[A-Z]{1,3}$/.test(w)));
  assert.ok(OTP_WORDS.slice(OTP_SHORT_WORDS).every((w) => /^[A-Z]{4}$/.test(w)));
  const sorted = (a: readonly string[]): boolean => a.every((w, i) => i === 0 || a[i - 1]! < w);
  assert.ok(sorted(OTP_WORDS.slice(0, OTP_SHORT_WORDS)) && sorted(OTP_WORDS.slice(OTP_SHORT_WORDS)));
  assert.deepEqual([OTP_WORDS[0], OTP_WORDS[570], OTP_WORDS[571], OTP_WORDS[2047]], ['A', 'YOU', 'ABED', 'YOKE']);
});

test('six words: every dictionary word decodes to its own index (round trip over the whole table)', () => {
  // Word i in each of the six positions: build keys whose words cover the whole table.
  for (let i = 0; i < 2048; i += 1) {
    const key = new Uint8Array(8);
    // Put i in the first 11 bits; the other bits vary with i so the checksum changes too.
    const v = (BigInt(i) << 53n) | (BigInt(i * 2654435761) & ((1n << 53n) - 1n));
    for (let b = 0; b < 8; b++) key[b] = Number((v >> BigInt(56 - 8 * b)) & 0xffn);
    const words = otpSixWords(key);
    assert.equal(words.split(' ')[0], OTP_WORDS[i]);
    assert.deepEqual(otpFromWords(words), key);
  }
});

test('six words: a wrong checksum, an unknown word or a wrong count is a 501 MgmtSyntaxError', () => {
  const good = 'INCH SEA ANNE LONG AHEM TOUR';
  // The last word's two low bits are the checksum: the words whose index differs only there.
  const tour = OTP_WORDS.indexOf('TOUR');
  for (const last of [1, 2, 3].map((x) => OTP_WORDS[tour ^ x]!)) {
    assert.throws(
      () => otpFromWords(`INCH SEA ANNE LONG AHEM ${last}`),
      (e: unknown) => e instanceof MgmtSyntaxError && e.replyCode === 501 && /checksum/.test(e.message),
    );
  }
  for (const bad of [
    'INCH SEA ANNE LONG AHEM',
    `${good} TOUR`,
    'INCH SEA ANNE LONG AHEM TOURS',
    'INCH SEA ANNE LONG AHEM T0UR',
    '',
    'x'.repeat(300),
  ]) {
    assert.throws(
      () => otpFromWords(bad),
      (e: unknown) => e instanceof MgmtSyntaxError && e.replyCode === 501,
      bad.slice(0, 40),
    );
  }
  assert.deepEqual(otpFromWords(`  inch\tSea  anne LONG ahem   tour `), otpFromWords(good), 'whitespace and case are free');
});

test('hex: 16 digits, any case, spaces allowed; anything else is 501', () => {
  assert.deepEqual(otpFromHex('9e876134d90499dd'), otpFromHex('9E87 6134 D904 99DD'));
  for (const bad of ['9e876134d90499d', '9e876134d90499ddd', '9e876134d90499dg', '0x9e876134d90499dd', '', 'f'.repeat(400)])
    assert.throws(
      () => otpFromHex(bad),
      (e: unknown) => e instanceof MgmtSyntaxError && e.replyCode === 501,
      bad.slice(0, 20),
    );
});

test('challenge: parsed and formatted (RFC 2243 §3); a hostile one is refused before any hashing', () => {
  assert.deepEqual(parseOtpChallenge('otp-md5 499 ke1234 ext'), { algorithm: 'md5', sequence: 499, seed: 'ke1234', extensions: [] });
  assert.deepEqual(parseOtpChallenge(' otp-SHA1  0\tTeSt ext,hex,word '), {
    algorithm: 'sha1',
    sequence: 0,
    seed: 'TeSt',
    extensions: ['hex', 'word'],
  });
  assert.equal(otpChallenge('md5', 498, 'ke1234'), 'otp-md5 498 ke1234 ext');
  const refused: Array<[string, number]> = [
    ['otp-md5 4294967295 seed ext', 501], // would hash 2^32 times
    ['otp-md5 10000 seed ext', 501],
    ['otp-md5 99999999999 seed ext', 501],
    ['otp-md5 -1 seed ext', 501],
    ['otp-md5 1e3 seed ext', 501],
    ['otp-md5 99 seed', 501], // not extended (RFC 2444 requires ext)
    ['otp-md5 99 seed extra', 501],
    ['otp-md5 99 se-ed ext', 501],
    ['otp-md5 99 seedseedseedseed1 ext', 501], // 17 characters
    ['otp-md5 99 séed ext', 501],
    ['otp-md4 99 seed ext', 504],
    ['otp-sha256 99 seed ext', 504],
    ['otp-md5 99  ext', 501],
    ['md5 99 seed ext', 501],
    ['', 501],
    [`otp-md5 99 seed ext,${'a'.repeat(300)}`, 501],
    ['otp-md5 99 seed ext,<x>', 501],
  ];
  for (const [c, code] of refused)
    assert.throws(
      () => parseOtpChallenge(c),
      (e: unknown) => e instanceof MgmtSyntaxError && e.replyCode === code,
      c.slice(0, 40),
    );
});

test('responses (RFC 2243 §4): hex, word, init-hex, init-word and the standard forms', () => {
  const key = otpKey('md5', 'This is a test.', 'TeSt', 1);
  const next = { algorithm: 'sha1' as const, sequence: 499, seed: 'ke1235', key: otpKey('sha1', 'new pass phrase', 'ke1235', 499) };
  assert.equal(otpResponse('hex', key), 'hex:7965e05436f5029f');
  assert.equal(otpResponse('word', key), 'word:EASE OIL FUM CURE AWRY AVIS');
  const ih = otpResponse('hex', key, next);
  assert.equal(ih, `init-hex:7965e05436f5029f:sha1 499 ke1235:${otpHex(next.key)}`);
  assert.deepEqual(parseOtpResponse(ih), { form: 'hex', key, reinit: next });
  const iw = otpResponse('word', key, next);
  assert.equal(iw, `init-word:EASE OIL FUM CURE AWRY AVIS:sha1 499 ke1235:${otpSixWords(next.key)}`);
  assert.deepEqual(parseOtpResponse(iw), { form: 'word', key, reinit: next });
  assert.deepEqual(parseOtpResponse('HEX: 7965 E054 36F5 029F'), { form: 'hex', key });
  assert.deepEqual(parseOtpResponse('Word:ease oil fum cure awry avis'), { form: 'word', key });
  assert.deepEqual(parseOtpResponse('EASE OIL FUM CURE AWRY AVIS'), { form: 'standard', key });
  assert.deepEqual(parseOtpResponse('7965E05436F5029F'), { form: 'standard', key });
});

test('malformed responses are 501 (504 for a re-initialisation to an algorithm not implemented)', () => {
  const cases: Array<[string, number]> = [
    ['hex:7965e05436f5029', 501],
    ['word:EASE OIL FUM CURE AWRY', 501],
    ['word:EASE OIL FUM CURE AWRY AVID', 501], // checksum
    ['sha1:7965e05436f5029f', 501],
    ['init-hex:7965e05436f5029f', 501],
    ['init-hex:7965e05436f5029f:md5 499 ke1235', 501],
    ['init-hex:7965e05436f5029f:md5 499:0000000000000000', 501],
    ['init-hex:7965e05436f5029f:md5 10000 ke1235:0000000000000000', 501],
    ['init-hex:7965e05436f5029f:md5 499 ke-1235:0000000000000000', 501],
    ['init-hex:7965e05436f5029f:md4 499 ke1235:0000000000000000', 504],
    ['init-hex:7965e05436f5029f:md5 499 ke1235:0000000000000000:extra', 501],
    ['init-word:7965e05436f5029f:md5 499 ke1235:0000000000000000', 501],
    ['', 501],
    ['hex:', 501],
    [`hex:${'0'.repeat(300)}`, 501],
  ];
  for (const [r, code] of cases)
    assert.throws(
      () => parseOtpResponse(r),
      (e: unknown) => e instanceof MgmtSyntaxError && e.replyCode === code,
      r.slice(0, 40),
    );
});

test('otpKey: bad arguments from the application are RangeErrors', () => {
  assert.throws(() => otpKey('md5', 'pass phrase', 'bad seed', 1), RangeError);
  assert.throws(() => otpKey('md5', 'pass phrase', 'seed', 10000), RangeError);
  assert.throws(() => otpKey('md5', 'pass phrase', 'seed', 1.5), RangeError);
  assert.throws(() => otpKey('md5', '', 'seed', 1), RangeError);
  assert.throws(() => otpKey('md4' as OtpAlgorithm, 'pass phrase', 'seed', 1), RangeError);
});
