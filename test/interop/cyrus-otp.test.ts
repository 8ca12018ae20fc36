// OTP against an independent implementation: Cyrus SASL's OTP plugin (its own RFC 2289 code,
// Debian libsasl2-modules-otp), driven by test/interop/cyrus/otp-client.c. Its client answers
// challenges for many pass phrases, seeds, counts and both algorithms; we compute the same
// keys, and our server mechanism accepts its responses, its init-hex re-initialisation
// included. Skipped (never passed) where a C compiler, libsasl2's headers or the plugin is absent.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { otpKey, otpHex, parseOtpResponse, type OtpAlgorithm } from '../../src/sasl/otp.js';
import { otpServer, otpInit, OtpMemoryStore } from '../../src/sasl/otp-mech.js';

const SRC = fileURLToPath(new URL('../../../test/interop/cyrus/otp-client.c', import.meta.url));
let dir = '';
let child: ChildProcessWithoutNullStreams | undefined;
let why = '';

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'beepwire-cyrus-otp-'));
  const bin = join(dir, 'otp-client');
  const cc = spawnSync('cc', ['-o', bin, SRC, '-lsasl2'], { encoding: 'utf8' });
  if (cc.error !== undefined || cc.status !== 0) {
    why = `cannot build the Cyrus SASL client (cc and libsasl2-dev needed): ${(cc.error?.message ?? cc.stderr).slice(0, 200)}`;
    return;
  }
  const probe = spawnSync(bin, [], { input: 'This is a test.\totp-md5 499 probe ext\n', encoding: 'utf8', timeout: 10_000 });
  if (!probe.stdout.startsWith('ok\t')) {
    why = `Cyrus SASL has no OTP mechanism here (libsasl2-modules-otp): ${probe.stdout.trim().slice(0, 200)}`;
    return;
  }
  child = spawn(bin, [], { stdio: ['pipe', 'pipe', 'pipe'] });
});

after(() => {
  child?.stdin.end();
  child?.kill();
  rmSync(dir, { recursive: true, force: true });
});

let pending = '';
/** Cyrus's answer to one challenge: [initial response, response]. */
async function cyrus(passphrase: string, challenge: string): Promise<[string, string]> {
  const c = child!;
  c.stdin.write(`${passphrase}\t${challenge}\n`);
  for (;;) {
    const nl = pending.indexOf('\n');
    if (nl >= 0) {
      const line = pending.slice(0, nl);
      pending = pending.slice(nl + 1);
      const [status, a, b] = line.split('\t');
      if (status !== 'ok') throw new Error(`Cyrus SASL: ${line}`);
      return [a!.replace(/\\0/g, '\0'), b!];
    }
    const chunk = await new Promise<string>((resolve, reject) => {
      // One pair of listeners per wait, both gone when either fires (an 'exit' listener left per
      // challenge piled up past EventEmitter's warning limit).
      const exited = (): void => {
        c.stdout.off('data', got);
        reject(new Error('the Cyrus SASL client exited'));
      };
      const got = (d: Buffer): void => {
        c.off('exit', exited);
        resolve(d.toString());
      };
      c.stdout.once('data', got);
      c.once('exit', exited);
    });
    pending += chunk;
  }
}

/** A small deterministic generator (the same cases every run). */
function* cases(n: number): Generator<[OtpAlgorithm, string, string, number]> {
  let x = 0x2289;
  const next = (m: number): number => {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    return x % m;
  };
  const alnum = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
  for (let i = 0; i < n; i++) {
    const seed = Array.from({ length: 1 + next(16) }, () => alnum[next(alnum.length)]).join('');
    const pass = Array.from({ length: 10 + next(54) }, () => String.fromCharCode(32 + next(95))).join('');
    yield [next(2) === 0 ? 'md5' : 'sha1', pass, seed, next(3) === 0 ? next(20) : 490 + next(600)];
  }
}

test('Cyrus SASL OTP client: the RFC 2289 vectors and 300 random cases give our keys', async (t) => {
  if (child === undefined) return t.skip(why);
  const rfc: Array<[OtpAlgorithm, string, string, number]> = [];
  for (const alg of ['md5', 'sha1'] as const)
    for (const [p, s] of [
      ['This is a test.', 'TeSt'],
      ['AbCdEfGhIjK', 'alpha1'],
      ["OTP's are good", 'correct'],
    ])
      for (const n of [0, 1, 99]) rfc.push([alg, p!, s!, n]);
  let reinits = 0;
  for (const [alg, pass, seed, n] of [...rfc, ...cases(300)]) {
    // Cyrus refuses a challenge for count 0 ("OTP has expired"): count 1 is asked instead.
    const asked = Math.max(n, 1);
    const [initial, response] = await cyrus(pass, `otp-${alg} ${asked} ${seed} ext`);
    assert.equal(initial, 'bob\0bob', 'authzid NUL authcid');
    const r = parseOtpResponse(response);
    assert.equal(otpHex(r.key), otpHex(otpKey(alg, pass, seed, asked)), `${alg} ${asked} ${seed}`);
    if (r.reinit !== undefined) {
      // Cyrus re-initialises below count 490: its new key for its new seed is ours too.
      reinits++;
      assert.equal(otpHex(r.reinit.key), otpHex(otpKey(r.reinit.algorithm, pass, r.reinit.seed, r.reinit.sequence)));
    }
  }
  assert.ok(reinits > 50, `init-hex seen ${reinits} times`);
});

test("Cyrus SASL OTP client against our server mechanism: hex, then init-hex to Cyrus's new seed, then hex again", async (t) => {
  if (child === undefined) return t.skip(why);
  for (const alg of ['md5', 'sha1'] as const) {
    const store = new OtpMemoryStore();
    const pass = 'cyrus interop pass phrase';
    store.set('bob', otpInit(alg, pass, 'Start1', 600)); // Cyrus answers 599..490 with hex, below with init-hex
    const login = async (): Promise<string> => {
      const ex = otpServer({ check: (p) => store.entry(p.authId), serverName: 'localhost' });
      const first = await ex.step(new TextEncoder().encode('bob\0bob')); // Cyrus's initial response (checked above)
      assert.equal(first.kind, 'continue');
      const challenge = new TextDecoder().decode((first as { challenge: Uint8Array }).challenge);
      const [, response] = await cyrus(pass, challenge);
      const done = await ex.step(new TextEncoder().encode(response));
      assert.deepEqual(done, { kind: 'success', authId: 'bob', authorizationId: 'bob' }, `${challenge} -> ${response}`);
      return response;
    };
    assert.match(await login(), /^hex:[0-9a-f]{16}$/);
    assert.equal(store.get('bob')!.sequence, 599);
    store.set('bob', otpInit(alg, pass, 'Start1', 400));
    assert.match(await login(), /^init-hex:/);
    const s = store.get('bob')!;
    assert.equal(s.sequence, 499, "Cyrus's re-initialisation is stored");
    assert.notEqual(s.seed, 'Start1');
    assert.match(await login(), /^hex:/, 'and the next login uses it');
    assert.equal(store.get('bob')!.sequence, 498);
  }
});
