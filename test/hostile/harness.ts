// Shared pieces of the hostile-peer suite (issue 9): fault recorders, a raw-socket attacker,
// a listener with an echo profile and a bystander session, memory probes, deadlines.
// Options the robustness contract (/work/contract.md) adds are passed loosely typed, so the
// suite compiles before they exist.
import { after, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { fulfilledWithin } from '../session/raw.js';
import v8 from 'node:v8';
import vm from 'node:vm';
import {
  Ctx,
  registerProfile,
  createListener,
  Connection,
  type Listener,
  type Channel,
  type CtxOptions,
  type ListenerOptions,
} from '../../src/index.js';

export const ECHO = 'http://beepwire.test/echo';
export const LOCAL = '127.0.0.1';
export const MiB = 1 << 20;
export const KiB = 1 << 10;

// ---- process faults ---------------------------------------------------------------------

/** Every uncaught exception and unhandled rejection seen in this test process. */
export const faults = { uncaught: [] as unknown[], rejections: [] as unknown[] };
let installed = false;

/** Installs the recorders (call once at the top of each test file). */
export function installFaultRecorders(): void {
  if (installed) return;
  installed = true;
  process.on('uncaughtException', (e) => {
    faults.uncaught.push(e);
  });
  process.on('unhandledRejection', (e) => {
    faults.rejections.push(e);
  });
}

const describe = (e: unknown): string => {
  const x = e as { name?: string; code?: string; message?: string };
  return `${x?.name ?? typeof e}${x?.code ? `[${x.code}]` : ''}: ${String(x?.message ?? e).split('\n')[0]}`;
};

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Lets pending callbacks, microtasks and late rejections run. */
export async function settle(ms = 100): Promise<void> {
  await new Promise((r) => setImmediate(r));
  await sleep(ms);
  await new Promise((r) => setImmediate(r));
}

/** Races `p` against a deadline; rejects with `what` when it passes. */
export async function within<T>(ms: number, what: string, p: Promise<T>): Promise<T> {
  let t: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([
      p,
      new Promise<never>((_, rej) => {
        t = setTimeout(() => rej(new Error(`${what}: not settled within ${ms} ms`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(t);
  }
}

// ---- memory -----------------------------------------------------------------------------

/** A full garbage collection: Bun's own under Bun (JavaScriptCore has no V8 flags), else V8's gc exposed at run time (the runner passes no --expose-gc). */
export const gc: () => void = (() => {
  const bun = (globalThis as { Bun?: { gc(sync: boolean): void } }).Bun;
  if (bun) return () => bun.gc(true);
  v8.setFlagsFromString('--expose-gc');
  return vm.runInNewContext('gc') as () => void;
})();

/** Memory after a full collection. */
export function memNow(): NodeJS.MemoryUsage {
  gc();
  gc();
  return process.memoryUsage();
}

/** Retained growth since `base` (after a full gc): external (incl. array buffers) + JS heap. */
export function held(base: NodeJS.MemoryUsage): { held: number; text: string } {
  const m = memNow();
  const ext = m.external - base.external,
    heap = m.heapUsed - base.heapUsed,
    rss = m.rss - base.rss,
    ab = m.arrayBuffers - base.arrayBuffers;
  const mb = (n: number): string => `${(n / MiB).toFixed(1)} MiB`;
  return {
    held: Math.max(0, ext) + Math.max(0, heap),
    text: `external ${mb(ext)} (arrayBuffers ${mb(ab)}), heapUsed ${mb(heap)}, rss ${mb(rss)}`,
  };
}

/** Octets a session holds in partly received messages (all channels). */
export function buffered(conn: Connection): number {
  let n = 0;
  for (const ch of conn.session.channels.values()) for (const p of ch.partials()) n += p.size;
  return n;
}

// ---- raw attacker -------------------------------------------------------------------------

/** A hostile peer on a raw socket: hand-made frames, everything received kept (up to `keep` octets). */
export class Peer {
  readonly socket: Socket;
  /** Our local port (kept: a closed socket forgets it). */
  readonly localPort: number;
  /** Received text (Latin-1), at most `keep` octets of it. */
  text = '';
  /** Octets received. */
  bytes = 0;
  /** Socket closed (by either side). */
  isClosed = false;
  readonly closed: Promise<void>;
  readonly #keep: number;
  readonly #seq = new Map<number, number>();
  /** Next msgno of our channel-0 MSGs. */
  msg0 = 1;

  private constructor(socket: Socket, keep: number) {
    this.socket = socket;
    this.localPort = socket.localPort ?? 0;
    socket.setNoDelay(true);
    this.#keep = keep;
    socket.on('data', (d: Buffer) => {
      this.bytes += d.length;
      if (this.text.length < this.#keep) this.text += d.toString('latin1', 0, Math.min(d.length, this.#keep - this.text.length));
    });
    socket.on('error', () => {
      /* seen as close */
    });
    this.closed = new Promise((res) =>
      socket.once('close', () => {
        this.isClosed = true;
        res();
      }),
    );
  }

  /** Connects to 127.0.0.1:port. `allowHalfOpen` keeps our side open after the listener's FIN. */
  static connect(port: number, o: { keep?: number; allowHalfOpen?: boolean } = {}): Promise<Peer> {
    return new Promise((resolve, reject) => {
      const s = connect({ host: LOCAL, port, allowHalfOpen: o.allowHalfOpen ?? false }, () => resolve(new Peer(s, o.keep ?? 1 << 20)));
      s.once('error', reject);
    });
  }

  /** A data frame with this peer's next seqno on the channel. */
  frame(kw: string, ch: number, msgno: number, payload: string | Uint8Array, more = '.', ansno?: number): Buffer {
    const body =
      typeof payload === 'string' ? Buffer.from(payload, 'latin1') : Buffer.from(payload.buffer, payload.byteOffset, payload.length);
    const seq = this.#seq.get(ch) ?? 0;
    this.#seq.set(ch, (seq + body.length) >>> 0);
    const head = `${kw} ${ch} ${msgno} ${more} ${seq} ${body.length}${ansno === undefined ? '' : ` ${ansno}`}\r\n`;
    return Buffer.concat([Buffer.from(head, 'latin1'), body, Buffer.from('END\r\n', 'latin1')]);
  }

  /** A channel-0 MSG with a management payload (binary allowed). */
  mgmt(xml: string | Uint8Array): Buffer {
    const head = Buffer.from('Content-Type: application/beep+xml\r\n\r\n', 'latin1');
    const body = typeof xml === 'string' ? Buffer.from(xml, 'utf8') : Buffer.from(xml);
    return this.frame('MSG', 0, this.msg0++, Buffer.concat([head, body]));
  }

  /** Writes; resolves false once the socket is closed, waits for 'drain' when asked to. */
  write(b: Buffer | string): Promise<boolean> {
    if (this.isClosed || this.socket.destroyed) return Promise.resolve(false);
    const ok = this.socket.write(typeof b === 'string' ? Buffer.from(b, 'latin1') : b);
    if (ok) return Promise.resolve(true);
    return new Promise((res) => {
      const done = (v: boolean): void => {
        this.socket.off('drain', onDrain);
        res(v);
      };
      const onDrain = (): void => done(true);
      this.socket.once('drain', onDrain);
      this.closed.then(
        () => done(false),
        () => done(false),
      );
    });
  }

  /** Waits until `pattern` is in the received text. */
  async waitFor(pattern: string | RegExp, ms = 3000): Promise<string> {
    const deadline = Date.now() + ms;
    for (;;) {
      const hit = typeof pattern === 'string' ? this.text.includes(pattern) : pattern.test(this.text);
      if (hit) return this.text;
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${pattern}; got ${JSON.stringify(this.text.slice(-300))}`);
      await sleep(5);
    }
  }

  /** Waits (bounded) for the first RPY/ERR/ANS/NUL answering MSG `msgno` on `ch`; its keyword and payload. */
  async reply(ch: number, msgno: number, ms = 3000): Promise<{ kw: string; payload: string }> {
    const re = new RegExp(`(RPY|ERR|ANS|NUL) ${ch} ${msgno} [.*] \\d+ (\\d+)[^\\r]*\\r\\n`, 'g');
    const deadline = Date.now() + ms;
    for (;;) {
      re.lastIndex = 0;
      const m = re.exec(this.text);
      if (m !== null && this.text.length >= m.index + m[0].length + Number(m[2])) {
        return { kw: m[1]!, payload: this.text.slice(m.index + m[0].length, m.index + m[0].length + Number(m[2])) };
      }
      if (this.isClosed) throw new Error(`session closed before a reply to MSG ${msgno} on channel ${ch}`);
      if (Date.now() > deadline)
        throw new Error(`no reply to MSG ${msgno} on channel ${ch} within ${ms} ms; got ${JSON.stringify(this.text.slice(-200))}`);
      await sleep(5);
    }
  }

  /** Occurrences of `re` (global) in the received text. */
  count(re: RegExp): number {
    return (this.text.match(re) ?? []).length;
  }

  /** True if the socket closed within `ms`. */
  closedWithin(ms: number): Promise<boolean> {
    return fulfilledWithin(this.closed, ms);
  }

  /** Our greeting (after the listener's). */
  async greet(profiles: string[] = []): Promise<void> {
    await this.waitFor('</greeting>');
    await this.write(
      this.frame(
        'RPY',
        0,
        0,
        `Content-Type: application/beep+xml\r\n\r\n<greeting>${profiles.map((p) => `<profile uri='${p}'/>`).join('')}</greeting>`,
      ),
    );
  }

  /** Starts channel `ch` on `profile` (optionally with piggybacked content); waits for the reply. */
  async start(ch: number, profile: string, content?: string): Promise<string> {
    const msgno = this.msg0;
    const inner = content === undefined ? `<profile uri='${profile}'/>` : `<profile uri='${profile}'><![CDATA[${content}]]></profile>`;
    await this.write(this.mgmt(`<start number='${ch}'>${inner}</start>`));
    const re = new RegExp(`(RPY|ERR) 0 ${msgno} \\. \\d+ \\d+\\r\\n`);
    await this.waitFor(re);
    return re.exec(this.text)![1]!;
  }

  /** Drops the connection. */
  destroy(): void {
    this.socket.destroy();
  }
  /** Resets the TCP connection (RST). */
  reset(): void {
    this.socket.resetAndDestroy();
  }
}

// ---- listener under attack --------------------------------------------------------------

/** A session the listener accepted, with the error it ended with. */
export interface Accepted {
  conn: Connection;
  /** Resolves with the error the session ended with (undefined: orderly). */
  ended: Promise<Error | undefined>;
  /** Set once ended. */
  done: boolean;
  err: Error | undefined;
}

/** A bystander: a session opened before the attack, with an echo channel. */
export interface Bystander {
  conn: Connection;
  ch: Channel;
  /** One echo round trip (bounded). */
  echoes(): Promise<void>;
}

/** A listener under attack. */
export interface Server {
  ctx: Ctx;
  listener: Listener;
  port: number;
  accepted: Accepted[];
  bystander: Bystander;
  /** Errors ctx.setOnError reported, when the API exists. */
  onError: Array<{ err: Error & { code?: string }; where: unknown }>;
  /** True when ctx.setOnError exists. */
  hasOnError: boolean;
  /** The listener side of a raw peer. */
  sessionOf(p: Peer): Promise<Accepted>;
  close(): Promise<void>;
}

/** Registers the echo profile on a context. */
export function echoProfile(ctx: Ctx): void {
  registerProfile(ctx, ECHO, {
    frameReceived: (_c, ch, f) => {
      if (f.type === 'MSG') ch.sendRpy(f.payload, undefined, f.msgNo);
    },
  });
}

let bystanderSeq = 0;

/** Opens a bystander session to `port`. */
export async function openBystander(port: number, opts: Record<string, unknown> = {}): Promise<Bystander> {
  const conn = await Connection.connect(new Ctx(opts as CtxOptions), LOCAL, port);
  assert.ok(conn.isOk(), `bystander could not connect: ${String(conn.popChannelError())}`);
  const ch = await conn.openChannel(0, ECHO);
  assert.ok(ch, 'bystander could not open its echo channel');
  return {
    conn,
    ch,
    async echoes() {
      const word = `bystander ${++bystanderSeq}`;
      assert.ok(conn.isOk(), `the bystander session is gone: ${String(conn.error?.message)}`);
      const f = await within(3000, 'bystander round trip', ch.request(word));
      assert.equal(f.text, word, 'bystander echo');
    },
  };
}

/** Starts a listener (echo profile plus `setup`) and a bystander on it. */
export async function startServer(
  setup: (ctx: Ctx) => void = () => {},
  ctxOpts: Record<string, unknown> = {},
  listenerOpts: ListenerOptions = {},
): Promise<Server> {
  const ctx = new Ctx(ctxOpts as CtxOptions);
  echoProfile(ctx);
  setup(ctx);
  const onError: Server['onError'] = [];
  const setOnError = (ctx as unknown as { setOnError?: (h: (err: Error, where: unknown) => void) => void }).setOnError;
  if (typeof setOnError === 'function')
    setOnError.call(ctx, (err, where) => {
      onError.push({ err, where });
    });
  const accepted: Accepted[] = [];
  const listener = await createListener(ctx, LOCAL, 0, {
    ...listenerOpts,
    onAccept: (conn) => {
      let resolve!: (e: Error | undefined) => void;
      const a: Accepted = {
        conn,
        ended: new Promise((r) => {
          resolve = r;
        }),
        done: false,
        err: undefined,
      };
      conn.setOnClose((_c, err) => {
        a.done = true;
        a.err = err;
        resolve(err);
      });
      accepted.push(a);
      listenerOpts.onAccept?.(conn);
    },
  });
  assert.ok(listener.isOk(), listener.errorMsg);
  const bystander = await openBystander(listener.port);
  return {
    ctx,
    listener,
    port: listener.port,
    accepted,
    bystander,
    onError,
    hasOnError: typeof setOnError === 'function',
    async sessionOf(p) {
      const port = p.localPort;
      for (let i = 0; i < 200; i++) {
        const a = accepted.find((x) => x.conn.port === port);
        if (a !== undefined) return a;
        await sleep(5);
      }
      throw new Error(`no listener session for local port ${port}`);
    },
    async close() {
      bystander.conn.shutdown();
      await ctx.exit();
    },
  };
}

/** The listener ended the attacker's session: the socket closed within `ms`, and the listener-side error code, if `code` is given. */
export async function assertEnded(s: Server, p: Peer, ms: number, code?: string | RegExp): Promise<void> {
  const a = await s.sessionOf(p);
  assert.ok(await p.closedWithin(ms), `the listener did not close the attacker's socket within ${ms} ms`);
  const err = await within(1000, 'listener onClose', a.ended);
  if (code !== undefined) {
    const got = (err as { code?: string } | undefined)?.code;
    assert.ok(
      typeof code === 'string' ? got === code : code.test(String(got)),
      `listener-side error code ${String(got)} (${err?.message}), expected ${code}`,
    );
  }
}

/**
 * Declares one attack. Afterwards: no uncaught exception or unhandled rejection appeared, and
 * the bystander still echoes. Bodies bound their own waits; `timeout` is a last resort.
 */
export function hostile(server: () => Server | Bystander, name: string, body: (t: TestContext) => Promise<void>, timeout = 15_000): void {
  test(name, { timeout }, async (t) => {
    const u0 = faults.uncaught.length,
      r0 = faults.rejections.length;
    let failure: unknown;
    try {
      await body(t);
    } catch (e) {
      failure = e;
    }
    await settle(100);
    const bad = [
      ...faults.uncaught.slice(u0).map((e) => `uncaught ${describe(e)}`),
      ...faults.rejections.slice(r0).map((e) => `unhandled rejection ${describe(e)}`),
    ];
    if (bad.length > 0) {
      throw new assert.AssertionError({
        message: `listener process faulted: ${bad.join('; ')}${failure ? ` (and: ${describe(failure)})` : ''}`,
      });
    }
    if (failure !== undefined) throw failure;
    const s = server();
    await ('bystander' in s ? s.bystander : s).echoes();
  });
}

/** Greets `srv` and opens channel 1 on `profile` and channel 3 on echo (a handler's victim and a witness). */
export async function profileAttacker(srv: Server, profile: string): Promise<Peer> {
  const p = await Peer.connect(srv.port);
  await p.greet();
  assert.equal(await p.start(1, profile), 'RPY', `start of ${profile}`);
  assert.equal(await p.start(3, ECHO), 'RPY', 'start of echo');
  return p;
}

/** The session carries on: an echo round trip on channel 3 of the same session. */
export async function carriesOn(p: Peer, msgno = 0): Promise<void> {
  await p.write(p.frame('MSG', 3, msgno, 'still alive'));
  const r = await p.reply(3, msgno, 2000);
  assert.equal(r.kw, 'RPY');
  assert.match(r.payload, /still alive/);
  assert.equal(p.isClosed, false);
}

/**
 * Fresh listeners for a file whose attacks each need their own settings: `serve()` starts one
 * (startServer's arguments) and makes it `current()`; all are closed after the file.
 */
export function listenerPool(): { serve: (...args: Parameters<typeof startServer>) => Promise<Server>; current: () => Server } {
  let cur: Server | undefined;
  const all: Server[] = [];
  after(async () => {
    for (const x of all) await x.close();
  });
  return {
    serve: async (...args) => {
      cur = await startServer(...args);
      all.push(cur);
      return cur;
    },
    current: () => cur!,
  };
}
