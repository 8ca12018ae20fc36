// SASLprep golden vectors: the RFC 4013 §3 examples, then one case per rule, so the hand-kept
// profile (src/sasl/saslprep.ts) is held to the RFC and not only to the mechanisms using it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { saslprep } from '../../src/sasl/saslprep.js';

test('SASLprep: RFC 4013 §3 examples', () => {
  assert.equal(saslprep('I\u00ADX'), 'IX', 'SOFT HYPHEN mapped to nothing');
  assert.equal(saslprep('user'), 'user', 'no transformation');
  assert.equal(saslprep('USER'), 'USER', 'case preserved, will not match #2');
  assert.equal(saslprep('\u00AA'), 'a', 'output is NFKC, input in ISO 8859-1');
  assert.equal(saslprep('\u2168'), 'IX', 'output is NFKC, will match #1');
  assert.throws(() => saslprep('\u0007'), RangeError, 'Error - prohibited character');
  assert.throws(() => saslprep('\u0627\u0031'), RangeError, 'Error - bidirectional check');
});

test('SASLprep: §2.1 mapping, non-ASCII space to SPACE and B.1 to nothing', () => {
  assert.equal(saslprep('a\u00A0b\u3000c'), 'a b c');
  assert.equal(saslprep('a\uFEFFb\u200Dc\uFE0F'), 'abc');
  // U+200B is in both B.1 and C.1.2 (Unicode 3.2 made it a space): B.1 wins, as in passlib.
  assert.equal(saslprep('a\u200Bb'), 'ab');
  assert.equal(saslprep(''), '');
  assert.equal(saslprep('\u00AD'), '', 'a string of nothing-mapped characters prepares to empty');
});

test('SASLprep: §2.3 prohibited output (C.1.2 to C.9), checked after mapping', () => {
  for (const cp of [
    0x7f, 0x80, 0x9f, 0x06dd, 0x1d173, 0xe000, 0xf0000, 0x10fffd, 0xfdd0, 0xfffe, 0x1ffff, 0xffffe, 0xfffff, 0xfff9, 0x2ff0, 0x202a, 0x200e,
    0x206f, 0xe0001, 0xe007f,
  ]) {
    assert.throws(() => saslprep(`a${String.fromCodePoint(cp)}`), RangeError, cp.toString(16));
  }
  assert.throws(() => saslprep('a\uD800b'), RangeError, 'a lone surrogate (C.5)');
  assert.throws(() => saslprep('a\uDC00'), RangeError, 'a lone low surrogate (C.5)');
  assert.equal(saslprep('\u{1D400}'), 'A', 'an astral character maps through NFKC');
  assert.equal(saslprep('a\u0340'), 'a\u0300'.normalize('NFKC'), 'C.8 U+0340 normalizes to U+0300 before the check');
});

test('SASLprep: §2.4 bidirectional rules (RFC 3454 §6)', () => {
  assert.equal(saslprep('\u0627\u0628'), '\u0627\u0628', 'RandALCat only');
  assert.equal(saslprep('\u0627\u0031\u0628'), '\u0627\u0031\u0628', 'RandALCat first and last, neutral inside');
  assert.throws(() => saslprep('\u0031\u0627'), RangeError, 'RandALCat not first');
  assert.throws(() => saslprep('\u0627a\u0628'), RangeError, 'RandALCat with LCat');
  assert.equal(saslprep('a1-b'), 'a1-b', 'no RandALCat: no bidi rule');
});

test('SASLprep: §2.5 unassigned code points (A.1): refused for stored strings, allowed for queries', () => {
  // U+0221 was unassigned in Unicode 3.2; U+32CC (assigned later, NFKC "Hg") is checked on the
  // input, as ICU's usprep does, so a newer normalization cannot launder it.
  for (const s of ['a\u0221', '\u32CC']) {
    assert.throws(() => saslprep(s), RangeError, s);
    assert.doesNotThrow(() => saslprep(s, { allowUnassigned: true }), s);
  }
  assert.equal(saslprep('\u32CC', { allowUnassigned: true }), 'Hg');
});

test('SASLprep: a long password does not hit the engine argument limit', () => {
  const s = 'p\u00ADw'.repeat(100_000);
  assert.equal(saslprep(s), 'pw'.repeat(100_000));
});
