// Timers against peers that stop talking (contract: idleTimeout, stallTimeout, teardownTimeout,
// greetingTimeout; a timed-out session ends with BEEP_ERR_TIMEOUT and onClose fires). Timers
// are configured small so each case takes well under 2 s. (tlsHandshakeTimeout: tls-tunnel.test.ts.)
import { before, after } from 'node:test';
import assert from 'node:assert/strict';
import { ECHO, Peer, assertEnded, hostile, installFaultRecorders, sleep, startServer, within, type Server } from './harness.js';

installFaultRecorders();

const TIMEOUT = 'BEEP_ERR_TIMEOUT';
let idle: Server, stall: Server;
let pinger: ReturnType<typeof setInterval> | undefined;

before(async () => {
  idle = await startServer(() => {}, { idleTimeout: 300 });
  // The idle listener's bystander keeps talking, so only the silent attacker is idle.
  pinger = setInterval(() => {
    idle.bystander.ch.request('ping').catch(() => {});
  }, 100);
  stall = await startServer(() => {}, { stallTimeout: 300, teardownTimeout: 300, greetingTimeout: 300 });
});
after(async () => {
  clearInterval(pinger);
  await idle.close();
  await stall.close();
});

hostile(
  () => idle,
  'idleTimeout 300 ms: a session that greeted then idles is dropped within 1.5 s, BEEP_ERR_TIMEOUT (a talking bystander is not)',
  async () => {
    const p = await Peer.connect(idle.port);
    await p.greet();
    await assertEnded(idle, p, 1500, TIMEOUT);
  },
);

hostile(
  () => idle,
  'idleTimeout 300 ms: a session with an open channel that idles is dropped within 1.5 s, BEEP_ERR_TIMEOUT',
  async () => {
    const p = await Peer.connect(idle.port);
    await p.greet();
    assert.equal(await p.start(1, ECHO), 'RPY');
    await assertEnded(idle, p, 1500, TIMEOUT);
  },
);

const S = (): Server => stall;

hostile(S, 'greetingTimeout 300 ms: a peer that never greets is dropped within 1.5 s, BEEP_ERR_TIMEOUT', async () => {
  const p = await Peer.connect(stall.port);
  await assertEnded(stall, p, 1500, TIMEOUT);
});

hostile(S, 'stallTimeout 300 ms: stalls halfway through a frame header -> dropped within 1.5 s, BEEP_ERR_TIMEOUT', async () => {
  const p = await Peer.connect(stall.port);
  await p.greet();
  await p.write('MSG 0 1 . 1');
  await assertEnded(stall, p, 1500, TIMEOUT);
});

hostile(S, 'stallTimeout 300 ms: stalls halfway through a <start> payload -> dropped within 1.5 s, BEEP_ERR_TIMEOUT', async () => {
  const p = await Peer.connect(stall.port);
  await p.greet();
  const f = p.mgmt(`<start number='1'><profile uri='${ECHO}'/></start>`);
  await p.write(f.subarray(0, f.length - 30));
  await assertEnded(stall, p, 1500, TIMEOUT);
});

hostile(
  S,
  'stallTimeout 300 ms: stalls halfway through a frame on a profile channel -> dropped within 1.5 s, BEEP_ERR_TIMEOUT',
  async () => {
    const p = await Peer.connect(stall.port);
    await p.greet();
    assert.equal(await p.start(1, ECHO), 'RPY');
    const f = p.frame('MSG', 1, 0, 'x'.repeat(1000));
    await p.write(f.subarray(0, 500));
    await assertEnded(stall, p, 1500, TIMEOUT);
  },
);

hostile(
  S,
  'stallTimeout 300 ms: a message left unfinished (first frame more=*, then silence) -> dropped within 1.5 s, BEEP_ERR_TIMEOUT',
  async () => {
    const p = await Peer.connect(stall.port);
    await p.greet();
    assert.equal(await p.start(1, ECHO), 'RPY');
    await p.write(p.frame('MSG', 1, 0, 'first half', '*'));
    await assertEnded(stall, p, 1500, TIMEOUT);
  },
);

hostile(
  S,
  'stallTimeout 300 ms: a message left unfinished while the peer trickles SEQ frames every 100 ms -> still dropped within 1.5 s',
  async () => {
    const p = await Peer.connect(stall.port);
    await p.greet();
    assert.equal(await p.start(1, ECHO), 'RPY');
    await p.write(p.frame('MSG', 1, 0, 'first half', '*'));
    // SEQs are octets but not progress on the message: they must not keep the session alive.
    const keep = setInterval(() => {
      if (!p.isClosed) p.socket.write('SEQ 1 0 4096\r\n');
    }, 100);
    try {
      await assertEnded(stall, p, 1500, TIMEOUT);
    } finally {
      clearInterval(keep);
    }
  },
);

hostile(
  S,
  'teardownTimeout 300 ms: peer answers our <close number=0> with <ok/> and never closes TCP -> onClose fires within 1.5 s',
  async () => {
    const p = await Peer.connect(stall.port, { allowHalfOpen: true });
    await p.greet();
    const a = await stall.sessionOf(p);
    await sleep(20);
    const closing = a.conn.close();
    const txt = await p.waitFor(/MSG 0 (\d+) \. \d+ \d+\r\n[\s\S]*?<close number='0'/, 2000);
    const msgno = Number(/MSG 0 (\d+) \. \d+ \d+\r\n[\s\S]*?<close number='0'/.exec(txt)![1]);
    await p.write(p.frame('RPY', 0, msgno, `Content-Type: application/beep+xml\r\n\r\n<ok />`));
    await within(1500, 'listener onClose after <ok/> with TCP left open', a.ended);
    await within(1000, 'conn.close()', closing);
    // A half-open peer stops reading after our FIN, so it sees the reset only when it writes.
    p.socket.write('x');
    assert.ok(await p.closedWithin(500), 'the listener destroyed the socket');
  },
);

hostile(S, 'teardownTimeout 300 ms: peer asks <close number=0>, gets <ok/>, never closes TCP -> onClose fires within 1.5 s', async () => {
  const p = await Peer.connect(stall.port, { allowHalfOpen: true });
  await p.greet();
  const a = await stall.sessionOf(p);
  const msgno = p.msg0;
  await p.write(p.mgmt(`<close number='0' code='200'/>`));
  assert.equal((await p.reply(0, msgno, 1000)).kw, 'RPY');
  await within(1500, 'listener onClose after its <ok/> with TCP left open', a.ended);
  // A half-open peer stops reading after our FIN, so it sees the reset only when it writes.
  p.socket.write('x');
  assert.ok(await p.closedWithin(500), 'the listener destroyed the socket');
});
