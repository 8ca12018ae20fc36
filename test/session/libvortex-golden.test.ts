// Golden bytes for the LibVortex behaviours in shared/interop/vortex-regression.md and its
// source (vortex_greetings.c, vortex_frame_factory.c): fed to a sans-I/O Session, with the
// exact bytes it writes back checked.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Session, type SessionIO } from '../../src/session/session.js';
import type { SessionHooks, StartRequest } from '../../src/session/management.js';
import type { Message } from '../../src/session/message.js';

const PROFILE = 'http://iana.org/beep/transient/vortex-regression';

/** Collects what the session writes, as Latin-1 text. */
class Wire implements SessionIO {
  out = '';
  ended = false;
  write(a: Uint8Array, b?: Uint8Array, c?: Uint8Array, d?: Uint8Array): boolean {
    for (const p of [a, b, c, d]) if (p) this.out += Buffer.from(p).toString('latin1');
    return true;
  }
  end(): void {
    this.ended = true;
  }
  take(): string {
    const s = this.out;
    this.out = '';
    return s;
  }
}

const tick = (): Promise<void> => new Promise((r) => setImmediate(r));
const bytes = (s: string): Uint8Array => Buffer.from(s, 'latin1');
const frame = (kw: string, ch: number, msgno: number, seq: number, payload: string, extra = ''): string =>
  `${kw} ${ch} ${msgno} . ${seq} ${payload.length}${extra}\r\n${payload}END\r\n`;

// What LibVortex writes: "<greeting>\r\n   <profile uri='X' />\r\n</greeting>\r\n" behind the
// channel-0 MIME header (vortex_greetings.c, __vortex_greetings_build_message).
const VORTEX_GREETING = `Content-Type: application/beep+xml\r\n\r\n<greeting>\r\n   <profile uri='${PROFILE}' />\r\n</greeting>\r\n`;

function listener(hooks: SessionHooks = {}): { s: Session; wire: Wire } {
  const wire = new Wire();
  const s = new Session(wire, hooks, { role: 'listener', window: 4096, maxWindow: 4096 });
  s.start({ profiles: [PROFILE] });
  return { s, wire };
}

test('greeting is written at once, before anything arrives (LibVortex waits for ours)', async () => {
  const { wire } = listener();
  await tick();
  const xml = `Content-Type: application/beep+xml\r\n\r\n<greeting><profile uri='${PROFILE}' /></greeting>`;
  assert.equal(wire.take(), `RPY 0 0 . 0 ${xml.length}\r\n${xml}END\r\n`);
});

test('LibVortex greeting (CRLFs, indentation, single quotes) is accepted', async () => {
  let seen: string[] = [];
  const { s, wire } = listener({
    greeting: (g) => {
      seen = g.profiles;
    },
  });
  s.receive(bytes(frame('RPY', 0, 0, 0, VORTEX_GREETING)));
  await tick();
  assert.deepEqual(seen, [PROFILE]);
  assert.equal(s.ended, false);
  wire.take();
});

test('LibVortex start with CDATA piggyback: our RPY <profile> in LibVortex-parsable form', async () => {
  let req: StartRequest | undefined;
  const { s, wire } = listener({
    start: (r) => {
      req = r;
      return { accept: true, uri: PROFILE };
    },
  });
  await tick();
  wire.take();
  s.receive(bytes(frame('RPY', 0, 0, 0, VORTEX_GREETING)));
  // vortex_frame_get_start_message: "<start number='%d'>\r\n   <profile uri='%s'><![CDATA[..]]></profile>\r\n</start>\r\n"
  const start = `Content-Type: application/beep+xml\r\n\r\n<start number='1'>\r\n   <profile uri='${PROFILE}'><![CDATA[aGV5IGR1ZGUsIHRoaXMgaXMgYmFzZTY0]]></profile>\r\n</start>\r\n`;
  s.receive(bytes(frame('MSG', 0, 1, VORTEX_GREETING.length, start)));
  await tick();
  assert.deepEqual(req, { number: 1, profiles: [{ uri: PROFILE, content: 'aGV5IGR1ZGUsIHRoaXMgaXMgYmFzZTY0', encoding: 'none' }] });
  const rpy = `Content-Type: application/beep+xml\r\n\r\n<profile uri='${PROFILE}' />`;
  const greetingLen = `Content-Type: application/beep+xml\r\n\r\n<greeting><profile uri='${PROFILE}' /></greeting>`.length;
  assert.equal(wire.take(), `RPY 0 1 . ${greetingLen} ${rpy.length}\r\n${rpy}END\r\n`);
  assert.ok(s.channels.get(1), 'channel 1 open');
});

async function openChannel1(s: Session, wire: Wire, onMessage: (m: Message) => void): Promise<number> {
  s.hooks.start = () => ({ accept: true, uri: PROFILE });
  s.hooks.channelOpened = (ch) => {
    ch.onMessage = onMessage;
  };
  await tick();
  s.receive(bytes(frame('RPY', 0, 0, 0, VORTEX_GREETING)));
  const start = `Content-Type: application/beep+xml\r\n\r\n<start number="1"><profile uri="${PROFILE}"/></start>`; // double quotes too
  s.receive(bytes(frame('MSG', 0, 1, VORTEX_GREETING.length, start)));
  await tick();
  wire.take();
  return 0;
}

test('LibVortex MSG with an empty MIME prefix: body without the CRLF; our RPY carries the same prefix', async () => {
  const got: Message[] = [];
  const { s, wire } = listener();
  await openChannel1(s, wire, (m) => got.push(m));
  s.receive(bytes(frame('MSG', 1, 0, 0, '\r\nThis is a test')));
  assert.equal(got.length, 1);
  assert.equal(got[0]!.text, 'This is a test');
  assert.equal(got[0]!.contentType, 'application/octet-stream');
  s.sendReply(s.channels.get(1)!, 'RPY', 0, bytes('This is a test'), undefined, bytes('\r\n'));
  await tick();
  assert.equal(wire.take(), 'RPY 1 0 . 0 16\r\n\r\nThis is a testEND\r\n');
});

test('LibVortex ANS...NUL where the NUL has size 2 (its empty MIME prefix)', async () => {
  const got: Message[] = [];
  const { s, wire } = listener();
  await openChannel1(s, wire, (m) => got.push(m));
  const ch = s.channels.get(1)!;
  const msgno = s.sendMsg(ch, bytes('give me answers'), undefined, bytes('\r\n'));
  await tick();
  assert.equal(wire.take(), `MSG 1 ${msgno} . 0 17\r\n\r\ngive me answersEND\r\n`);
  s.receive(bytes(frame('ANS', 1, msgno, 0, '\r\nanswer', ' 0') + frame('NUL', 1, msgno, 8, '\r\n')));
  assert.deepEqual(
    got.map((m) => [m.type, m.text]),
    [
      ['ANS', 'answer'],
      ['NUL', ''],
    ],
  );
  assert.equal(s.ended, false);
  assert.equal(ch.awaiting.size, 0, 'the NUL completed the exchange');
});

test('ERR 421 greeting from a refusing LibVortex listener ends the session with BeepReplyError', async () => {
  const wire = new Wire();
  let err: Error | undefined;
  const s = new Session(
    wire,
    {
      closed: (e) => {
        err = e;
      },
    },
    { role: 'initiator' },
  );
  s.start({ profiles: [] });
  s.receive(bytes(frame('ERR', 0, 0, 0, "Content-Type: application/beep+xml\r\n\r\n<error code='421'>service not available</error>\r\n")));
  assert.equal(s.ended, true);
  assert.equal((err as { replyCode?: number }).replyCode, 421);
});

test('our refusal greeting: ERR 0 0 with <error code=421>, then the transport ends', async () => {
  const wire = new Wire();
  const s = new Session(wire, {}, { role: 'listener' });
  s.start({ profiles: [PROFILE] }, { code: 421, text: 'too busy' });
  await tick();
  const xml = "Content-Type: application/beep+xml\r\n\r\n<error code='421'>too busy</error>";
  assert.equal(wire.take(), `ERR 0 0 . 0 ${xml.length}\r\n${xml}END\r\n`);
  assert.equal(wire.ended, true);
});

test('LibVortex close message (trailing CRLF) is answered with <ok />', async () => {
  const { s, wire } = listener();
  await openChannel1(s, wire, () => undefined);
  const greetingSeq = VORTEX_GREETING.length;
  const startLen = `Content-Type: application/beep+xml\r\n\r\n<start number="1"><profile uri="${PROFILE}"/></start>`.length;
  const close = "Content-Type: application/beep+xml\r\n\r\n<close number='1' code='200' />\r\n";
  s.receive(bytes(frame('MSG', 0, 2, greetingSeq + startLen, close)));
  await tick();
  const out = wire.take();
  assert.match(out, /^RPY 0 2 \. \d+ 44\r\nContent-Type: application\/beep\+xml\r\n\r\n<ok \/>END\r\n$/);
  assert.equal(s.channels.has(1), false);
});
