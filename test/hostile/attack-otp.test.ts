// SASL OTP against a hostile client (raw peer): what the listener's replies and sasl:fail
// events repeat of a response, re-initialisations the store must not take, the forms RFC 2289
// lets a person type, an abort in the middle, and failure throttling.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Ctx, createListener, sasl, formatEvent, type BeepEvent, type Listener } from '../../src/index.js';
import { otpHex, otpKey, otpSixWords } from '../../src/sasl/otp.js';
import { parseMgmt } from '../../src/session/mgmt.js';
import { MIME, greeted, startRaw, ask, stillUp, watchFaults, b64, unb64 } from '../sasl/hostile.js';

const OTP_URI = 'http://iana.org/beep/SASL/OTP';
const PASS = 'This is a test.';

let ctx: Ctx;
let listener: Listener;
const store = new sasl.OtpMemoryStore();
const events: BeepEvent[] = [];
let watch: ReturnType<typeof watchFaults>;

before(async () => {
  watch = watchFaults();
  ctx = new Ctx({ logger: (e) => events.push(e) });
  sasl.acceptMech(ctx, 'OTP', (_conn, props) => store.entry(props.authId), { maxFailures: 1000 });
  listener = await createListener(ctx, '127.0.0.1', 0);
});

after(async () => {
  await ctx.exit();
  watch.stop();
  assert.deepEqual(watch.faults, [], 'nothing escaped');
});

type Peer = Awaited<ReturnType<typeof greeted>>;

/** Starts an OTP exchange for `user` on channel `ch`; resolves the challenge text. */
async function challenge(p: Peer, ch: number, user: string): Promise<string> {
  const start = await startRaw(p, ch, OTP_URI, `<blob>${b64(`\0${user}`)}</blob>`);
  assert.equal(start.kw, 'RPY', start.payload);
  return unb64(/<blob>([^<]*)<\/blob>/.exec(start.payload)![1]!);
}

/** Sends `response` as the OTP response on `ch`; resolves [kind, code or status]. */
async function respond(p: Peer, ch: number, response: string, msgno = 0): Promise<{ kw: string; code?: number; text?: string }> {
  const r = await ask(p, ch, msgno, `${MIME}<blob>${b64(response)}</blob>`);
  if (r.kw !== 'ERR') return { kw: r.kw };
  const e = parseMgmt(r.payload.slice(MIME.length));
  assert.ok(e.kind === 'error', r.payload);
  return { kw: 'ERR', code: e.code, text: e.text };
}

test('a malformed response is not repeated in the error reply nor in sasl:fail (a pass phrase typed at the prompt)', async () => {
  store.set('kim', sasl.otpInit('md5', PASS, 'TeSt', 40));
  const p = await greeted(listener.port);
  // People type their secret pass phrase where the one-time password belongs: six words of it
  // (taken for a six-word response), or one with a colon (taken for a response type).
  const typed = ['word:Hunter2x correct horse battery staple now', 'Hunter2x correct horse battery staple now', 'Hunter2x:correct horse'];
  const from = events.length;
  let ch = 1;
  for (const response of typed) {
    await challenge(p, ch, 'kim');
    const r = await respond(p, ch, response);
    assert.equal(r.code, 501, `${response}: ${r.text}`);
    assert.ok(!r.text!.includes('Hunter2'), `the reply repeats the response: ${r.text}`);
    ch += 2;
  }
  const fails = events.slice(from).filter((e) => e.type === 'sasl:fail');
  assert.equal(fails.length, typed.length);
  for (const e of fails) assert.ok(!formatEvent(e).includes('Hunter2'), `sasl:fail repeats the response: ${formatEvent(e)}`);
  assert.equal(store.get('kim')!.sequence, 40);
  p.socket.destroy();
});

test('init-hex to sequence 0 or to the same seed in other case is refused; the OTP is used up, the store never holds the refused state', async () => {
  store.set('lee', sasl.otpInit('md5', PASS, 'TeSt', 20));
  const p = await greeted(listener.port);
  const next = (seq: number): string => otpHex(otpKey('md5', PASS, 'TeSt', seq));
  const newKey = otpHex(otpKey('md5', 'other', 'Other1', 5));
  const cases: Array<[string, number]> = [
    [`init-hex:${next(19)}:md5 0 Other1:${newKey}`, 501], // sequence 0: no one-time password left
    [`init-hex:${next(18)}:md5 5 TEST:${newKey}`, 501], // the seed is case-insensitive: the same
    [`init-hex:${next(17)}:md5 -1 Other1:${newKey}`, 501], // malformed: not judged, not used up
    [`init-hex:${next(17)}:md5 99999 Other1:${newKey}`, 501],
    [`init-hex:${next(17)}:md5 5 Ot\u00e9r1:${newKey}`, 501],
  ];
  let ch = 1;
  for (const [response, code] of cases) {
    const c = await challenge(p, ch, 'lee');
    const r = await respond(p, ch, response);
    assert.equal(r.code, code, `${response}: ${r.text} (challenge ${c})`);
    ch += 2;
  }
  const s = store.get('lee')!;
  assert.deepEqual([s.algorithm, s.sequence, s.seed, otpHex(s.key)], ['md5', 18, 'TeSt', next(18)]);
  await stillUp(p, ch);
  p.socket.destroy();
});

test('responses as people type them: hex in groups, words in any case, type names in capitals', async () => {
  store.set('mo', sasl.otpInit('sha1', PASS, 'AbCd12', 30));
  const key = (seq: number): Uint8Array => otpKey('sha1', PASS, 'AbCd12', seq);
  const group = (h: string): string =>
    h
      .replace(/(....)/g, '$1 ')
      .trim()
      .toUpperCase();
  const mixed = (w: string): string => w.replace(/\w+/g, (x, i: number) => (i % 2 ? x.toLowerCase() : x));
  const forms = [
    `HEX: ${group(otpHex(key(29)))}`,
    `Word:${mixed(otpSixWords(key(28)))}`,
    ` ${otpSixWords(key(27)).toLowerCase()}\t`,
    group(otpHex(key(26))),
    `INIT-HEX:${group(otpHex(key(25)))}:SHA1 7 NewSeed:${otpHex(otpKey('sha1', 'next', 'NewSeed', 7))}`,
  ];
  for (const response of forms) {
    const p = await greeted(listener.port); // one authentication per session
    const c = await challenge(p, 1, 'mo');
    const r = await respond(p, 1, response);
    assert.equal(r.kw, 'RPY', `${JSON.stringify(response)} to ${c}: ${r.code} ${r.text}`);
    p.socket.destroy();
  }
  const s = store.get('mo')!;
  assert.deepEqual([s.algorithm, s.sequence, s.seed], ['sha1', 7, 'NewSeed']);
});

test('abort mid-exchange, a message after the failure, a response on another channel: nothing is used up, the next try works', async () => {
  store.set('ned', sasl.otpInit('md5', PASS, 'TeSt', 12));
  const p = await greeted(listener.port);
  assert.equal(await challenge(p, 1, 'ned'), 'otp-md5 11 TeSt ext');
  const abort = await ask(p, 1, 0, `${MIME}<blob status='abort'/>`);
  assert.equal(abort.kw, 'ERR');
  // The exchange is gone: the right response on that channel now is not judged (550).
  const late = await respond(p, 1, `hex:${otpHex(otpKey('md5', PASS, 'TeSt', 11))}`, 1);
  assert.equal(late.code, 550, late.text);
  // A response on a channel where no exchange runs (channel 3 runs OTP but was never asked).
  assert.equal(await challenge(p, 3, 'ned'), 'otp-md5 11 TeSt ext', 'the abort used nothing up');
  const r = await respond(p, 3, `hex:${otpHex(otpKey('md5', PASS, 'TeSt', 11))}`);
  assert.equal(r.kw, 'RPY');
  assert.equal(store.get('ned')!.sequence, 11);
  p.socket.destroy();
});

test('OTP under maxFailures: wrong one-time passwords end the session at the limit, judged one at a time', async () => {
  const c = new Ctx();
  const s = new sasl.OtpMemoryStore();
  s.set('ola', sasl.otpInit('md5', PASS, 'TeSt', 50));
  sasl.acceptMech(c, 'OTP', (_conn, props) => s.entry(props.authId), { maxFailures: 2 });
  const l = await createListener(c, '127.0.0.1', 0);
  try {
    const p = await greeted(l.port);
    // Challenges on four channels first (no failure yet), then four wrong answers at once.
    for (const ch of [1, 3, 5, 7]) assert.equal(await challenge(p, ch, 'ola'), 'otp-md5 49 TeSt ext');
    for (const ch of [1, 3, 5, 7]) await p.send(p.frame('MSG', ch, 0, `${MIME}<blob>${b64(`hex:${'0'.repeat(15)}${ch}`)}</blob>`));
    // A step that arrives while another is judged is refused 550 and not counted, so how many of
    // the four are judged depends on how the reads fall (Node: two, Bun: often one); either way
    // at most maxFailures are judged, and reaching it ends the session.
    let gone = false;
    void p.closed.then(() => {
      gone = true;
    });
    const count = (re: RegExp): number => (p.received.match(re) ?? []).length;
    const judgedNow = (): number => count(/<error code='535'/g);
    const busy = (): number => count(/<error code='550'>another SASL step is in progress/g);
    for (let t = 0; t < 1000 && !gone && judgedNow() + busy() < 4; t++) await new Promise((r) => setTimeout(r, 10));
    const judged = judgedNow();
    assert.ok(judged >= 1 && judged <= 2, `maxFailures is 2, ${judged} wrong answers were judged`);
    if (judged === 2) assert.ok(await p.closedWithin(10_000), 'BEEP_ERR_AUTH_LIMIT ends the session');
    else {
      assert.equal(busy(), 3, 'the other three were refused while the first was judged');
      await stillUp(p, 9);
    }
    assert.equal(s.get('ola')!.sequence, 50);
  } finally {
    await c.exit();
  }
});

test('hostile server, documented risk: the pass-phrase client answers any sequence, and a low one gives away those above it', async () => {
  const { otpClient } = await import('../../src/sasl/otp-mech.js');
  const { otpStep } = await import('../../src/sasl/otp.js');
  // The real listener holds sequence 100 (it will ask for 99); a man in the middle asks for 1
  // with the same seed, and a downgrade to another algorithm is answered as well.
  const real = sasl.otpInit('sha1', PASS, 'TeSt', 100);
  const m = otpClient({ authId: 'bob', password: PASS });
  const answer = new TextDecoder().decode(await m.step(new TextEncoder().encode('otp-sha1 1 TeSt ext')));
  let k: Uint8Array = Uint8Array.from(Buffer.from(answer.replace(/^hex:/, ''), 'hex'));
  for (let i = 1; i < 99; i++) k = otpStep('sha1', k);
  assert.deepEqual(otpStep('sha1', k), real.key, 'sequence 99, derived without the pass phrase, is what the real listener accepts');
  const md5 = otpClient({ authId: 'bob', password: PASS });
  assert.match(new TextDecoder().decode(await md5.step(new TextEncoder().encode('otp-md5 1 TeSt ext'))), /^hex:[0-9a-f]{16}$/);
});
