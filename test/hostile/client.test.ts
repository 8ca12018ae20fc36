// Hostile listeners against beepwire's initiator: a raw-socket server that answers requestAll()
// with endless ANS (client memory bounded by maxBuffered, the request rejects), and servers
// that ignore <start> or <close> (openChannel / close settle within startTimeout / closeTimeout).
import { before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server as NetServer, type Socket } from 'node:net';
import { Connection, Ctx, type CtxOptions } from '../../src/index.js';
import { ECHO, KiB, LOCAL, MiB, hostile, installFaultRecorders, memNow, held, sleep, startServer, within, type Server } from './harness.js';

installFaultRecorders();

let s: Server; // the bystander's listener (same process)
before(async () => {
  s = await startServer();
});
after(async () => {
  await s.close();
});
const S = (): Server => s;

/** A raw BEEP "listener": greets with the echo profile, then `behave` drives the socket. */
async function rawServer(
  behave: (sock: Socket, rx: { text: string; seq0: number }) => void,
): Promise<{ port: number; server: NetServer; sockets: Socket[]; close(): Promise<void> }> {
  const sockets: Socket[] = [];
  const server = createServer((sock) => {
    sockets.push(sock);
    sock.setNoDelay(true);
    sock.on('error', () => {});
    const g = `Content-Type: application/beep+xml\r\n\r\n<greeting><profile uri='${ECHO}'/></greeting>`;
    const rx = { text: '', seq0: g.length };
    sock.on('data', (d: Buffer) => {
      if (rx.text.length < 1 << 20) rx.text += d.toString('latin1');
    });
    sock.write(`RPY 0 0 . 0 ${g.length}\r\n${g}END\r\n`);
    behave(sock, rx);
  });
  await new Promise<void>((r) => server.listen(0, LOCAL, () => r()));
  const port = (server.address() as { port: number }).port;
  return {
    port,
    server,
    sockets,
    close: () => {
      for (const x of sockets) x.destroy();
      return new Promise((r) => server.close(() => r()));
    },
  };
}

/** Answers each <start> (channel-0 MSG) with the echo profile; `seq0` tracks our channel-0 seqno. */
function answerStarts(sock: Socket, rx: { text: string; seq0: number }, answered: Set<number>): void {
  for (const m of rx.text.matchAll(/MSG 0 (\d+) \. \d+ \d+\r\n[\s\S]*?<start number='(\d+)'/g)) {
    const msgno = Number(m[1]);
    if (answered.has(msgno)) continue;
    answered.add(msgno);
    const body = `Content-Type: application/beep+xml\r\n\r\n<profile uri='${ECHO}' />`;
    sock.write(`RPY 0 ${msgno} . ${rx.seq0} ${body.length}\r\n${body}END\r\n`);
    rx.seq0 += body.length;
  }
}

hostile(
  S,
  'endless ANS to requestAll(): the request rejects (BEEP_ERR_BUDGET, maxBuffered 1 MiB) and the client holds < 16 MiB',
  async (t) => {
    let sentAns = 0;
    let stop = false;
    const srv = await rawServer((sock, rx) => {
      const st = new Set<number>();
      const body = Buffer.concat([Buffer.from('\r\n'), Buffer.alloc(16 * KiB, 'a')]);
      let seq = 0,
        ansno = 0,
        edge = 4096,
        flooding = false;
      const deadline = Date.now() + 5000;
      const flood = async (): Promise<void> => {
        flooding = true;
        while (!stop && !sock.destroyed && Date.now() < deadline && sentAns < 64 * MiB) {
          for (const m of rx.text.matchAll(/SEQ 1 (\d+) (\d+)\r\n/g)) edge = Math.max(edge, Number(m[1]) + Number(m[2]));
          if (rx.text.length > 512 * KiB) rx.text = rx.text.slice(-4096);
          if (seq + body.length > edge) {
            await sleep(1);
            continue;
          }
          const ok = sock.write(
            Buffer.concat([Buffer.from(`ANS 1 0 . ${seq} ${body.length} ${ansno++}\r\n`), body, Buffer.from('END\r\n')]),
          );
          seq += body.length;
          sentAns += body.length;
          if (!ok)
            await new Promise<void>((r) => {
              sock.once('drain', r);
              sock.once('close', r);
            });
        }
      };
      sock.on('data', () => {
        answerStarts(sock, rx, st);
        if (!flooding && /MSG 1 0 /.test(rx.text)) void flood();
      });
    });
    try {
      const base = memNow();
      const conn = await Connection.connect(new Ctx({ maxBuffered: MiB } as CtxOptions), LOCAL, srv.port);
      assert.ok(conn.isOk());
      const ch = await within(2000, 'openChannel', conn.openChannel(0, ECHO));
      assert.ok(ch, String(conn.popChannelError()));
      let outcome: unknown = 'pending';
      const req = ch.requestAll('go').then(
        (f) => {
          outcome = `resolved with ${f.length} frames`;
        },
        (e) => {
          outcome = e;
        },
      );
      const t0 = Date.now();
      while (outcome === 'pending' && Date.now() - t0 < 5500 && sentAns < 64 * MiB && !srv.sockets[0]?.destroyed) await sleep(20);
      const h = held(base);
      stop = true;
      await Promise.race([req, sleep(500)]);
      const code = (outcome as { code?: string })?.code;
      t.diagnostic(
        `server sent ${(sentAns / MiB).toFixed(1)} MiB of ANS; request: ${typeof outcome === 'string' ? outcome : `rejected ${code}`}; client ${h.text}`,
      );
      conn.shutdown();
      assert.ok(outcome instanceof Error, `requestAll did not reject (${String(outcome)})`);
      assert.equal(code, 'BEEP_ERR_BUDGET');
      assert.ok(h.held < 16 * MiB, `client holds ${h.text}`);
    } finally {
      stop = true;
      await srv.close();
    }
  },
  20_000,
);

hostile(S, 'a server that ignores <start>: openChannel settles (null) within startTimeout 300 ms (+1 s slack)', async () => {
  const srv = await rawServer(() => {});
  try {
    const conn = await Connection.connect(new Ctx({ startTimeout: 300 } as CtxOptions), LOCAL, srv.port);
    assert.ok(conn.isOk());
    const t0 = Date.now();
    const ch = await within(1300, 'openChannel against a server that ignores <start>', conn.openChannel(0, ECHO));
    assert.equal(ch, null);
    assert.ok(Date.now() - t0 >= 250, 'settled before the timeout could have fired');
    conn.shutdown();
  } finally {
    await srv.close();
  }
});

hostile(
  S,
  'a server that ignores <close> of a channel: channel.close() settles (false) within startTimeout 300 ms (+1 s slack)',
  async () => {
    const srv = await rawServer((sock, rx) => {
      const st = new Set<number>();
      sock.on('data', () => {
        if (!/<close/.test(rx.text)) answerStarts(sock, rx, st);
      });
    });
    try {
      const conn = await Connection.connect(new Ctx({ startTimeout: 300, closeTimeout: 300 } as CtxOptions), LOCAL, srv.port);
      const ch = await within(2000, 'openChannel', conn.openChannel(0, ECHO));
      assert.ok(ch, String(conn.popChannelError()));
      assert.equal(await within(1300, 'channel.close() against a server that ignores <close>', ch.close()), false);
      conn.shutdown();
    } finally {
      await srv.close();
    }
  },
);

hostile(S, 'a server that ignores <close number=0>: conn.close() settles (false) within closeTimeout 300 ms (+1 s slack)', async () => {
  const srv = await rawServer(() => {});
  try {
    const conn = await Connection.connect(new Ctx({ closeTimeout: 300 } as CtxOptions), LOCAL, srv.port);
    assert.ok(conn.isOk());
    assert.equal(await within(1300, 'conn.close() against a server that ignores <close>', conn.close()), false);
    // A timed-out close leaves nothing open (issue 14): the connection is dropped, with why.
    assert.equal(conn.isOk(), false);
    assert.ok(conn.transport.closed, 'the socket was destroyed');
    assert.match(String(conn.popChannelError()?.[1]), /timed out/);
  } finally {
    await srv.close();
  }
});
