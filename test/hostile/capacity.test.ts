// Capacity at the sans-I/O level (the codec's tables hold 16,384 sessions and 65,536 channels
// today): more sessions and channels than that are created with in-memory SessionIO, fed by a
// scripted peer. No throw may escape and no rejection may go unhandled; every <start> must be
// answered (RPY, or ERR 550 at a limit). With the contract's setProcessLimits, a listener over
// maxSessions refuses with a 421 greeting and BEEP_ERR_CAPACITY, over maxBuffered with BEEP_ERR_BUDGET.
import { before, after, test } from 'node:test';
import assert from 'node:assert/strict';
import * as beepwire from '../../src/index.js';
import { Session, type SessionIO } from '../../src/index.js';
import { ECHO, KiB, MiB, Peer, assertEnded, hostile, installFaultRecorders, settle, startServer, type Server } from './harness.js';

installFaultRecorders();

let s: Server;
before(async () => {
  s = await startServer();
});
after(async () => {
  await s.close();
});
const S = (): Server => s;

const latin1 = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.length).toString('latin1');

/** Collects what a session writes; counts channel-0 replies (greeting apart). */
class MemIO implements SessionIO {
  greeting = '';
  rpy = 0;
  err: string[] = [];
  write(a: Uint8Array, b?: Uint8Array, c?: Uint8Array): boolean {
    const h = latin1(a);
    const body = b !== undefined && c !== undefined ? latin1(b) : '';
    if (h.startsWith('RPY 0 0 ') || h.startsWith('ERR 0 0 ')) this.greeting = h + body;
    else if (h.startsWith('RPY 0 ')) this.rpy++;
    else if (h.startsWith('ERR 0 ')) this.err.push(body);
    return true;
  }
  end(): void {}
  abort(): void {}
}

const enc = (s: string): Uint8Array => Buffer.from(s, 'latin1');
const GREETING = 'Content-Type: application/beep+xml\r\n\r\n<greeting />';
/** The scripted peer's opening: greeting, and a channel-0 window as large as RFC 3081 allows. */
const OPENING = enc(`RPY 0 0 . 0 ${GREETING.length}\r\n${GREETING}END\r\nSEQ 0 0 2147483647\r\n`);

const hooks = { start: () => ({ accept: true as const, uri: ECHO }) };

function newSession(): { session: Session; io: MemIO } {
  const io = new MemIO();
  const session = new Session(io, hooks, { role: 'listener' });
  session.start({ profiles: [ECHO] });
  return { session, io };
}

hostile(
  S,
  'codec table full: 16,400 sans-I/O sessions (> 16,384) are created or refused with 421, no throw escapes',
  async (t) => {
    const made: Array<{ session: Session; io: MemIO }> = [];
    const thrown: unknown[] = [];
    try {
      for (let i = 0; i < 16_400; i++) {
        try {
          made.push(newSession());
        } catch (e) {
          thrown.push(e);
        }
      }
      await settle(0);
      const greeted = made.filter((m) => m.io.greeting.startsWith('RPY 0 0 ')).length;
      const refused = made.filter((m) => m.io.greeting.startsWith('ERR 0 0 ') && /code=['"]421['"]/.test(m.io.greeting)).length;
      // The sessions past the old table size still work: greet them and see them greeted.
      const tail = made.slice(-16);
      let tailOk = 0;
      for (const m of tail) {
        try {
          m.session.receive(OPENING);
        } catch (e) {
          thrown.push(e);
        }
        if (m.session.mgmt.greeted && !m.session.ended) tailOk++;
      }
      t.diagnostic(
        `created ${made.length}, constructor threw ${thrown.length}${thrown.length ? ` (first: ${String((thrown[0] as Error).message)})` : ''}, greeted ${greeted}, refused 421 ${refused}, last 16 usable ${tailOk}`,
      );
      // While the table is full, the bystander (a session opened before) still echoes.
      await s.bystander.echoes();
      assert.equal(thrown.length, 0, `${thrown.length} throws escaped: ${String((thrown[0] as Error)?.message)}`);
      assert.equal(greeted + refused, 16_400, 'every session greeted or refused with 421');
      assert.equal(
        tailOk + tail.filter((m) => m.io.greeting.startsWith('ERR')).length,
        tail.length,
        'sessions past 16,384 either work or were refused',
      );
    } finally {
      for (const m of made) m.session.abort();
    }
  },
  60_000,
);

hostile(
  S,
  'codec channel table full: 64 sessions x 1,024 <start>s (> 65,536 channels) are each answered RPY or ERR 550, no throw or unhandled rejection',
  async (t) => {
    const made: Array<{ session: Session; io: MemIO }> = [];
    const thrown: unknown[] = [];
    try {
      for (let i = 0; i < 64; i++) {
        const m = newSession();
        made.push(m);
        m.session.receive(OPENING);
        let seq = GREETING.length;
        for (let k = 0; k < 1024; k++) {
          const x = `Content-Type: application/beep+xml\r\n\r\n<start number='${2 * k + 1}'><profile uri='${ECHO}'/></start>`;
          try {
            m.session.receive(enc(`MSG 0 ${k + 1} . ${seq} ${x.length}\r\n${x}END\r\n`));
          } catch (e) {
            thrown.push(e);
          }
          seq += x.length;
        }
        await settle(0);
      }
      await settle(50);
      const rpy = made.reduce((n, m) => n + m.io.rpy, 0);
      const errs = made.flatMap((m) => m.io.err);
      const err550 = errs.filter((e) => /code=['"]550['"]/.test(e)).length;
      const ended = made.filter((m) => m.session.ended).length;
      const why = made.find((m) => m.session.error)?.session.error?.message;
      t.diagnostic(
        `starts 65,536: RPY ${rpy}, ERR ${errs.length} (550: ${err550}), unanswered ${65_536 - rpy - errs.length}, sessions ended ${ended}${why ? ` (${why})` : ''}, throws ${thrown.length}`,
      );
      await s.bystander.echoes();
      assert.equal(thrown.length, 0, `${thrown.length} throws escaped receive(): ${String((thrown[0] as Error)?.message)}`);
      assert.equal(rpy + errs.length, 65_536, `${65_536 - rpy - errs.length} <start>s never answered`);
      assert.equal(errs.length, err550, 'refusals at capacity are 550');
    } finally {
      for (const m of made) m.session.abort();
    }
  },
  60_000,
);

type Limits = { maxBuffered?: number; maxQueued?: number; maxSessions?: number };
const setProcessLimits = (beepwire as unknown as { setProcessLimits?: (l: Limits) => void }).setProcessLimits;

test('setProcessLimits({ maxSessions }): a listener over the process limit refuses with a 421 greeting, BEEP_ERR_CAPACITY', async (t) => {
  if (typeof setProcessLimits !== 'function') {
    t.skip('skipped: setProcessLimits is not exported at run time');
    return;
  }
  setProcessLimits({ maxSessions: 1 });
  try {
    const refused = s.listener.refused;
    const p = await Peer.connect(s.port);
    await p.waitFor(/ERR 0 0 [\s\S]*code=['"]421['"]/, 2000);
    // By design no session is built for a stranger refused at capacity (it would take the very
    // resources that ran out): the refusal is counted on the listener, and the socket closes.
    assert.ok(await p.closedWithin(2000), 'the refused socket was closed');
    assert.equal(s.listener.refused, refused + 1);
  } finally {
    setProcessLimits({ maxSessions: 1_000_000 });
  }
  await s.bystander.echoes();
});

test('setProcessLimits({ maxBuffered: 2 MiB }): the session that would exceed it ends with BEEP_ERR_BUDGET', async (t) => {
  if (typeof setProcessLimits !== 'function') {
    t.skip('skipped: setProcessLimits is not exported at run time');
    return;
  }
  setProcessLimits({ maxBuffered: 2 * MiB });
  try {
    const p = await Peer.connect(s.port);
    await p.greet();
    assert.equal(await p.start(1, ECHO), 'RPY');
    const piece = Buffer.alloc(16 * KiB, 'b');
    for (let i = 0; i < 192 && !p.isClosed; i++) await p.write(p.frame('MSG', 1, 0, piece, '*'));
    await assertEnded(s, p, 2000, 'BEEP_ERR_BUDGET');
  } finally {
    setProcessLimits({ maxBuffered: 1 << 30 });
  }
  await s.bystander.echoes();
});
