// Hostile application handlers (attack round 4): handlers that throw values which are not
// Errors (a prototype-less object, a Proxy whose every property access throws), start handlers
// that never settle, throwing onClose/onAccept/closed hooks, and re-entrant or misused API calls.
// Contract (docs/limits.md): a handler fault is reported through
// ctx.setOnError as BEEP_ERR_HANDLER, a MSG still owed a reply gets ERR 451, a refused start or
// close gets an <error>, the session carries on, and nothing escapes into the process.
import { before, after, test } from 'node:test';
import assert from 'node:assert/strict';
import { registerProfile, unregisterProfile, Connection, Ctx, createListener, alive, xmlrpc } from '../../src/index.js';
import {
  ECHO,
  carriesOn,
  profileAttacker,
  LOCAL,
  Peer,
  hostile,
  installFaultRecorders,
  sleep,
  startServer,
  within,
  type Server,
} from './harness.js';

installFaultRecorders();

/** Thrown values that are not Errors and cannot even be turned into a string. */
const bare = (): unknown => Object.create(null);
/** A Proxy whose every property access throws a prototype-less object. */
const poison = (): unknown =>
  new Proxy(
    {},
    {
      get() {
        throw Object.create(null);
      },
    },
  );

/** Other non-Error values a handler may throw. */
const THROWN: Array<[string, () => unknown]> = [
  ['undefined', () => undefined],
  ['a string', () => 'boom'],
  ['a symbol', () => Symbol('boom')],
  [
    'an object whose message getter throws',
    () => ({
      get message(): string {
        throw new Error('getter');
      },
    }),
  ],
];

const FR_REJECTS_BARE = 'http://beepwire.test/fr-rejects-bare';
const FR_THROWS_BARE = 'http://beepwire.test/fr-throws-bare';
const FR_THROWS_PROXY = 'http://beepwire.test/fr-throws-proxy';
const FR_THENABLE = 'http://beepwire.test/fr-thenable-throws';
const FR_REPLY_TWICE = 'http://beepwire.test/fr-reply-twice';
const START_THROWS_BARE = 'http://beepwire.test/start-throws-bare';
const START_THROWS = 'http://beepwire.test/start-throws-error';
const CLOSE_THROWS_BARE = 'http://beepwire.test/close-throws-bare';
const CLOSED_THROWS_BARE = 'http://beepwire.test/closed-throws-bare';
const NEVER = 'http://beepwire.test/start-never-settles';
const REGISTERS = 'http://beepwire.test/start-unregisters';

let s: Server, hooks: Server, never: Server;
let onCloseSecondRan = 0;
before(async () => {
  s = await startServer((ctx) => {
    registerProfile(ctx, FR_REJECTS_BARE, {
      frameReceived: async () => {
        await sleep(1);
        throw bare();
      },
    });
    registerProfile(ctx, FR_THROWS_BARE, {
      frameReceived: () => {
        throw bare();
      },
    });
    registerProfile(ctx, FR_THROWS_PROXY, {
      frameReceived: () => {
        throw poison();
      },
    });
    registerProfile(ctx, FR_THENABLE, {
      frameReceived: () =>
        ({
          // biome-ignore lint/suspicious/noThenProperty: the test's point is a handler returning a hostile thenable
          then() {
            throw new Error('then boom');
          },
        }) as unknown as Promise<void>,
    });
    registerProfile(ctx, FR_REPLY_TWICE, {
      frameReceived: (_c, ch, f) => {
        ch.sendRpy('one', undefined, f.msgNo);
        ch.sendRpy('two', undefined, f.msgNo);
      },
    });
    registerProfile(ctx, START_THROWS_BARE, {
      start: () => {
        throw bare();
      },
    });
    registerProfile(ctx, START_THROWS, {
      start: () => {
        throw new Error('start boom');
      },
    });
    registerProfile(ctx, CLOSE_THROWS_BARE, {
      close: () => {
        throw bare();
      },
    });
    registerProfile(ctx, CLOSED_THROWS_BARE, {
      closed: () => {
        throw bare();
      },
    });
    registerThrown(ctx);
    registerProfile(ctx, REGISTERS, {
      start: ({ conn }) => {
        unregisterProfile(conn.ctx, REGISTERS);
        registerProfile(conn.ctx, REGISTERS, { start: () => true });
        return true;
      },
    });
  });
  // onAccept and setOnClose hooks that throw a value reportError cannot describe.
  hooks = await startServer(
    () => {},
    {},
    {
      onAccept: (conn) => {
        if (closeThrows) {
          conn.setOnClose(() => {
            throw bare();
          });
          conn.setOnClose(() => {
            onCloseSecondRan++;
          });
        }
        if (acceptThrows) throw bare();
      },
    },
  );
  never = await startServer(
    (ctx) => {
      registerProfile(ctx, NEVER, {
        start: () =>
          new Promise<boolean>(() => {
            /* never settles */
          }),
      });
    },
    { startTimeout: 500, closeTimeout: 500 },
  );
});
let acceptThrows = false,
  closeThrows = false;
after(async () => {
  await s.close();
  await hooks.close();
  await never.close();
});
const S = (): Server => s;

const attacker = (profile: string, srv = s): Promise<Peer> => profileAttacker(srv, profile);

// ---- frameReceived ------------------------------------------------------------------------

hostile(S, 'frameReceived rejects with a prototype-less object: no unhandled rejection, ERR 451, the session carries on', async () => {
  const p = await attacker(FR_REJECTS_BARE);
  await p.write(p.frame('MSG', 1, 0, 'trigger'));
  const r = await p.reply(1, 0, 2000);
  assert.equal(r.kw, 'ERR');
  assert.match(r.payload, /451/);
  await carriesOn(p);
  p.destroy();
});

hostile(S, 'frameReceived throws a prototype-less object: ERR 451 and the session carries on (not dropped)', async () => {
  const p = await attacker(FR_THROWS_BARE);
  await p.write(p.frame('MSG', 1, 0, 'trigger'));
  const r = await p.reply(1, 0, 2000);
  assert.equal(r.kw, 'ERR');
  await carriesOn(p);
  p.destroy();
});

hostile(S, 'frameReceived throws a Proxy whose every property access throws: no uncaught exception, ERR 451', async () => {
  const p = await attacker(FR_THROWS_PROXY);
  await p.write(p.frame('MSG', 1, 0, 'trigger'));
  const r = await p.reply(1, 0, 2000);
  assert.equal(r.kw, 'ERR');
  await carriesOn(p);
  p.destroy();
});

hostile(S, 'frameReceived returns a thenable whose then() throws: ERR 451, the session carries on', async () => {
  const p = await attacker(FR_THENABLE);
  await p.write(p.frame('MSG', 1, 0, 'trigger'));
  const r = await p.reply(1, 0, 2000);
  assert.equal(r.kw, 'ERR');
  await carriesOn(p);
  p.destroy();
});

hostile(S, 'frameReceived answers the same MSG twice: one RPY, the second call is a reported fault, the session carries on', async () => {
  const p = await attacker(FR_REPLY_TWICE);
  await p.write(p.frame('MSG', 1, 0, 'trigger'));
  const r = await p.reply(1, 0, 2000);
  assert.equal(r.kw, 'RPY');
  await carriesOn(p);
  assert.equal(p.count(/\n(RPY|ERR) 1 0 /g), 1, 'exactly one reply to MSG 0');
  p.destroy();
});

// ---- start / close / closed ---------------------------------------------------------------

hostile(S, 'start handler throws a prototype-less object: the <start> is refused, the session carries on', async () => {
  const p = await Peer.connect(s.port);
  await p.greet();
  const msgno = p.msg0;
  await p.write(p.mgmt(`<start number='1'><profile uri='${START_THROWS_BARE}'/></start>`));
  assert.equal((await p.reply(0, msgno, 2000)).kw, 'ERR'); // throws 'session closed before a reply' when the session is dropped
  assert.equal(await p.start(3, ECHO), 'RPY');
  await carriesOn(p);
  p.destroy();
});

test('start handler throws: ctx.setOnError receives BEEP_ERR_HANDLER with the cause (README: start handlers are reported)', async () => {
  const before = s.onError.length;
  const p = await Peer.connect(s.port);
  await p.greet();
  assert.equal(await p.start(1, START_THROWS), 'ERR');
  for (let i = 0; i < 100 && s.onError.length === before; i++) await sleep(10);
  const got = s.onError.slice(before);
  assert.equal(got.length, 1, `setOnError calls: ${got.length}`);
  assert.equal(got[0]!.err.code, 'BEEP_ERR_HANDLER');
  assert.match(String((got[0]!.err as { cause?: Error }).cause?.message), /start boom/);
  p.destroy();
});

hostile(S, 'close handler throws a prototype-less object: the <close> is refused with an ERR, the session carries on', async () => {
  const p = await attacker(CLOSE_THROWS_BARE);
  const msgno = p.msg0;
  await p.write(p.mgmt(`<close number='1' code='200'/>`));
  assert.equal((await p.reply(0, msgno, 2000)).kw, 'ERR');
  await carriesOn(p);
  p.destroy();
});

hostile(S, 'profile closed() handler throws a prototype-less object when the peer drops the session: no uncaught exception', async () => {
  const p = await attacker(CLOSED_THROWS_BARE);
  const a = await s.sessionOf(p);
  p.destroy();
  await within(2000, 'listener onClose', a.ended);
});

hostile(S, 'start handler unregisters and re-registers its own profile while deciding: accepted, the session carries on', async () => {
  const p = await Peer.connect(s.port);
  await p.greet();
  assert.equal(await p.start(1, REGISTERS), 'RPY');
  assert.equal(await p.start(3, ECHO), 'RPY');
  await carriesOn(p);
  p.destroy();
});

hostile(
  () => never,
  "start handler that never settles: the peer's <start> is answered or the session dropped by a timer (startTimeout 500 ms)",
  async () => {
    const p = await Peer.connect(never.port);
    await p.greet();
    const msgno = p.msg0;
    await p.write(p.mgmt(`<start number='1'><profile uri='${NEVER}'/></start>`));
    const deadline = Date.now() + 4000;
    let answered = false;
    while (Date.now() < deadline && !p.isClosed && !answered) {
      answered = new RegExp(`(RPY|ERR) 0 ${msgno} `).test(p.text);
      await sleep(20);
    }
    assert.ok(
      answered || p.isClosed,
      'after 4 s (8x startTimeout) the <start> is neither answered nor the session dropped: channel 0 is wedged',
    );
    p.destroy();
  },
);

// ---- onAccept / setOnClose ----------------------------------------------------------------

hostile(
  () => hooks,
  'setOnClose handler throws a prototype-less object: no uncaught exception, later onClose handlers still run',
  async () => {
    const ran = onCloseSecondRan;
    closeThrows = true;
    const p = await Peer.connect(hooks.port);
    await p.greet(); // onAccept ran before the listener's greeting was written
    closeThrows = false;
    const a = await hooks.sessionOf(p);
    p.destroy();
    await within(2000, 'listener onClose', a.ended);
    await sleep(100);
    assert.equal(onCloseSecondRan, ran + 1, 'the onClose handler registered after the throwing one ran');
  },
);

hostile(
  () => hooks,
  'onAccept throws a prototype-less object: no uncaught exception, the session works',
  async () => {
    acceptThrows = true;
    try {
      const p = await Peer.connect(hooks.port);
      await p.greet();
      assert.equal(await p.start(1, ECHO), 'RPY');
      p.destroy();
    } finally {
      acceptThrows = false;
    }
  },
);

// ---- re-entrant and misused client API ------------------------------------------------------

test('ctx.setOnError hook that throws a prototype-less object is ignored: ERR 451, the session carries on', async () => {
  const ctx = new Ctx();
  registerProfile(ctx, ECHO, {
    frameReceived: (_c, ch, f) => {
      if (f.type === 'MSG') ch.sendRpy(f.payload, undefined, f.msgNo);
    },
  });
  registerProfile(ctx, FR_THROWS_BARE, {
    frameReceived: () => {
      throw new Error('x');
    },
  });
  ctx.setOnError(() => {
    throw bare();
  });
  const l = await createListener(ctx, LOCAL, 0);
  try {
    const p = await Peer.connect(l.port);
    await p.greet();
    assert.equal(await p.start(1, FR_THROWS_BARE), 'RPY');
    assert.equal(await p.start(3, ECHO), 'RPY');
    await p.write(p.frame('MSG', 1, 0, 'trigger'));
    assert.equal((await p.reply(1, 0, 2000)).kw, 'ERR');
    await carriesOn(p);
    p.destroy();
  } finally {
    await ctx.exit();
  }
});

hostile(
  S,
  'client misuse: close() twice concurrently, openChannel/request/whenWritable after close all settle with typed results',
  async () => {
    const conn = await Connection.connect(new Ctx(), LOCAL, s.port);
    const ch = await conn.openChannel(0, ECHO);
    assert.ok(ch);
    const [a, b] = await within(3000, 'two concurrent close()', Promise.all([conn.close(), conn.close()]));
    assert.equal(typeof a, 'boolean');
    assert.equal(typeof b, 'boolean');
    assert.equal(await within(1000, 'openChannel after close', conn.openChannel(0, ECHO)), null);
    await assert.rejects(
      within(1000, 'request after close', ch.request('x')),
      (e: Error & { code?: string }) => typeof e.code === 'string' && e.code.startsWith('BEEP_ERR'),
    );
    await within(1000, 'whenWritable after end', conn.whenWritable());
    assert.equal(await within(1000, 'close() after close', conn.close()), false);
  },
);

// ---- re-entrance from handlers ------------------------------------------------------------

const REENTER = 'http://beepwire.test/reenter';
const CLOSE_NEVER = 'http://beepwire.test/close-never-settles';
let re: Server;
const reentered: string[] = [];
before(async () => {
  re = await startServer(
    (ctx) => {
      registerProfile(ctx, REENTER, {
        frameReceived: async (conn, ch, f) => {
          const what = f.text;
          if (what === 'close-channel-twice') {
            ch.sendRpy('ok', undefined, f.msgNo);
            const r = await Promise.all([ch.close(), ch.close()]);
            reentered.push(`close-channel-twice ${r}`);
            return;
          }
          if (what === 'send-after-close') {
            ch.sendRpy('ok', undefined, f.msgNo);
            const c = ch.close();
            const n = ch.sendMsg('late');
            reentered.push(`send-after-close ${n}`);
            await c;
            return;
          }
          if (what === 'conn-close') {
            ch.sendRpy('ok', undefined, f.msgNo);
            const r = await Promise.all([conn.close(), conn.close()]);
            reentered.push(`conn-close ${r}`);
            return;
          }
          if (what === 'open-from-handler') {
            const c = await conn.openChannel(0, ECHO);
            reentered.push(`open ${c === null ? 'null' : 'channel'}`);
            ch.sendRpy('ok', undefined, f.msgNo);
            return;
          }
          if (what === 'huge') {
            ch.sendRpy(new Uint8Array(8 << 20), undefined, f.msgNo);
            return;
          }
          if (what === 'window') {
            const out: string[] = [];
            for (const v of [0, -1, 1.5, NaN, Infinity, 2 ** 31, 1]) {
              try {
                ch.setWindowSize(v);
                out.push(`${v}:ok`);
              } catch (e) {
                out.push(`${v}:${(e as Error).name}`);
              }
            }
            reentered.push(`window ${out.join(',')}`);
            ch.sendRpy('ok', undefined, f.msgNo);
            return;
          }
          if (what === 'shutdown') {
            ch.sendRpy('ok', undefined, f.msgNo);
            conn.shutdown();
            conn.shutdown();
            reentered.push('shutdown');
          }
        },
      });
      registerProfile(ctx, CLOSE_NEVER, {
        close: () =>
          new Promise<boolean>(() => {
            /* never */
          }),
      });
    },
    { closeTimeout: 500, startTimeout: 500 },
  );
});
after(async () => {
  await re.close();
});

async function reenter(what: string): Promise<Peer> {
  const p = await attacker(REENTER, re);
  await p.write(p.frame('MSG', 1, 0, what));
  return p;
}

for (const what of ['close-channel-twice', 'send-after-close', 'open-from-handler', 'window']) {
  hostile(
    () => re,
    `frameReceived re-enters the API (${what}): no fault escapes, the session carries on`,
    async (t) => {
      const p = await reenter(what);
      // The peer answers a <close> or <start> the handler sends on channel 0.
      const deadline = Date.now() + 2000;
      while (Date.now() < deadline && !reentered.some((x) => x.startsWith(what.split('-')[0]!))) {
        const m = /MSG 0 (\d+) \. \d+ \d+\r\n[\s\S]*?<(close|start) number='(\d+)'/.exec(p.text);
        if (m !== null && !p.text.includes(`answered ${m[1]}`)) {
          p.text += `answered ${m[1]}`;
          await p.write(
            p.frame(
              'RPY',
              0,
              Number(m[1]),
              m[2] === 'close'
                ? 'Content-Type: application/beep+xml\r\n\r\n<ok/>'
                : `Content-Type: application/beep+xml\r\n\r\n<profile uri='${ECHO}'/>`,
            ),
          );
        }
        await sleep(20);
      }
      t.diagnostic(reentered.join('; '));
      await carriesOn(p, 5);
      p.destroy();
    },
  );
}

hostile(
  () => re,
  'frameReceived calls conn.close() twice concurrently: both settle (bounded by closeTimeout)',
  async () => {
    const p = await reenter('conn-close');
    await sleep(1500);
    assert.ok(
      reentered.some((x) => x.startsWith('conn-close')),
      `conn.close() x2 not settled after 1.5 s with closeTimeout 500: ${reentered.join('; ')}`,
    );
    p.destroy();
  },
);

hostile(
  () => re,
  'frameReceived calls conn.shutdown() twice: the session ends, nothing escapes',
  async () => {
    const p = await reenter('shutdown');
    assert.ok(await p.closedWithin(2000));
  },
);

hostile(
  () => re,
  'frameReceived replies with a payload over maxQueued (8 MiB): sent or refused, nothing escapes',
  async () => {
    const p = await reenter('huge');
    await sleep(500);
    p.destroy();
  },
);

hostile(
  () => re,
  "close handler that never settles: the peer's <close> is answered or the session dropped by a timer",
  async () => {
    const p = await attacker(CLOSE_NEVER, re);
    const msgno = p.msg0;
    await p.write(p.mgmt(`<close number='1' code='200'/>`));
    const deadline = Date.now() + 3000;
    let answered = false;
    while (Date.now() < deadline && !p.isClosed && !answered) {
      answered = new RegExp(`(RPY|ERR) 0 ${msgno} `).test(p.text);
      await sleep(20);
    }
    assert.ok(answered || p.isClosed, 'after 3 s the <close> is neither answered nor the session dropped: channel 0 is wedged');
    p.destroy();
  },
);

hostile(S, 'ctx.exit() of a client context from inside its own frameReceived: settles, nothing escapes', async () => {
  const ctx = new Ctx();
  const conn = await Connection.connect(ctx, LOCAL, s.port);
  let exited = false;
  const ch = await conn.openChannel(0, ECHO, {
    frameReceived: () => {
      void ctx.exit().then(() => {
        exited = true;
      });
    },
  });
  assert.ok(ch);
  ch.sendMsg('x');
  for (let i = 0; i < 100 && !exited; i++) await sleep(10);
  assert.ok(exited, 'ctx.exit() from a handler did not settle');
  assert.equal(conn.isOk(), false);
});

hostile(S, 'client iterates a channel twice concurrently: both iterators end when the channel closes', async () => {
  const conn = await Connection.connect(new Ctx(), LOCAL, s.port);
  const ch = await conn.openChannel(0, ECHO);
  assert.ok(ch);
  const drain = async (): Promise<number> => {
    let n = 0;
    for await (const _f of ch) n++;
    return n;
  };
  const a = drain(),
    b = drain();
  ch.sendMsg('one');
  ch.sendMsg('two');
  await sleep(200);
  conn.shutdown();
  const [x, y] = await within(2000, 'two concurrent iterators end', Promise.all([a, b]));
  assert.equal(x + y, 2, `frames seen by the two iterators: ${x} + ${y}`);
});

// ---- profile modules' handlers --------------------------------------------------------------

hostile(
  S,
  'alive.enableCheck onFailure throws a prototype-less object (peer lacks ALIVE): no uncaught exception from the timer',
  async () => {
    const conn = await Connection.connect(new Ctx(), LOCAL, s.port);
    let called = false;
    alive.enableCheck(conn, {
      checkPeriod: 10,
      maxUnreplyCount: 1,
      onFailure: () => {
        called = true;
        throw bare();
      },
    });
    for (let i = 0; i < 200 && !called; i++) await sleep(10);
    assert.ok(called, 'onFailure was called');
    conn.shutdown();
  },
);

hostile(
  S,
  'xmlrpc method handler throws a prototype-less object: invoke() settles (fault or error), the channel still answers',
  async () => {
    const ctx = new Ctx();
    xmlrpc.acceptXmlRpc(ctx, {
      methods: {
        bad: () => {
          throw bare();
        },
        ok: () => 1,
      },
    });
    const l = await createListener(ctx, LOCAL, 0);
    try {
      const conn = await Connection.connect(new Ctx(), LOCAL, l.port);
      const ch = await xmlrpc.bootChannel(conn, { resource: '/r' });
      assert.ok(ch);
      await within(
        2000,
        'invoke of a method that throws a bare object',
        xmlrpc.invoke(ch, 'bad').then(
          () => 'resolved',
          (e: unknown) => e,
        ),
      );
      assert.equal(await within(2000, 'invoke after the fault', xmlrpc.invoke(ch, 'ok')), 1);
      conn.shutdown();
    } finally {
      await ctx.exit();
    }
  },
);

// ---- re-entrance from onAccept, setOnClose and onError --------------------------------------

let rx: Server;
const rxLog: string[] = [];
before(async () => {
  rx = await startServer(
    (ctx) => {
      registerProfile(ctx, `${FR_THROWS_BARE}/err`, {
        frameReceived: () => {
          throw new Error('to onError');
        },
      });
    },
    {},
    {
      onAccept: (conn) => {
        if (rxMode === 'accept-shutdown') {
          conn.shutdown();
          conn.shutdown();
          rxLog.push('accept-shutdown');
        }
        if (rxMode === 'accept-open') {
          void conn.openChannel(0, ECHO).then((c) => rxLog.push(`accept-open ${c === null ? 'null' : 'channel'}`));
        }
        if (rxMode === 'onclose-reenter') {
          conn.setOnClose((c) => {
            void Promise.all([c.close(), c.openChannel(0, ECHO)]).then((r) => rxLog.push(`onclose-reenter ${r.map(String).join(',')}`));
            c.shutdown();
          });
        }
      },
    },
  );
  rx.ctx.setOnError((err, where) => {
    rx.onError.push({ err, where });
    if (rxMode === 'onerror-reenter') {
      where.conn?.shutdown();
      void where.channel?.close();
      rxLog.push('onerror-reenter');
    }
  });
});
let rxMode = '';
after(async () => {
  await rx.close();
});

for (const mode of ['accept-shutdown', 'accept-open', 'onclose-reenter', 'onerror-reenter']) {
  hostile(
    () => rx,
    `re-entrant API call from a hook (${mode}): settles, nothing escapes`,
    async () => {
      rxMode = mode;
      try {
        const p = await Peer.connect(rx.port);
        await p.waitFor(/<\/greeting>|.+/).catch(() => '');
        if (mode === 'onerror-reenter') {
          await p.greet();
          assert.equal(await p.start(1, `${FR_THROWS_BARE}/err`), 'RPY');
          await p.write(p.frame('MSG', 1, 0, 'x'));
        }
        if (mode === 'onclose-reenter') await p.greet();
        if (mode === 'accept-open') {
          await p.greet();
          await p.waitFor('<start');
        }
        await sleep(200);
        p.destroy();
        for (let i = 0; i < 100 && !rxLog.some((x) => x.startsWith(mode)); i++) await sleep(20);
        assert.ok(
          rxLog.some((x) => x.startsWith(mode)),
          `${mode}: not settled (${rxLog.join('; ')})`,
        );
      } finally {
        rxMode = '';
      }
    },
  );
}

// ---- other non-Error thrown values (sync and async) -----------------------------------------

/** Registers the profiles of THROWN on `s` (called from its setup: top-level before hooks may not see `s` yet). */
function registerThrown(ctx: Ctx): void {
  THROWN.forEach(([, v], i) => {
    registerProfile(ctx, `http://beepwire.test/throw-kind-${i}`, {
      frameReceived: () => {
        throw v();
      },
    });
    registerProfile(ctx, `http://beepwire.test/reject-kind-${i}`, {
      frameReceived: async () => {
        await sleep(1);
        throw v();
      },
    });
  });
}
for (const [i, [what]] of THROWN.entries()) {
  for (const how of ['throw', 'reject'] as const) {
    hostile(S, `frameReceived ${how}s ${what}: ERR 451, the session carries on`, async () => {
      const p = await Peer.connect(s.port);
      await p.greet();
      assert.equal(await p.start(1, `http://beepwire.test/${how}-kind-${i}`), 'RPY');
      assert.equal(await p.start(3, ECHO), 'RPY');
      await p.write(p.frame('MSG', 1, 0, 'trigger'));
      assert.equal((await p.reply(1, 0, 2000)).kw, 'ERR');
      await carriesOn(p);
      p.destroy();
    });
  }
}
