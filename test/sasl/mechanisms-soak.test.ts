// Bounded random-input soak of the server mechanisms (issue 9): whatever a client sends, a
// step resolves to continue or a failure with an RFC 3080 §8 code; it never throws (a throw
// is what took sessions down) and never succeeds for a handler that refuses everyone.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  anonymousServer,
  plainServer,
  externalServer,
  cramMd5Server,
  type ServerContext,
  type ServerMechanism,
} from '../../src/sasl/mechanisms.js';
import { digestMd5Server } from '../../src/sasl/digest-md5.js';
import { scramServer } from '../../src/sasl/scram.js';
import { otpServer } from '../../src/sasl/otp-mech.js';

const SERVERS: Record<string, (c: ServerContext) => ServerMechanism> = {
  ANONYMOUS: anonymousServer,
  PLAIN: plainServer,
  EXTERNAL: externalServer,
  'CRAM-MD5': cramMd5Server,
  'DIGEST-MD5': digestMd5Server,
  'SCRAM-SHA-256': scramServer,
  OTP: otpServer,
};

/** Client messages: raw bytes, and text built from the separators the mechanisms parse. */
const response = fc.oneof(
  fc.uint8Array({ maxLength: 300 }),
  fc
    .array(
      fc.constantFrom(
        '\0',
        ',',
        '=',
        '"',
        '\\',
        ' ',
        'n',
        'y',
        'r=',
        'p=',
        'c=',
        'a=',
        'username=',
        'nonce=',
        'otp-md5 ',
        'hex:',
        'word:',
        'init-hex:',
        ':md5 9 seed:',
        '\u00ad',
        '\ud800',
        'é',
        '0123456789abcdef',
      ),
      { maxLength: 40 },
    )
    .map((parts) => new TextEncoder().encode(parts.join(''))),
);

for (const [name, factory] of Object.entries(SERVERS)) {
  test(`${name}: random client messages never throw and never authenticate a refused user`, async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(response, { minLength: 1, maxLength: 3 }), fc.boolean(), async (msgs, initial) => {
        const ex = factory({ check: () => null, serverName: 'localhost', externalId: 'ext' });
        if (!initial) await ex.step(undefined); // started without an initial response
        for (const m of msgs) {
          const s = await ex.step(m);
          assert.notEqual(s.kind, 'success');
          if (s.kind === 'fail') {
            assert.ok([501, 535, 538].includes(s.code), `code ${s.code}`);
            break;
          }
        }
      }),
      { numRuns: 300, seed: 9 },
    );
  });
}

test('OTP: random responses to a real challenge never throw, never authenticate, never touch the store', async () => {
  const { OtpMemoryStore, otpInit } = await import('../../src/sasl/otp-mech.js');
  const store = new OtpMemoryStore();
  store.set('u', otpInit('sha1', 'pass phrase', 'soak1', 100));
  await fc.assert(
    fc.asyncProperty(response, async (m) => {
      const ex = otpServer({ check: () => store.entry('u'), serverName: 'localhost' });
      const first = await ex.step(new TextEncoder().encode('\0u'));
      assert.equal(first.kind, 'continue');
      const s = await ex.step(m);
      assert.equal(s.kind, 'fail');
      assert.ok(s.kind === 'fail' && [501, 504, 535].includes(s.code), `code ${s.kind === 'fail' ? s.code : ''}`);
    }),
    { numRuns: 500, seed: 14 },
  );
  assert.equal(store.get('u')!.sequence, 100);
});
