// Memory budgets under attack: a peer that sends MSGs and never reads the replies (outbound
// budget maxQueued, default 4 MiB), and one session holding 48 unfinished messages just under
// maxMessage (inbound budget maxBuffered). Contract options: maxQueued, maxBuffered, BEEP_ERR_BUDGET.
import { before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  ECHO,
  KiB,
  MiB,
  Peer,
  assertEnded,
  buffered,
  hostile,
  installFaultRecorders,
  memNow,
  held,
  sleep,
  startServer,
  type Server,
} from './harness.js';

installFaultRecorders();

const MAX_MESSAGE = MiB;
const MAX_BUFFERED = 8 * MiB;
let s: Server;
before(async () => {
  s = await startServer(() => {}, { maxMessage: MAX_MESSAGE, maxBuffered: MAX_BUFFERED });
});
after(async () => {
  await s.close();
});
const S = (): Server => s;

/** Resolves true when `p` settles within `ms`, false otherwise. */
async function settlesWithin(p: Promise<unknown>, ms: number): Promise<boolean> {
  let t: ReturnType<typeof setTimeout> | undefined;
  const r = await Promise.race([
    p.then(
      () => true,
      () => true,
    ),
    new Promise<boolean>((res) => {
      t = setTimeout(() => res(false), ms);
    }),
  ]);
  clearTimeout(t);
  return r;
}

hostile(
  S,
  'a peer that sends MSGs and never reads replies: listener holds < 16 MiB over <= 5 s of attack (maxQueued 4 MiB)',
  async (t) => {
    const base = memNow();
    const p = await Peer.connect(s.port);
    await p.greet();
    assert.equal(await p.start(1, ECHO), 'RPY');
    await sleep(20); // the window raise (SEQ) is out
    p.socket.pause(); // never read again
    const body = Buffer.alloc(16 * KiB, 'r');
    const deadline = Date.now() + 5000;
    let msgno = 0,
      sent = 0,
      peakAb = 0,
      stalled = false;
    while (Date.now() < deadline && !p.isClosed) {
      const batch = Buffer.concat([0, 1, 2, 3].map(() => p.frame('MSG', 1, msgno++, body)));
      if (!(await settlesWithin(p.write(batch), Math.max(1, deadline - Date.now())))) {
        stalled = true;
        break;
      }
      sent += batch.length;
      if ((msgno & 63) === 0) {
        const ab = process.memoryUsage().arrayBuffers - base.arrayBuffers;
        peakAb = Math.max(peakAb, ab);
        if (ab > 64 * MiB) break; // four times the bound: stop before the test process suffers
      }
    }
    const h = held(base);
    t.diagnostic(
      `sent ${(sent / MiB).toFixed(1)} MiB in MSGs, writer stalled by backpressure: ${stalled}, peak arrayBuffers +${(peakAb / MiB).toFixed(1)} MiB; retained: ${h.text}`,
    );
    p.destroy();
    assert.ok(h.held < 16 * MiB, `listener holds ${(h.held / MiB).toFixed(1)} MiB for a peer that never reads (${h.text})`);
  },
  20_000,
);

hostile(
  S,
  '48 channels each holding an unfinished message just under maxMessage 1 MiB: ended with BEEP_ERR_BUDGET before holding > maxBuffered 8 MiB',
  async (t) => {
    const p = await Peer.connect(s.port);
    p.socket.setNoDelay(true);
    await p.greet();
    const chans = Array.from({ length: 48 }, (_, i) => 2 * i + 1);
    for (let i = 0; i < chans.length; i += 8) {
      const first = p.msg0;
      const batch = chans.slice(i, i + 8);
      await p.write(Buffer.concat(batch.map((c) => p.mgmt(`<start number='${c}'><profile uri='${ECHO}'/></start>`))));
      for (let k = 0; k < batch.length; k++) assert.equal((await p.reply(0, first + k, 3000)).kw, 'RPY');
    }
    const a = await s.sessionOf(p);
    const piece = Buffer.alloc(16 * KiB, 'm');
    const rounds = Math.floor((MAX_MESSAGE - KiB) / piece.length); // 63 x 16 KiB = 1008 KiB per channel
    const deadline = Date.now() + 6000;
    let peak = 0,
      sent = 0;
    outer: for (let r = 0; r < rounds; r++) {
      for (let i = 0; i < chans.length; i += 4) {
        if (p.isClosed || Date.now() > deadline) break outer;
        const batch = Buffer.concat(chans.slice(i, i + 4).map((c) => p.frame('MSG', c, 0, piece, '*')));
        if (!(await p.write(batch))) break outer;
        sent += batch.length;
        peak = Math.max(peak, buffered(a.conn));
      }
    }
    await sleep(50);
    if (!a.done) peak = Math.max(peak, buffered(a.conn));
    t.diagnostic(
      `sent ${(sent / MiB).toFixed(1)} MiB, listener peak buffered ${(peak / MiB).toFixed(2)} MiB, session ${a.done ? `ended (${(a.err as { code?: string } | undefined)?.code})` : 'still open'}`,
    );
    assert.ok(
      peak <= MAX_BUFFERED + 64 * KiB,
      `the listener held ${(peak / MiB).toFixed(1)} MiB of partial messages (maxBuffered ${MAX_BUFFERED / MiB} MiB)`,
    );
    await assertEnded(s, p, 1000, 'BEEP_ERR_BUDGET');
  },
  20_000,
);
