// Faulty application handlers driven by a hostile peer: a frameReceived that throws or returns
// a rejected promise (contract: ERR 451 to the MSG, session carries on, ctx.setOnError gets
// BEEP_ERR_HANDLER), throwing start/close handlers, and maxChannels checked before an async
// start handler awaits.
import { before, after, test } from 'node:test';
import assert from 'node:assert/strict';
import { registerProfile } from '../../src/index.js';
import { ECHO, carriesOn, profileAttacker, Peer, hostile, installFaultRecorders, sleep, startServer, type Server } from './harness.js';

installFaultRecorders();

const THROWS = 'http://beepwire.test/throws';
const REJECTS = 'http://beepwire.test/rejects';
const START_THROWS = 'http://beepwire.test/start-throws';
const START_REJECTS = 'http://beepwire.test/start-rejects';
const CLOSE_THROWS = 'http://beepwire.test/close-throws';
const SLOW = 'http://x/slow';

let s: Server, slow: Server;
let slowStarts = 0;
before(async () => {
  s = await startServer((ctx) => {
    registerProfile(ctx, THROWS, {
      frameReceived: () => {
        throw new Error('frameReceived boom');
      },
    });
    registerProfile(ctx, REJECTS, {
      frameReceived: async () => {
        await sleep(1);
        throw new Error('frameReceived async boom');
      },
    });
    registerProfile(ctx, START_THROWS, {
      start: () => {
        throw new Error('start boom');
      },
    });
    registerProfile(ctx, START_REJECTS, {
      start: async () => {
        await sleep(1);
        throw new Error('start async boom');
      },
    });
    registerProfile(ctx, CLOSE_THROWS, {
      close: () => {
        throw new Error('close boom');
      },
    });
  });
  slow = await startServer(
    (ctx) => {
      registerProfile(ctx, SLOW, {
        start: async () => {
          slowStarts++;
          await sleep(50);
          return true;
        },
      });
    },
    { maxChannels: 8 },
  );
});
after(async () => {
  await s.close();
  await slow.close();
});
const S = (): Server => s;

const attacker = (profile: string): Promise<Peer> => profileAttacker(s, profile);

for (const [profile, what] of [
  [THROWS, 'throws'],
  [REJECTS, 'returns a rejected promise'],
] as const) {
  hostile(S, `frameReceived ${what}: the MSG gets ERR 451, the session carries on`, async () => {
    const p = await attacker(profile);
    await p.write(p.frame('MSG', 1, 0, 'trigger'));
    const r = await p.reply(1, 0, 2000);
    assert.equal(r.kw, 'ERR', `reply keyword (payload ${JSON.stringify(r.payload)})`);
    assert.match(r.payload, /451/, 'reply code 451');
    await carriesOn(p);
    p.destroy();
  });

  test(`frameReceived ${what}: ctx.setOnError receives BEEP_ERR_HANDLER with the cause`, async (t) => {
    if (!s.hasOnError) {
      t.skip('skipped: ctx.setOnError does not exist at run time');
      return;
    }
    const before = s.onError.length;
    const p = await attacker(profile);
    await p.write(p.frame('MSG', 1, 0, 'trigger'));
    for (let i = 0; i < 200 && s.onError.length === before; i++) await sleep(10);
    const got = s.onError.slice(before);
    assert.equal(got.length, 1, `setOnError calls: ${got.length}`);
    assert.equal(got[0]!.err.code, 'BEEP_ERR_HANDLER');
    assert.match(String((got[0]!.err as { cause?: Error }).cause?.message), /boom/);
    p.destroy();
  });
}

for (const [profile, what] of [
  [START_THROWS, 'throws'],
  [START_REJECTS, 'rejects'],
] as const) {
  hostile(S, `start handler ${what}: the <start> is refused with an ERR, the session carries on`, async () => {
    const p = await Peer.connect(s.port);
    await p.greet();
    assert.equal(await p.start(1, profile), 'ERR');
    assert.equal(await p.start(3, ECHO), 'RPY');
    await carriesOn(p);
    p.destroy();
  });
}

hostile(S, 'close handler throws: the <close> is refused with an ERR, the session carries on', async () => {
  const p = await Peer.connect(s.port);
  await p.greet();
  assert.equal(await p.start(1, CLOSE_THROWS), 'RPY');
  assert.equal(await p.start(3, ECHO), 'RPY');
  const msgno = p.msg0;
  await p.write(p.mgmt(`<close number='1' code='200'/>`));
  assert.equal((await p.reply(0, msgno, 2000)).kw, 'ERR');
  await carriesOn(p);
  p.destroy();
});

hostile(
  () => slow,
  'maxChannels 8 is checked before an async start handler awaits: 30 concurrent <start>s open <= 8 channels',
  async (t) => {
    slowStarts = 0;
    const p = await Peer.connect(slow.port);
    await p.greet();
    const first = p.msg0;
    const starts = Array.from({ length: 30 }, (_, i) => p.mgmt(`<start number='${2 * i + 1}'><profile uri='${SLOW}'/></start>`));
    await p.write(Buffer.concat(starts));
    const a = await slow.sessionOf(p);
    let rpy = 0,
      err = 0,
      peak = 0;
    for (let i = 0; i < 30; i++) {
      const r = await p.reply(0, first + i, 4000);
      if (r.kw === 'RPY') rpy++;
      else err++;
      peak = Math.max(peak, a.conn.session.channels.size - 1);
    }
    await sleep(100);
    peak = Math.max(peak, a.conn.session.channels.size - 1, a.conn.channels.size);
    t.diagnostic(`accepted ${rpy}, refused ${err}, start handler ran ${slowStarts} times, peak open channels ${peak}`);
    assert.ok(rpy <= 8, `${rpy} starts accepted with maxChannels 8`);
    assert.ok(peak <= 8, `${peak} channels open with maxChannels 8`);
    assert.equal(rpy + err, 30);
    p.destroy();
  },
);
