// Hostile-peer review (wip-atk1): framing and channel management. Each test is a confirmed
// problem and FAILS on the current code; see the comment above each for the root cause.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ECHO, KiB, MiB, Peer, hostile, installFaultRecorders, memNow, held, sleep, startServer, within, type Server } from './harness.js';
import { processUsage, setProcessLimits, registerProfile } from '../../src/index.js';

installFaultRecorders();

/** The highest right edge of our channel-0 send window the listener granted (its SEQ 0 frames). */
function ch0Limit(p: Peer): number {
  let l = 4096;
  for (const m of p.text.matchAll(/SEQ 0 (\d+) (\d+)\r\n/g)) l = Math.max(l, Number(m[1]) + Number(m[2]));
  return l;
}

/** Sends a channel-0 MSG within the window the listener granted (waits for its SEQ, bounded). */
async function mgmtInWindow(p: Peer, xml: string): Promise<void> {
  const f = p.mgmt(xml);
  const m = /^MSG 0 \d+ \. (\d+) (\d+)/.exec(f.toString('latin1'))!;
  const end = Number(m[1]) + Number(m[2]);
  for (let k = 0; k < 500 && end > ch0Limit(p) && !p.isClosed; k++) await sleep(2);
  await p.write(f);
}

/** Sends `n` empty (size 0) MSGs on channel `ch`, msgnos from `from`, in batches. */
async function emptyMsgs(p: Peer, ch: number, n: number, from = 0): Promise<void> {
  let batch: Buffer[] = [];
  for (let i = 0; i < n && !p.isClosed; i++) {
    batch.push(p.frame('MSG', ch, (from + i) & 0x7fffffff, ''));
    if (batch.length === 4000) {
      await p.write(Buffer.concat(batch));
      batch = [];
      await sleep(1);
    }
  }
  if (batch.length > 0) await p.write(Buffer.concat(batch));
}

// ---- 1. channel-0 replies bypass maxQueued --------------------------------------------------
// A peer that never grants window on channel 0 (no SEQ 0) and keeps sending channel-0 MSGs
// (<close> of an unknown channel: answered ERR 550) makes the listener queue every reply.
// Session#deliver (src/session/session.ts:669) hands channel-0 MSGs to Management at once;
// only profile-channel MSGs are parked while #over. Input is paused only when the transport
// is blocked (session.ts:291), which it never is here (nothing can be written). So
// session.queued grows without bound past maxQueued, and so does memory.
let s1: Server | undefined;
hostile(
  () => s1!,
  'channel-0 MSGs while our channel-0 window is shut: replies stay within maxQueued (they once queued without bound)',
  async (t) => {
    s1 = await startServer(() => {}, { maxQueued: 16 * KiB });
    const p = await Peer.connect(s1.port);
    await p.greet();
    const a = await s1.sessionOf(p);
    for (let i = 0; i < 2500 && !p.isClosed; i++) await mgmtInWindow(p, `<close number='7' code='200'/>`);
    await sleep(100);
    const q = a.conn.session.queued;
    t.diagnostic(`session queued ${q} octets (maxQueued ${16 * KiB}), peer ${p.isClosed ? 'dropped' : 'still connected'}`);
    p.destroy();
    assert.ok(
      p.isClosed || q <= 4 * 16 * KiB,
      `the listener queued ${(q / KiB).toFixed(0)} KiB of channel-0 replies for one peer (maxQueued 16 KiB)`,
    );
  },
  20_000,
);
test('cleanup 1', async () => {
  await s1?.close();
});

// ---- 2. per-message overhead is not counted: empty replies held by a shut window --------------
// maxQueued counts payload octets only (session.ts:434 #enqueue(head + data)). An empty MSG
// echoed costs 2 octets (the empty MIME header block) of budget but ~200 octets of heap
// (OutMessage, a Uint8Array view, the queue slot). A peer that shuts the window (SEQ 1 0 0)
// and sends size-0 MSGs (which no receive window limits: a size-0 frame never exceeds it)
// makes the listener hold ~100x maxQueued.
let s2: Server | undefined;
hostile(
  () => s2!,
  'empty MSGs with the window shut: the listener holds about maxQueued 256 KiB, not far more',
  async (t) => {
    s2 = await startServer(() => {}, { maxQueued: 256 * KiB });
    const base = memNow();
    const p = await Peer.connect(s2.port);
    await p.greet();
    assert.equal(await p.start(1, ECHO), 'RPY');
    const a = await s2.sessionOf(p);
    await p.write('SEQ 1 0 0\r\n');
    await emptyMsgs(p, 1, 100_000);
    for (let i = 0; i < 400 && (a.conn.session.channels.get(1)?.sendQueue.length ?? 0) < 99_000 && !p.isClosed; i++) await sleep(10);
    const h = held(base);
    t.diagnostic(
      `queued ${a.conn.session.queued} octets in ${a.conn.session.channels.get(1)?.sendQueue.length} replies; retained ${h.text}`,
    );
    p.destroy();
    assert.ok(h.held < 4 * MiB, `the listener holds ${(h.held / MiB).toFixed(1)} MiB for one peer (maxQueued 256 KiB): ${h.text}`);
  },
  20_000,
);
test('cleanup 2', async () => {
  await s2?.close();
});

// ---- 3. event loop blocked when a long reply queue drains -----------------------------------
// Session#sendFrame takes the head of the channel's queue with ch.sendQueue.shift()
// (src/session/session.ts:529). V8 cannot left-trim a large array's backing store, so each
// shift copies the whole queue: draining n queued replies is O(n^2) and runs in one
// synchronous flush(). 100,000 empty replies (200 KB, within the default maxQueued 4 MiB)
// block the process ~3 s once the peer opens its window (300,000: ~21 s; maxQueued 4 MiB
// allows 2,000,000). Every other session of the process stalls meanwhile.
let s3: Server | undefined;
hostile(
  () => s3!,
  '100,000 empty replies held by a shut window, then SEQ opens it: the event loop is never blocked > 1 s',
  async (t) => {
    s3 = await startServer(() => {});
    const p = await Peer.connect(s3.port);
    await p.greet();
    assert.equal(await p.start(1, ECHO), 'RPY');
    const a = await s3.sessionOf(p);
    await p.write('SEQ 1 0 0\r\n');
    await emptyMsgs(p, 1, 100_000);
    for (let i = 0; i < 400 && (a.conn.session.channels.get(1)?.sendQueue.length ?? 0) < 99_000 && !p.isClosed; i++) await sleep(10);
    let last = Date.now(),
      maxGap = 0;
    const tick = setInterval(() => {
      const n = Date.now();
      maxGap = Math.max(maxGap, n - last);
      last = n;
    }, 5);
    const t0 = Date.now();
    await p.write('SEQ 1 0 2147483647\r\n');
    for (let i = 0; i < 1000 && (a.conn.session.channels.get(1)?.sendQueue.length ?? 0) > 0 && !p.isClosed; i++) await sleep(10);
    clearInterval(tick);
    t.diagnostic(`drained in ${Date.now() - t0} ms; longest event-loop gap ${maxGap} ms`);
    p.destroy();
    assert.ok(maxGap < 1000, `the event loop was blocked for ${maxGap} ms while one session drained its replies`);
  },
  20_000,
);
test('cleanup 3', async () => {
  await s3?.close();
});

// ---- 4. perFrame: true breaks channel 0 ---------------------------------------------------
// With perFrame, Session#piece (src/session/session.ts:628) delivers every frame of a
// multi-frame message, channel 0 included, and Management#onMessage parses each piece as a
// whole XML document: a peer that splits a <start> (or its greeting) over two frames, as it
// must for anything larger than the 4096-octet channel-0 window, is dropped as malformed.
let s4: Server | undefined;
hostile(
  () => s4!,
  'perFrame listener: a <start> split over two frames is answered, not dropped',
  async (t) => {
    s4 = await startServer(() => {}, { perFrame: true });
    const p = await Peer.connect(s4.port);
    await p.greet();
    const xml = Buffer.from(`Content-Type: application/beep+xml\r\n\r\n<start number='1'><profile uri='${ECHO}'/></start>`);
    await p.write(p.frame('MSG', 0, 1, xml.subarray(0, 30), '*'));
    await p.write(p.frame('MSG', 0, 1, xml.subarray(30), '.'));
    let outcome: string;
    try {
      outcome = (await p.reply(0, 1, 2000)).kw;
    } catch (e) {
      outcome = `no reply (${(e as Error).message.slice(0, 60)})`;
    }
    const a = await s4.sessionOf(p);
    t.diagnostic(`outcome ${outcome}; listener error: ${a.err?.message}`);
    p.destroy();
    assert.equal(outcome, 'RPY', `a start split over two frames was not accepted: ${a.err?.message}`);
  },
  10_000,
);
test('cleanup 4', async () => {
  await s4?.close();
});

// ---- 5. a second <close> of a channel while the first waits: channel 0 wedged -----------------
// Management#onClose (src/session/management.ts:265-274) sets ch.onIdle = finish for every
// close request of a channel still busy; a second request overwrites the first one's hook, so
// the first <close> MSG is never answered. Channel-0 replies go out in MSG order
// (channel-state.ts releaseReplies), so every later channel-0 reply (starts, closes) is held
// behind it forever; no timer drops the session (startTimeout covers only our own requests).
let s5: Server | undefined;
hostile(
  () => s5!,
  'two <close> of a channel with a reply pending: both answered and channel 0 keeps working',
  async (t) => {
    s5 = await startServer(() => {});
    const p = await Peer.connect(s5.port);
    await p.greet();
    assert.equal(await p.start(1, ECHO), 'RPY');
    await p.write('SEQ 1 0 0\r\n'); // our reply to MSG 0 waits for window
    await p.write(p.frame('MSG', 1, 0, 'x'));
    await sleep(50);
    await p.write(p.mgmt(`<close number='1' code='200'/>`)); // channel-0 MSG 2
    await p.write(p.mgmt(`<close number='1' code='200'/>`)); // channel-0 MSG 3 (a retry)
    await sleep(50);
    await p.write('SEQ 1 0 4096\r\n'); // the reply goes out, the channel is idle
    await p.write(p.mgmt(`<start number='3'><profile uri='${ECHO}'/></start>`)); // channel-0 MSG 4
    const got: string[] = [];
    for (const n of [2, 3, 4]) {
      try {
        got.push(`${n}:${(await p.reply(0, n, 1500)).kw}`);
      } catch {
        got.push(`${n}:none`);
      }
    }
    t.diagnostic(`channel-0 replies: ${got.join(' ')}; peer ${p.isClosed ? 'dropped' : 'connected'}`);
    p.destroy();
    assert.ok(!got.some((g) => g.endsWith(':none')), `channel-0 MSGs left unanswered: ${got.join(' ')}`);
  },
  15_000,
);
test('cleanup 5', async () => {
  await s5?.close();
});

// ---- 6. one peer exhausts the process-wide outbound budget: bystanders stall ---------------
// Consequence of 1: the per-session maxQueued does not bound a session's channel-0 replies,
// so one peer can fill the process budget (setProcessLimits maxQueued, default 1 GiB). Then
// every session is over budget (Session#enqueue, session.ts:272, processQueueFull): a
// bystander's request() waits in whenWritable() and its MSGs are parked on the listener side
// until the process queue drains below half, which never happens while the attacker stays.
let s6: Server | undefined;
hostile(
  () => s6!,
  'one peer queues channel-0 replies past the process maxQueued: a bystander still echoes',
  async (t) => {
    s6 = await startServer(() => {}, { maxQueued: 16 * KiB });
    const before = processUsage();
    setProcessLimits({ maxQueued: 512 * KiB });
    const p = await Peer.connect(s6.port);
    try {
      await p.greet();
      for (let i = 0; i < 7000 && !p.isClosed && processUsage().queued < 600 * KiB; i++)
        await mgmtInWindow(p, `<close number='7' code='200'/>`);
      t.diagnostic(
        `process queued ${processUsage().queued} (process maxQueued ${512 * KiB}); attacker ${p.isClosed ? 'dropped' : 'connected'}`,
      );
      await within(3000, 'bystander echo during the attack', s6.bystander.echoes());
      await within(3000, 'second bystander echo during the attack', s6.bystander.echoes());
    } finally {
      p.destroy();
      await sleep(50);
      setProcessLimits({ maxQueued: before.maxQueued });
    }
  },
  20_000,
);
test('cleanup 6', async () => {
  await s6?.close();
});

// ---- 7. parked size-0 MSGs cost nothing against maxBuffered -------------------------------
// While the outbound budget is full and only windows hold it, new MSGs are parked "counted
// against maxBuffered" (Session#deliver, session.ts:670-672: #hold(ch, msg.content.length)).
// A size-0 MSG counts 0 octets, yet each parked one costs ~390 octets of heap (Message, its
// view, the [ch, msg] pair, the Inbound record and Map entry). The only bound is maxOutstanding
// (4096) per channel times maxChannels (1024): ~4.2 million parked MSGs, ~1.6 GiB, per session.
// Here 64 channels x 4000 hold ~100 MiB with maxBuffered 64 KiB and maxQueued 4 KiB.
let s7: Server | undefined;
hostile(
  () => s7!,
  'parked size-0 MSGs on 64 channels: the listener holds < 8 MiB (maxBuffered 64 KiB, maxQueued 4 KiB)',
  async (t) => {
    s7 = await startServer(() => {}, { maxQueued: 4 * KiB, maxBuffered: 64 * KiB });
    const base = memNow();
    const p = await Peer.connect(s7.port);
    await p.greet();
    await p.write('SEQ 0 0 2147483647\r\n'); // the listener may answer on channel 0 freely
    const chans = Array.from({ length: 64 }, (_, i) => 2 * i + 1);
    for (const c of chans) assert.equal(await p.start(c, ECHO), 'RPY');
    const a = await s7.sessionOf(p);
    await p.write(Buffer.concat(chans.map((c) => Buffer.from(`SEQ ${c} 0 0\r\n`)))); // every window shut
    for (let i = 0; i < 5; i++) await p.write(p.frame('MSG', 1, 100_000 + i, 'y'.repeat(1024))); // replies fill maxQueued
    await sleep(50);
    for (const c of chans) {
      if (p.isClosed) break;
      await emptyMsgs(p, c, 4000);
      await sleep(2);
    }
    await sleep(300);
    const h = held(base);
    t.diagnostic(
      `peer ${p.isClosed ? `dropped (${a.err?.message})` : 'connected'}; session buffered ${a.conn.session.buffered}, queued ${a.conn.session.queued}; retained ${h.text}`,
    );
    p.destroy();
    assert.ok(
      h.held < 8 * MiB,
      `the listener holds ${(h.held / MiB).toFixed(1)} MiB for one peer (maxBuffered 64 KiB, maxQueued 4 KiB): ${h.text}`,
    );
  },
  20_000,
);
test('cleanup 7', async () => {
  await s7?.close();
});

// ---- 8. unparking a long parked list blocks the event loop ---------------------------------
// Once the windows open, Session#pressure -> #unpark (src/session/session.ts:303-308) takes
// parked MSGs with this.#parked.shift() (O(n) on a large array, as in 3) and hands them over;
// their replies refill the queue, the flush is a queueMicrotask (session.ts:461) whose flush()
// calls #pressure -> #unpark again: the whole parked list is worked off in one microtask chain
// that never yields to I/O. 128,000 parked size-0 MSGs block the process for seconds (256,000:
// ~17 s).
let s8: Server | undefined;
hostile(
  () => s8!,
  '128,000 parked size-0 MSGs, then the windows open: the event loop is never blocked > 1 s',
  async (t) => {
    s8 = await startServer(() => {}, { maxQueued: 4 * KiB });
    const p = await Peer.connect(s8.port);
    await p.greet();
    await p.write('SEQ 0 0 2147483647\r\n');
    const chans = Array.from({ length: 32 }, (_, i) => 2 * i + 1);
    for (const c of chans) assert.equal(await p.start(c, ECHO), 'RPY');
    const a = await s8.sessionOf(p);
    await p.write(Buffer.concat(chans.map((c) => Buffer.from(`SEQ ${c} 0 0\r\n`))));
    for (let i = 0; i < 5; i++) await p.write(p.frame('MSG', 1, 100_000 + i, 'y'.repeat(1024)));
    await sleep(50);
    for (const c of chans) {
      if (!p.isClosed) await emptyMsgs(p, c, 4000);
      await sleep(2);
    }
    await sleep(300);
    const pending = (): number => {
      let n = 0;
      for (const ch of a.conn.session.channels.values()) n += ch.inbound.size + ch.sendQueue.length;
      return n;
    };
    t.diagnostic(`peer ${p.isClosed ? 'dropped' : 'connected'}; ${pending()} MSGs and replies pending`);
    let last = Date.now(),
      maxGap = 0;
    const tick = setInterval(() => {
      const n = Date.now();
      maxGap = Math.max(maxGap, n - last);
      last = n;
    }, 5);
    const t0 = Date.now();
    await p.write(Buffer.concat(chans.map((c) => Buffer.from(`SEQ ${c} 0 2147483647\r\n`))));
    for (let i = 0; i < 1000 && pending() > 0 && !p.isClosed; i++) await sleep(10);
    clearInterval(tick);
    t.diagnostic(`worked off in ${Date.now() - t0} ms; longest event-loop gap ${maxGap} ms`);
    p.destroy();
    assert.ok(maxGap < 1000, `the event loop was blocked for ${maxGap} ms while one session unparked its MSGs`);
  },
  30_000,
);
test('cleanup 8', async () => {
  await s8?.close();
});

// ---- 9. a size-0 continuation frame escapes stallTimeout ----------------------------------
// Session.receiving (src/session/session.ts:157-159) looks at #inFrame, #buffered and the
// codec offset; a message begun with a size-0 "*" frame holds 0 octets, so the stall timer
// (Connection#sweep, connection.ts:137) never fires although a message is partly received.
// With idleTimeout off (or at its 600 s default) the session stays.
let s9: Server | undefined;
hostile(
  () => s9!,
  'a message begun with a size-0 "*" frame and never finished: dropped by stallTimeout',
  async (t) => {
    s9 = await startServer(() => {}, { stallTimeout: 300, idleTimeout: 0 });
    const p = await Peer.connect(s9.port);
    await p.greet();
    assert.equal(await p.start(1, ECHO), 'RPY');
    await p.write(p.frame('MSG', 1, 0, '', '*'));
    const dropped = await p.closedWithin(2000);
    t.diagnostic(`dropped within 2 s: ${dropped}`);
    p.destroy();
    assert.ok(dropped, 'a partly received message (size-0 "*" frame) was not dropped by stallTimeout 300 ms within 2 s');
  },
  10_000,
);
test('cleanup 9', async () => {
  await s9?.close();
});

// ---- 10. the peer's <close> while our own close waits: our close() never settles -------------
// Same root as 5: one onIdle slot per channel. Management#closeChannel (management.ts:321)
// parks its resolver in ch.onIdle; the peer's <close> arriving meanwhile overwrites it with its
// own finish (management.ts:274). finish removes the channel and answers the peer, but our
// close() promise is never resolved or rejected, not even when the session ends.
const SLOW = 'http://beepwire.test/slow-close';
let s10: Server | undefined;
let closing: Promise<boolean> | undefined;
hostile(
  () => s10!,
  'listener closes a channel while the peer closes it too: channel.close() settles',
  async (t) => {
    s10 = await startServer((ctx) => {
      registerProfile(ctx, SLOW, {
        frameReceived: (_c, ch, f) => {
          if (f.type !== 'MSG') return;
          closing = ch.close(); // waits: this MSG is still owed its reply
          setTimeout(() => {
            ch.sendRpy('late', undefined, f.msgNo);
          }, 200);
        },
      });
    });
    const p = await Peer.connect(s10.port);
    await p.greet();
    assert.equal(await p.start(1, SLOW), 'RPY');
    await p.write(p.frame('MSG', 1, 0, '\r\nplease close'));
    await sleep(50);
    await p.write(p.mgmt(`<close number='1' code='200'/>`)); // ours is pending too
    await sleep(400);
    // Answer whatever the listener asks on channel 0 (its <close>, if it got that far).
    for (const m of p.text.matchAll(/MSG 0 (\d+) /g))
      await p.write(p.frame('RPY', 0, Number(m[1]), 'Content-Type: application/beep+xml\r\n\r\n<ok/>'));
    let settled = 'pending';
    try {
      settled = `resolved ${await within(2000, 'channel.close()', closing!)}`;
    } catch (e) {
      settled = (e as Error).message;
    }
    t.diagnostic(`listener channel.close(): ${settled}; peer ${p.isClosed ? 'dropped' : 'connected'}`);
    p.destroy();
    await sleep(100);
    if (settled.includes('not settled')) {
      // Not even the end of the session settles it.
      let after = 'pending';
      try {
        after = `resolved ${await within(500, 'channel.close() after the session ended', closing!)}`;
      } catch (e) {
        after = (e as Error).message;
      }
      t.diagnostic(`after the session ended: ${after}`);
    }
    assert.ok(!settled.includes('not settled'), `the listener's channel.close() never settled: ${settled}`);
  },
  15_000,
);
test('cleanup 10', async () => {
  await s10?.close();
});
