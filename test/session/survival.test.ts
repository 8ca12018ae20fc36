// Session survival mechanics, sans-I/O: budgets, backpressure, windows within maxFrame,
// release with open channels, start decisions counted against maxChannels. Bytes in, bytes
// out; no sockets and no timers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Session, type SessionIO } from '../../src/session/session.js';
import type { SessionHooks } from '../../src/session/management.js';
import { processUsage, setProcessLimits } from '../../src/session/budget.js';
import { greetingRefusal } from '../../src/session/refusal.js';

const P = 'http://beepwire.test/survival';
const tick = (): Promise<void> => new Promise((r) => setImmediate(r));
const bytes = (s: string): Uint8Array => Buffer.from(s, 'latin1');
const G = `Content-Type: application/beep+xml\r\n\r\n<greeting><profile uri='${P}'/></greeting>`;
const mgmt = (xml: string): string => `Content-Type: application/beep+xml\r\n\r\n${xml}`;

/** Collects what the session writes; `open` false makes write() report a full transport. */
class Wire implements SessionIO {
  out = '';
  ended = false;
  aborted = false;
  open = true;
  paused: boolean[] = [];
  write(a: Uint8Array, b?: Uint8Array, c?: Uint8Array, d?: Uint8Array): boolean {
    for (const p of [a, b, c, d]) if (p) this.out += Buffer.from(p).toString('latin1');
    return this.open;
  }
  end(): void {
    this.ended = true;
  }
  abort(): void {
    this.aborted = true;
  }
  pauseInput(p: boolean): void {
    this.paused.push(p);
  }
  take(): string {
    const s = this.out;
    this.out = '';
    return s;
  }
}

/** A peer's frames with per-channel seqnos. */
class Peer {
  #seq = new Map<number, number>();
  frame(kw: string, ch: number, msgno: number, payload: string, more = '.'): Uint8Array {
    const seq = this.#seq.get(ch) ?? 0;
    this.#seq.set(ch, seq + payload.length);
    return bytes(`${kw} ${ch} ${msgno} ${more} ${seq} ${payload.length}\r\n${payload}END\r\n`);
  }
}

/** A listener session that has the peer's greeting and, if asked, channel 1 open. */
async function listener(
  opts: Record<string, unknown> = {},
  hooks: SessionHooks = {},
  open = true,
): Promise<{ s: Session; wire: Wire; peer: Peer }> {
  const wire = new Wire();
  const s = new Session(wire, { start: () => ({ accept: true, uri: P }), ...hooks }, { role: 'listener', ...opts });
  s.start({ profiles: [P] });
  const peer = new Peer();
  s.receive(peer.frame('RPY', 0, 0, G));
  if (open) {
    s.receive(peer.frame('MSG', 0, 1, mgmt(`<start number='1'><profile uri='${P}'/></start>`)));
    await tick();
  }
  wire.take();
  return { s, wire, peer };
}

test('windows granted never exceed maxFrame: a peer may fill a window with one frame', async () => {
  const { s, wire } = await listener({ maxFrame: 65536, window: 1 << 20, maxWindow: 4 << 20 });
  const ch = s.channels.get(1)!;
  assert.equal(ch.window, 65536);
  s.setWindow(ch, 1 << 22);
  assert.equal(ch.window, 65536, 'an explicit window is capped too');
  for (const m of wire.take().matchAll(/SEQ 1 (\d+) (\d+)\r\n/g)) assert.ok(Number(m[2]) <= 65536, m[0]);
});

test("a peer's <close number='0'> with channels open closes them and releases (default)", async () => {
  const closed: number[] = [];
  const { s, wire, peer } = await listener({}, { channelClosed: (ch) => closed.push(ch.number) });
  s.receive(peer.frame('MSG', 0, 2, mgmt("<close number='0' code='200'/>")));
  await tick();
  assert.match(wire.take(), /RPY 0 2 \. \d+ \d+\r\nContent-Type: application\/beep\+xml\r\n\r\n<ok \/>END\r\n/);
  assert.deepEqual(closed, [1]);
  assert.equal(s.mgmt.released, true);
  assert.equal(wire.ended, true);
});

test("refuseReleaseWithOpenChannels keeps RFC 3080's 550 answer", async () => {
  const { s, wire, peer } = await listener({ refuseReleaseWithOpenChannels: true });
  s.receive(peer.frame('MSG', 0, 2, mgmt("<close number='0' code='200'/>")));
  await tick();
  assert.match(wire.take(), /ERR 0 2 .*<error code='550'>channels are still open<\/error>END/s);
  assert.equal(s.channels.has(1), true);
});

test('starts still being decided count against maxChannels (async start handler)', async () => {
  const { s, wire, peer } = await listener(
    { maxChannels: 3 },
    {
      start: async () => {
        await new Promise((r) => setTimeout(r, 20));
        return { accept: true, uri: P };
      },
    },
    false,
  );
  for (let i = 0; i < 10; i++) s.receive(peer.frame('MSG', 0, i + 1, mgmt(`<start number='${2 * i + 1}'><profile uri='${P}'/></start>`)));
  await new Promise((r) => setTimeout(r, 60));
  await tick();
  const out = wire.take();
  assert.equal(s.channels.size - 1, 3);
  assert.equal(out.match(/<profile uri=/g)?.length, 3);
  assert.equal(out.match(/<error code='550'>too many channels<\/error>/g)?.length, 7);
});

test('partly received messages over maxBuffered end the session with BEEP_ERR_BUDGET and return their octets', async () => {
  let err: Error | undefined;
  const before = processUsage().buffered;
  const { s, wire, peer } = await listener(
    { maxBuffered: 100_000, maxMessage: 80_000, window: 65536, maxWindow: 65536 },
    {
      closed: (e) => {
        err = e;
      },
    },
    false,
  );
  for (let c = 1; c <= 5; c += 2) s.receive(peer.frame('MSG', 0, (c + 1) / 2, mgmt(`<start number='${c}'><profile uri='${P}'/></start>`)));
  await tick();
  const piece = 'x'.repeat(30_000);
  for (const c of [1, 3, 5]) {
    s.receive(peer.frame('MSG', c, 0, piece, '*'));
    if (s.ended) break;
    s.receive(peer.frame('MSG', c, 0, piece, '*'));
  }
  assert.equal(s.ended, true);
  assert.equal((err as { code?: string })?.code, 'BEEP_ERR_BUDGET');
  assert.equal(wire.aborted, true);
  assert.equal(processUsage().buffered, before, 'the process budget got every octet back');
});

test('the process inbound budget bounds many sessions together', async () => {
  const before = processUsage();
  setProcessLimits({ maxBuffered: before.buffered + 50_000 });
  try {
    const a = await listener({ window: 65536, maxWindow: 65536 });
    const b = await listener({ window: 65536, maxWindow: 65536 });
    a.s.receive(a.peer.frame('MSG', 1, 0, 'y'.repeat(40_000), '*'));
    assert.equal(a.s.ended, false);
    b.s.receive(b.peer.frame('MSG', 1, 0, 'y'.repeat(40_000), '*'));
    assert.equal(b.s.ended, true);
    assert.equal((b.s.error as { code?: string })?.code, 'BEEP_ERR_BUDGET');
    a.s.abort();
  } finally {
    setProcessLimits({ maxBuffered: before.maxBuffered });
  }
});

test('a peer that does not read: input pauses at maxQueued, resumes below half', async () => {
  const { s, wire, peer } = await listener({ maxQueued: 10_000 });
  const ch = s.channels.get(1)!;
  ch.onMessage = (m) => s.sendReply(ch, 'RPY', m.msgno, new Uint8Array(1000));
  wire.open = false; // the transport reports full at once: the peer is not reading
  for (let i = 0; i < 40 && !wire.paused.includes(true); i++) s.receive(peer.frame('MSG', 1, i, 'ping'));
  await tick();
  assert.deepEqual(wire.paused, [true]);
  assert.equal(s.writable, false);
  assert.ok(s.queued >= 10_000 && s.queued < 20_000, `queued ${s.queued}`);
  // The window limits what goes out; once the peer reads and grants window, the queue drains.
  wire.open = true;
  s.receive(bytes(`SEQ 1 0 1000000\r\n`));
  s.drain();
  await tick();
  assert.equal(s.queued, 0);
  assert.deepEqual(wire.paused, [true, false]);
  assert.equal(s.writable, true);
});

test('queue held by a shut window: input goes on (SEQs drain it), new MSGs are parked until it drains', async () => {
  const { s, peer } = await listener({ maxQueued: 8000 });
  const ch = s.channels.get(1)!;
  const handled: number[] = [];
  ch.onMessage = (m) => {
    handled.push(m.msgno);
    s.sendReply(ch, 'RPY', m.msgno, new Uint8Array(3000));
  };
  for (let i = 0; i < 10; i++) s.receive(peer.frame('MSG', 1, i, 'ping'));
  await tick();
  // 4096 octets of window: one reply out, two more queued make the budget; the rest are parked.
  assert.equal(s.writable, false);
  assert.ok(handled.length < 10, `handled ${handled.length}`);
  assert.ok(s.buffered > 0, 'parked MSGs count as held inbound octets');
  s.receive(bytes(`SEQ 1 0 1000000\r\n`));
  await tick();
  await tick();
  assert.deepEqual(handled, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9], 'every MSG handled, in order');
  assert.equal(s.buffered, 0);
  assert.equal(s.writable, true);
});

test('greetingRefusal: a complete ERR 0 0 frame with <error code=421>', () => {
  const t = Buffer.from(greetingRefusal(421, 'too many connections')).toString('latin1');
  const payload = "Content-Type: application/beep+xml\r\n\r\n<error code='421'>too many connections</error>";
  assert.equal(t, `ERR 0 0 . 0 ${payload.length}\r\n${payload}END\r\n`);
});

test("a peer's <ok/> and its <close number='0'> in one read: the channel is gone before the release is judged (LibVortex test_02d)", async () => {
  const { s, wire, peer } = await listener({ refuseReleaseWithOpenChannels: true });
  const closing = s.mgmt.closeChannel(s.channels.get(1)!);
  await tick();
  const msgno = Number(/MSG 0 (\d+) /.exec(wire.take())![1]);
  const ok = peer.frame('RPY', 0, msgno, mgmt('<ok/>'));
  const release = peer.frame('MSG', 0, 2, mgmt("<close number='0' code='200'/>"));
  s.receive(Buffer.concat([ok, release]));
  await closing;
  await tick();
  assert.match(wire.take(), /RPY 0 2 .*<ok \/>END/s, 'the release is accepted, not refused 550');
});

test("frames on a channel right behind our start's <profile/> RPY, in one read, reach the channel (LibVortex fast-send)", async () => {
  const wire = new Wire();
  const s = new Session(wire, {}, { role: 'initiator' });
  s.start({ profiles: [] });
  const peer = new Peer();
  s.receive(peer.frame('RPY', 0, 0, G));
  const started = s.mgmt.startChannel(1, [{ uri: P, encoding: 'none' }]);
  await tick();
  const msgno = Number(/MSG 0 (\d+) /.exec(wire.take())![1]);
  s.receive(Buffer.concat([peer.frame('RPY', 0, msgno, mgmt(`<profile uri='${P}'/>`)), peer.frame('MSG', 1, 0, '\r\nmessage 1')]));
  assert.equal(s.ended, false, String(s.error));
  const st = await started;
  assert.equal(st.channel.early?.length, 1, 'held until the application takes the channel');
  assert.equal(Buffer.from(st.channel.early![0]!.content).toString('latin1'), '\r\nmessage 1');
});

test('a burst of input (receive(chunk, true): a message transport, one chunk per WebSocket message): window updates wait for the end of the run, replies framed at once do not; a plain receive acknowledges within the call', async () => {
  const { s, wire, peer } = await listener();
  const ch = s.channels.get(1)!;
  ch.onMessage = (m) => s.sendReply(ch, 'RPY', m.msgno, bytes('pong'));
  const big = 'x'.repeat(ch.window >>> 2); // three of them pass half the window: a SEQ is owed
  // A final reply to the oldest MSG with nothing queued ahead is framed at once: one transport
  // call per frame, which a message transport batches per run itself.
  for (let i = 0; i < 3; i++) s.receive(peer.frame('MSG', 1, i, big), true);
  const inBurst = wire.take();
  assert.equal((inBurst.match(/RPY 1 \d \. /g) ?? []).length, 3, 'the replies framed at once');
  assert.doesNotMatch(inBurst, /SEQ/, 'no window update inside the burst');
  await tick(); // the end of the run: microtasks queued by the burst ran
  assert.match(wire.take(), /SEQ 1 /, 'the window update at the end of the run');
  for (let i = 3; i < 6; i++) s.receive(peer.frame('MSG', 1, i, big));
  assert.match(wire.take(), /SEQ 1 /, 'a plain receive acknowledges within the call');
});

test('pieces of a message that lie next to each other in one buffer are one view: a large frame in one chunk (a WebSocket message) is never joined', async () => {
  const { s, peer } = await listener({ ownedChunks: true }); // as Connection makes it: chunks are kept as views
  const ch = s.channels.get(1)!;
  const got: Array<{ parts: number; view: boolean; text: string }> = [];
  let buffer: ArrayBufferLike | undefined;
  ch.onMessage = (m) =>
    got.push({ parts: m.contentParts.length, view: m.content.buffer === buffer, text: Buffer.from(m.content).toString('latin1') });
  const body = 'x'.repeat(40_000); // past the codec's 16 KiB copy window: handed over in two calls
  const whole = peer.frame('MSG', 1, 0, body);
  buffer = whole.buffer;
  s.receive(whole); // one chunk
  const two = peer.frame('MSG', 1, 1, body);
  buffer = two.buffer;
  s.receive(two.subarray(0, 25_000)); // two chunks, side by side in one buffer
  s.receive(two.subarray(25_000));
  const a = peer.frame('MSG', 1, 2, body);
  buffer = undefined;
  s.receive(Uint8Array.from(a.subarray(0, 25_000))); // two chunks in two buffers (copies): joined
  s.receive(Uint8Array.from(a.subarray(25_000)));
  await tick();
  assert.deepEqual(
    got.map((g) => [g.parts, g.view, g.text === body]),
    [
      [1, true, true],
      [1, true, true],
      [2, false, true],
    ],
  );
});
