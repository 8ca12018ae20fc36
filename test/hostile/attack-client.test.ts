// Hostile servers against beepwire's initiator (review wip-atk3): each test scripts a raw
// node:net "listener" on 127.0.0.1 and checks that the client neither faults the process, nor
// hangs an awaited call, nor loses track of its budgets or its error reports.
import { before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server as NetServer, type Socket } from 'node:net';
import {
  Connection,
  Ctx,
  createListener,
  registerProfile,
  processUsage,
  alive,
  xmlrpc,
  tls,
  sasl,
  type CtxOptions,
} from '../../src/index.js';
import { greetingXml } from '../../src/session/mgmt.js';
import { ECHO, LOCAL, MiB, hostile, installFaultRecorders, sleep, startServer, within, memNow, held, type Server } from './harness.js';

installFaultRecorders();

let s: Server; // the bystander's listener (same process)
before(async () => {
  s = await startServer();
});
after(async () => {
  await s.close();
});
const S = (): Server => s;

const XML = 'Content-Type: application/beep+xml\r\n\r\n';

/** One scripted server connection: seqnos per channel, received text, helpers to frame. */
class Wire {
  text = '';
  readonly #seq = new Map<number, number>();
  constructor(readonly sock: Socket) {}
  frame(kw: string, ch: number, msgno: number, payload: string, more = '.', ansno?: number): string {
    const len = Buffer.byteLength(payload, 'latin1');
    const seq = this.#seq.get(ch) ?? 0;
    this.#seq.set(ch, (seq + len) >>> 0);
    return `${kw} ${ch} ${msgno} ${more} ${seq} ${len}${ansno === undefined ? '' : ` ${ansno}`}\r\n${payload}END\r\n`;
  }
  send(...frames: string[]): void {
    if (!this.sock.destroyed) this.sock.write(Buffer.from(frames.join(''), 'latin1'));
  }
  /** MSG n on channel 0 of the client carrying a <start> (msgno and channel number), not yet handled. */
  *starts(seen: Set<number>): Generator<{ msgno: number; number: number; text: string }> {
    for (const m of this.text.matchAll(/MSG 0 (\d+) \. \d+ (\d+)\r\n/g)) {
      const msgno = Number(m[1]);
      if (seen.has(msgno)) continue;
      const body = this.text.slice(m.index! + m[0].length, m.index! + m[0].length + Number(m[2]));
      if (body.length < Number(m[2])) continue; // not all here yet
      seen.add(msgno);
      const st = /<start number='(\d+)'/.exec(body);
      yield { msgno, number: st ? Number(st[1]) : -1, text: body };
    }
  }
}

/** A raw server; `behave` runs per connection after our greeting (or instead of it when `greeting` is a string). */
async function rawServer(
  behave: (w: Wire) => void,
  greeting: string | null = `<greeting><profile uri='${ECHO}'/></greeting>`,
): Promise<{ port: number; wires: Wire[]; close(): Promise<void> }> {
  const wires: Wire[] = [];
  const server: NetServer = createServer((sock) => {
    const w = new Wire(sock);
    wires.push(w);
    sock.setNoDelay(true);
    sock.on('error', () => {});
    sock.on('data', (d: Buffer) => {
      if (w.text.length < 1 << 20) w.text += d.toString('latin1');
    });
    if (greeting !== null) w.send(w.frame('RPY', 0, 0, XML + greeting));
    behave(w);
  });
  await new Promise<void>((r) => server.listen(0, LOCAL, () => r()));
  const port = (server.address() as { port: number }).port;
  return {
    port,
    wires,
    close: () => {
      for (const x of wires) x.sock.destroy();
      return new Promise((r) => server.close(() => r()));
    },
  };
}

/** Answers every <start> with the first offered profile (optionally piggybacked content), then calls `after`. */
function acceptStarts(w: Wire, opts: { content?: string; after?: (number: number, uri: string) => string[] } = {}): void {
  const seen = new Set<number>();
  w.sock.on('data', () => {
    for (const st of w.starts(seen)) {
      if (st.number < 0) continue;
      const uri = /<profile uri='([^']+)'/.exec(st.text)?.[1] ?? ECHO;
      const inner = opts.content === undefined ? `<profile uri='${uri}' />` : `<profile uri='${uri}'><![CDATA[${opts.content}]]></profile>`;
      w.send(w.frame('RPY', 0, st.msgno, XML + inner), ...(opts.after?.(st.number, uri) ?? []));
    }
  });
}

const errors = (conn: Connection): Array<[number, string]> => {
  const out: Array<[number, string]> = [];
  for (let e = conn.popChannelError(); e !== null; e = conn.popChannelError()) out.push(e);
  return out;
};

// ---- confirmed problems ------------------------------------------------------------------

hostile(
  S,
  'a server that sends its first MSG on a new channel in the same segment as the start RPY: the channel opens (RFC 3080 allows it)',
  async () => {
    const srv = await rawServer((w) => acceptStarts(w, { after: (n) => [w.frame('MSG', n, 0, '\r\nhello')] }));
    try {
      const conn = await Connection.connect(new Ctx({ startTimeout: 1000 } as CtxOptions), LOCAL, srv.port);
      assert.ok(conn.isOk());
      const ch = await within(2000, 'openChannel', conn.openChannel(0, ECHO));
      await sleep(100);
      const err = conn.error as (Error & { code?: string }) | undefined;
      assert.ok(ch !== null && conn.isOk(), `the session ended: ${err?.name}[${err?.code}] ${err?.message}`);
      conn.shutdown();
    } finally {
      await srv.close();
    }
  },
);

hostile(
  S,
  'channel 0 window: a large (4000-octet) but legal greeting must not leave channel 0 unable to receive further start replies',
  async () => {
    // A beepwire listener advertising many profiles; the client opens channels one after another.
    const ctx = new Ctx({ startTimeout: 1000 } as CtxOptions);
    const uris: string[] = [];
    for (let i = 0; uris.length < 200; i++) {
      uris.push(`http://beepwire.test/a-rather-long-profile-name/number-${String(i).padStart(4, '0')}`);
      if (XML.length + greetingXml({ profiles: [ECHO, ...uris] }).length > 4000) {
        uris.pop();
        break;
      }
    }
    for (const u of [ECHO, ...uris])
      registerProfile(ctx, u, {
        frameReceived: (_c, ch, f) => {
          if (f.type === 'MSG') ch.sendRpy(f.payload, undefined, f.msgNo);
        },
      });
    const l = await createListener(ctx, LOCAL, 0);
    try {
      const conn = await Connection.connect(new Ctx({ startTimeout: 1000 } as CtxOptions), LOCAL, l.port);
      assert.ok(conn.isOk());
      const greetingSize = XML.length + greetingXml({ profiles: [ECHO, ...uris] }).length;
      assert.ok(greetingSize > 3900 && greetingSize <= 4000, `greeting ${greetingSize} octets`);
      for (let i = 0; i < 12; i++) {
        const ch = await within(2500, `openChannel #${i + 1}`, conn.openChannel(0, uris[i]!));
        assert.ok(ch, `openChannel #${i + 1} failed: ${String(conn.popChannelError())}`);
        await within(2500, `close #${i + 1}`, ch.close());
      }
      conn.shutdown();
    } finally {
      await ctx.exit();
    }
  },
);

hostile(S, 'popChannelError: a server that resets TCP while openChannel is pending gives one entry, not two', async () => {
  const srv = await rawServer((w) => {
    w.sock.on('data', () => {
      if (w.text.includes('<start')) w.sock.resetAndDestroy();
    });
  });
  try {
    const conn = await Connection.connect(new Ctx(), LOCAL, srv.port);
    assert.ok(conn.isOk());
    const ch = await within(2000, 'openChannel', conn.openChannel(0, ECHO));
    assert.equal(ch, null);
    const got = errors(conn);
    assert.equal(got.length, 1, `entries: ${JSON.stringify(got)}`);
  } finally {
    await srv.close();
  }
});

hostile(
  S,
  'popChannelError: a server that resets TCP on <close number=0> gives one entry for the failed conn.close(), not two',
  async () => {
    const srv = await rawServer((w) => {
      w.sock.on('data', () => {
        if (w.text.includes('<close')) w.sock.resetAndDestroy();
      });
    });
    try {
      const conn = await Connection.connect(new Ctx(), LOCAL, srv.port);
      assert.ok(conn.isOk());
      assert.equal(await within(2000, 'conn.close()', conn.close()), false);
      const got = errors(conn);
      assert.equal(got.length, 1, `entries: ${JSON.stringify(got)}`);
    } finally {
      await srv.close();
    }
  },
);

hostile(
  S,
  'popChannelError: a TLS server that sends <proceed/> then garbage gives one entry for the failed startTls, not two',
  async () => {
    const srv = await rawServer(
      (w) =>
        acceptStarts(w, {
          content: '<proceed />',
          after: () => {
            setTimeout(() => w.send('\x16\x03\x01garbage garbage garbage\r\n'.repeat(20)), 100);
            return [];
          },
        }),
      `<greeting><profile uri='http://iana.org/beep/TLS'/></greeting>`,
    );
    try {
      const conn = await Connection.connect(new Ctx(), LOCAL, srv.port);
      assert.ok(conn.isOk());
      assert.equal(await within(2000, 'startTls', tls.startTls(conn, { tlsHandshakeTimeout: 1000, rejectUnauthorized: false })), false);
      const got = errors(conn);
      assert.equal(got.length, 1, `entries: ${JSON.stringify(got)}`);
    } finally {
      await srv.close();
    }
  },
);

hostile(
  S,
  'xmlrpc.bootChannel: the server accepts the start without <bootrpy/> and the session then times out -> resolves null (as documented), does not reject',
  async () => {
    const srv = await rawServer((w) => acceptStarts(w), `<greeting><profile uri='http://iana.org/beep/xmlrpc'/></greeting>`);
    try {
      const conn = await Connection.connect(new Ctx({ idleTimeout: 400 } as CtxOptions), LOCAL, srv.port);
      assert.ok(conn.isOk());
      let outcome: unknown;
      await within(
        3000,
        'bootChannel',
        xmlrpc.bootChannel(conn).then(
          (ch) => {
            outcome = ch;
          },
          (e) => {
            outcome = e;
          },
        ),
      );
      assert.equal(outcome, null, `bootChannel rejected: ${String((outcome as Error)?.message)}`);
    } finally {
      await srv.close();
    }
  },
);

hostile(
  S,
  'tls.startTls: the server accepts TLS without a piggybacked <proceed/> and never answers the <ready/> MSG -> startTls settles (false) within its timers',
  async () => {
    // The start is answered with a bare <profile/>; startTls then sends <ready/> as a MSG on the
    // TLS channel and awaits ch.request() with no timer (tlsHandshakeTimeout starts at <proceed/>,
    // startTimeout covers channel 0 only, idleTimeout is off for initiators).
    const srv = await rawServer((w) => acceptStarts(w), `<greeting><profile uri='http://iana.org/beep/TLS'/></greeting>`);
    try {
      const conn = await Connection.connect(
        new Ctx({ tlsHandshakeTimeout: 300, startTimeout: 300, greetingTimeout: 300 } as CtxOptions),
        LOCAL,
        srv.port,
      );
      assert.ok(conn.isOk());
      const ok = await within(3000, 'startTls', tls.startTls(conn, { tlsHandshakeTimeout: 300, timeout: 300 }));
      assert.equal(ok, false);
    } finally {
      await srv.close();
    }
  },
);

hostile(
  S,
  'sasl.startAuth: the server accepts the SASL start without a blob and never answers the client blob -> startAuth settles (false)',
  async () => {
    const srv = await rawServer((w) => acceptStarts(w), `<greeting><profile uri='http://iana.org/beep/SASL/ANONYMOUS'/></greeting>`);
    try {
      const conn = await Connection.connect(new Ctx({ startTimeout: 300, greetingTimeout: 300 } as CtxOptions), LOCAL, srv.port);
      assert.ok(conn.isOk());
      const ok = await within(3000, 'startAuth', sasl.startAuth(conn, sasl.ANONYMOUS, { anonymousToken: 'x' }));
      assert.equal(ok, false);
    } finally {
      await srv.close();
    }
  },
);

hostile(
  S,
  'alive.enableCheck: an onFailure handler that throws (peer never answers pings) is reported, not an uncaught exception',
  async () => {
    const srv = await rawServer((w) => acceptStarts(w), `<greeting><profile uri='${alive.ALIVE_URI}'/></greeting>`);
    try {
      const ctx = new Ctx();
      const reported: unknown[] = [];
      (ctx as unknown as { setOnError(h: (e: unknown) => void): void }).setOnError((e) => {
        reported.push(e);
      });
      const conn = await Connection.connect(ctx, LOCAL, srv.port);
      assert.ok(conn.isOk());
      let called = 0;
      alive.enableCheck(conn, {
        checkPeriod: 100,
        onFailure: () => {
          called++;
          throw new Error('application onFailure bug');
        },
      });
      for (let i = 0; i < 60 && called === 0; i++) await sleep(50);
      assert.equal(called, 1);
      conn.shutdown();
    } finally {
      await srv.close();
    }
  },
);

/** Answers every <close number='N'> (N>0) of the client with <ok/>. */
function okCloses(w: Wire): void {
  const seen = new Set<number>();
  w.sock.on('data', () => {
    for (const st of w.starts(seen)) {
      if (/<close number='[1-9]/.test(st.text)) w.send(w.frame('RPY', 0, st.msgno, `${XML}<ok/>`));
      else seen.delete(st.msgno);
    }
  });
}

hostile(
  S,
  'channel.close() while our request is outstanding, then the server sends its own <close> for that channel and answers: close() settles',
  async () => {
    // Management.#onClose sets ch.onIdle = finish and overwrites the resolver closeChannel left there.
    const srv = await rawServer((w) => {
      acceptStarts(w);
      okCloses(w);
      w.sock.on('data', () => {
        if (!/MSG 1 0 /.test(w.text) || w.text.includes('@')) return;
        w.text += '@';
        setTimeout(() => w.send(w.frame('MSG', 0, 1, `${XML}<close number='1' code='200'/>`)), 150);
        setTimeout(() => w.send(w.frame('RPY', 1, 0, '\r\nx')), 300);
      });
    });
    try {
      const conn = await Connection.connect(new Ctx({ startTimeout: 500, closeTimeout: 500 } as CtxOptions), LOCAL, srv.port);
      const ch = await within(2000, 'openChannel', conn.openChannel(0, ECHO));
      assert.ok(ch);
      const r = ch.request('x').then(
        () => 'resolved',
        (e) => e.code,
      );
      await sleep(20);
      await within(2000, 'channel.close()', ch.close());
      assert.equal(await r, 'resolved');
      conn.shutdown();
    } finally {
      await srv.close();
    }
  },
);

hostile(
  S,
  'channel.close() and conn.close() at once while a request is outstanding (answered 200 ms later): channel.close() settles',
  async () => {
    // release() -> closeChannel() on the same channel overwrites ch.onIdle: the first waiter is lost.
    const srv = await rawServer((w) => {
      acceptStarts(w);
      okCloses(w);
      w.sock.on('data', () => {
        if (/MSG 1 0 /.test(w.text) && !w.text.includes('@')) {
          w.text += '@';
          setTimeout(() => w.send(w.frame('RPY', 1, 0, '\r\nx')), 200);
        }
      });
    });
    try {
      const conn = await Connection.connect(new Ctx({ startTimeout: 500, closeTimeout: 1000 } as CtxOptions), LOCAL, srv.port);
      const ch = await within(2000, 'openChannel', conn.openChannel(0, ECHO));
      assert.ok(ch);
      ch.request('x').catch(() => {});
      const c1 = ch.close();
      void conn.close();
      await within(2500, 'channel.close()', c1);
    } finally {
      await srv.close();
    }
  },
);

hostile(
  S,
  'channel.close() while the server never answers our request: close() settles (closeTimeout covers the wait for idle)',
  async () => {
    const srv = await rawServer((w) => acceptStarts(w));
    try {
      const conn = await Connection.connect(
        new Ctx({ startTimeout: 300, closeTimeout: 300, stallTimeout: 300 } as CtxOptions),
        LOCAL,
        srv.port,
      );
      const ch = await within(2000, 'openChannel', conn.openChannel(0, ECHO));
      assert.ok(ch);
      ch.request('x').catch(() => {});
      assert.equal(await within(2000, 'channel.close()', ch.close()), false);
      conn.shutdown();
    } finally {
      await srv.close();
    }
  },
);

hostile(
  S,
  'budget: a server pushing 60 MSGs of ~1 MiB into a channel the application has not iterated yet is held to maxBuffered (2 MiB), not 64 x maxMessage',
  async (t) => {
    // The "server" is a beepwire listener (it respects windows): the iterator queue (highWaterMark
    // 64 frames) is counted in frames, never in octets, and never against maxBuffered.
    const FLOOD = 'http://beepwire.test/flood';
    const sctx = new Ctx();
    registerProfile(sctx, FLOOD, {
      frameReceived: (_c, ch, f) => {
        if (f.type !== 'MSG') return;
        const big = new Uint8Array(MiB - 1024).fill(97);
        for (let i = 0; i < 60; i++) ch.sendMsg(big);
        ch.sendRpy('ok', undefined, f.msgNo);
      },
    });
    const l = await createListener(sctx, LOCAL, 0);
    try {
      const base = memNow();
      const u0 = processUsage();
      const conn = await Connection.connect(new Ctx({ maxMessage: MiB, maxBuffered: 2 * MiB } as CtxOptions), LOCAL, l.port);
      const ch = await within(2000, 'openChannel', conn.openChannel(0, FLOOD));
      assert.ok(ch);
      ch.sendMsg('go');
      const t0 = Date.now();
      while (Date.now() - t0 < 2000 && conn.isOk() && conn.session.octetsIn < 50 * MiB) await sleep(50);
      const h = held(base);
      const u = processUsage();
      t.diagnostic(`session ok ${conn.isOk()}; client ${h.text}; processUsage().buffered +${u.buffered - u0.buffered}`);
      conn.shutdown();
      assert.ok(h.held < 8 * MiB, `client holds ${h.text} with maxBuffered 2 MiB`);
    } finally {
      await sctx.exit();
    }
  },
);

/**
 * A server answering MSG 1 0 with up to `n` zero-length ANS frames (`more` '*': never completed,
 * '.': complete answers), 2,000 per write with backpressure. No payload: no window, no budget.
 */
async function ansFlood(
  more: '*' | '.',
  n: number,
): Promise<{ srv: Awaited<ReturnType<typeof rawServer>>; frames(): number; stop(): void }> {
  let stop = false,
    frames = 0;
  const srv = await rawServer((w) => {
    acceptStarts(w);
    w.sock.on('data', async () => {
      if (!/MSG 1 0 /.test(w.text) || w.text.includes('@')) return;
      w.text += '@';
      for (let k = 0; k < n && !stop && !w.sock.destroyed; k += 2000) {
        let b = '';
        for (let j = k; j < k + 2000; j++) b += `ANS 1 0 ${more} 0 0 ${j}\r\nEND\r\n`;
        frames += 2000;
        if (!w.sock.write(b))
          await new Promise((r) => {
            w.sock.once('drain', r);
            w.sock.once('close', r);
          });
      }
    });
  });
  return {
    srv,
    frames: () => frames,
    stop: () => {
      stop = true;
    },
  };
}

hostile(
  S,
  'budget: zero-length ANS frames with "*" and distinct ansnos (never completed) are bounded (maxBuffered 1 MiB): each open partial message is charged against the budget',
  async (t) => {
    const N = 400_000;
    const flood = await ansFlood('*', N);
    const srv = flood.srv;
    try {
      const base = memNow();
      const conn = await Connection.connect(new Ctx({ maxBuffered: 1 << 20, stallTimeout: 300 } as CtxOptions), LOCAL, srv.port);
      const ch = await within(2000, 'openChannel', conn.openChannel(0, ECHO));
      assert.ok(ch);
      ch.request('x').catch(() => {});
      const t0 = Date.now();
      while (Date.now() - t0 < 4000 && conn.isOk() && flood.frames() < N) await sleep(50);
      await sleep(700); // past stallTimeout
      const h = held(base);
      t.diagnostic(
        `${flood.frames()} frames sent; session ok ${conn.isOk()}; partial messages ${conn.session.channels.get(1)?.partialCount}; client ${h.text}`,
      );
      flood.stop();
      conn.shutdown();
      assert.ok(h.held < 16 * MiB, `client holds ${h.text} with maxBuffered 1 MiB`);
    } finally {
      flood.stop();
      await srv.close();
    }
  },
);

hostile(
  S,
  'budget: endless zero-length ANS to requestAll() are bounded (maxBuffered 1 MiB): each answer is charged against the budget',
  async (t) => {
    const N = 400_000;
    const flood = await ansFlood('.', N);
    const srv = flood.srv;
    try {
      const base = memNow();
      const conn = await Connection.connect(new Ctx({ maxBuffered: 1 << 20 } as CtxOptions), LOCAL, srv.port);
      const ch = await within(2000, 'openChannel', conn.openChannel(0, ECHO));
      assert.ok(ch);
      let outcome: unknown = 'pending';
      ch.requestAll('x').then(
        (f) => {
          outcome = f.length;
        },
        (e) => {
          outcome = e;
        },
      );
      const t0 = Date.now();
      while (Date.now() - t0 < 4000 && conn.isOk() && flood.frames() < N && outcome === 'pending') await sleep(50);
      await sleep(300);
      const h = held(base);
      t.diagnostic(
        `${flood.frames()} frames sent; session ok ${conn.isOk()}; requestAll ${String((outcome as Error)?.message ?? outcome)}; client ${h.text}`,
      );
      flood.stop();
      conn.shutdown();
      assert.ok(h.held < 16 * MiB, `client holds ${h.text} with maxBuffered 1 MiB`);
    } finally {
      flood.stop();
      await srv.close();
    }
  },
);

hostile(
  S,
  'stallTimeout: requestAll answers already received (whole ANS messages) are not "a frame partly received" -> a server pausing between ANS is not cut off',
  async () => {
    const srv = await rawServer((w) => {
      acceptStarts(w);
      let sent = false;
      w.sock.on('data', () => {
        if (sent || !/MSG 1 0 /.test(w.text)) return;
        sent = true;
        w.send(w.frame('ANS', 1, 0, '\r\nfirst', '.', 0));
        setTimeout(() => w.send(w.frame('ANS', 1, 0, '\r\nsecond', '.', 1), w.frame('NUL', 1, 0, '')), 900);
      });
    });
    try {
      const conn = await Connection.connect(new Ctx({ stallTimeout: 300 } as CtxOptions), LOCAL, srv.port);
      const ch = await within(2000, 'openChannel', conn.openChannel(0, ECHO));
      assert.ok(ch);
      let outcome: unknown;
      await within(
        3000,
        'requestAll',
        ch.requestAll('go').then(
          (f) => {
            outcome = f.length;
          },
          (e) => {
            outcome = e;
          },
        ),
      );
      assert.equal(outcome, 3, `requestAll: ${(outcome as Error)?.message ?? String(outcome)}`);
      conn.shutdown();
    } finally {
      await srv.close();
    }
  },
);
