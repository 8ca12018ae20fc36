// Mechanism golden vectors from the RFCs, so our mechanisms match other implementations and
// not only each other.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cramMd5Client } from './mechanisms.js';
import { digestMd5Client, parseDirectives } from './digest-md5.js';
import { scramClient } from './scram.js';
import { utf8, fromUtf8, hex, md5, hmacMd5 } from './crypto.js';

test('MD5 / HMAC-MD5 known answers (RFC 1321, RFC 2104)', () => {
  assert.equal(hex(md5(utf8('abc'))), '900150983cd24fb0d6963f7d28e17f72');
  assert.equal(hex(hmacMd5(utf8('Jefe'), utf8('what do ya want for nothing?'))), '750c783e6ab0b503eaa86e310a5db738');
});

test('CRAM-MD5: RFC 2195 example', async () => {
  const c = cramMd5Client({ authId: 'tim', password: 'tanstaaftanstaaf' });
  assert.equal(await c.initial(), undefined);
  const r = await c.step(utf8('<1896.697170952@postoffice.reston.mci.net>'));
  assert.equal(fromUtf8(r), 'tim b913a602c7eda7a495b4e6e7334d3890');
});

test('DIGEST-MD5: RFC 2831 §4 example (response and rspauth)', async () => {
  const c = digestMd5Client({ authId: 'chris', password: 'secret', serverName: 'elwood.innosoft.com' }, 'OA6MHXh6VqTrRk', 'imap');
  const challenge = 'realm="elwood.innosoft.com",nonce="OA6MG9tEQGm2hh",qop="auth",algorithm=md5-sess,charset=utf-8';
  const d = parseDirectives(fromUtf8(await c.step(utf8(challenge))))!;
  assert.equal(d.get('response'), 'd388dad90d4bbd760a152321f2143af7');
  assert.equal(d.get('digest-uri'), 'imap/elwood.innosoft.com');
  const final = await c.step(utf8('rspauth=ea40f60335c427b5527b84dbabcdfffd'));
  assert.equal(final.length, 0, 'rspauth verified, empty final response');
  await assert.rejects(c.step(utf8('rspauth=00000000000000000000000000000000')), /rspauth/);
});

test('SCRAM-SHA-256: RFC 7677 §3 example (proof and server signature)', async () => {
  const c = scramClient({ authId: 'user', password: 'pencil' }, 'rOprNGfwEbeRWgbNEkqO');
  assert.equal(fromUtf8((await c.initial())!), 'n,,n=user,r=rOprNGfwEbeRWgbNEkqO');
  const final = await c.step(utf8('r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096'));
  assert.equal(
    fromUtf8(final),
    'c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=',
  );
  assert.equal(await c.verify(utf8('v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=')), true);
  assert.equal(await c.verify(utf8('v=AAAATRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=')), false);
});
