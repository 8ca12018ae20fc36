// Capacity benchmark, client process: opens idle beepwire sessions (or bare node:net sockets)
// from several 127.0.0.0/8 source addresses, driven over IPC by capacity.bench.js.
import { connect as netConnect, type Socket } from 'node:net';
import { writeHeapSnapshot } from 'node:v8';
import { Ctx, Connection, BeepReplyError, registerProfile, createListener } from '../src/index.js';
import { loadCodec } from '../src/codec/index.js';
import { nodeTransport } from '../src/transport/node.js';
import { ECHO_PROFILE, readMemory, serve, emit, countFds } from './capacity-common.js';

let mode: 'beep' | 'bare' = 'beep';
let ctx: Ctx | undefined;
const conns: Connection[] = [];
const sockets: Socket[] = [];
let addrTurn = 0;

/** How one attempt ended. */
type Outcome = { ok: true } | { ok: false; why: string };

function why(e: unknown): string {
  if (e instanceof BeepReplyError) return `greeting ERR ${e.replyCode}`;
  const err = e as Error & { code?: string };
  return err?.code ?? String(err?.message ?? e).slice(0, 60);
}

/** One beepwire session from `localAddress` (Connection.connect has no localAddress option). */
function openBeep(host: string, port: number, localAddress: string, timeoutMs: number): Promise<Outcome> {
  const socket = netConnect({ host, port, localAddress });
  const conn = new Connection(ctx!, 'initiator', nodeTransport(socket));
  conn.session.start({ profiles: [] });
  return new Promise<Outcome>((resolve) => {
    const t = setTimeout(() => {
      conn.shutdown();
      resolve({ ok: false, why: 'timeout' });
    }, timeoutMs);
    conn.session.mgmt.ready.then(
      () => {
        clearTimeout(t);
        if (conn.session.ended) {
          resolve({ ok: false, why: 'ended after greeting' });
          return;
        }
        conns.push(conn);
        resolve({ ok: true });
      },
      (e: unknown) => {
        clearTimeout(t);
        conn.shutdown();
        resolve({ ok: false, why: why(e) });
      },
    );
  });
}

/** One bare socket: counted once the server's first octets arrive. */
function openBare(host: string, port: number, localAddress: string, timeoutMs: number): Promise<Outcome> {
  const s = netConnect({ host, port, localAddress, noDelay: true });
  return new Promise<Outcome>((resolve) => {
    let done = false;
    const finish = (o: Outcome): void => {
      if (done) return;
      done = true;
      clearTimeout(t);
      resolve(o);
    };
    const t = setTimeout(() => {
      s.destroy();
      finish({ ok: false, why: 'timeout' });
    }, timeoutMs);
    s.once('data', () => {
      sockets.push(s);
      finish({ ok: true });
    });
    s.on('data', () => {
      /* idle */
    });
    s.on('error', (e) => {
      s.destroy();
      finish({ ok: false, why: why(e) });
    });
    s.on('close', () => finish({ ok: false, why: 'closed before data' }));
  });
}

async function open(req: {
  host: string;
  port: number;
  count: number;
  localAddresses: string[];
  concurrency: number;
  timeoutMs: number;
  deadlineMs: number;
}): Promise<Record<string, unknown>> {
  const t0 = performance.now();
  const deadline = t0 + req.deadlineMs;
  let started = 0,
    ok = 0,
    failed = 0;
  const reasons: Record<string, number> = {};
  const one = async (): Promise<void> => {
    while (started < req.count && performance.now() < deadline) {
      started++;
      const la = req.localAddresses[addrTurn++ % req.localAddresses.length]!;
      const o =
        mode === 'beep' ? await openBeep(req.host, req.port, la, req.timeoutMs) : await openBare(req.host, req.port, la, req.timeoutMs);
      if (o.ok) {
        ok++;
        if (ok % 1000 === 0) emit('progress', { ok });
      } else {
        failed++;
        reasons[o.why] = (reasons[o.why] ?? 0) + 1;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(req.concurrency, req.count)) }, one));
  return { opened: ok, failed, reasons, notStarted: req.count - started, ms: performance.now() - t0, held: held(), fds: countFds() };
}

function held(): number {
  return mode === 'beep' ? conns.filter((c) => c.isOk()).length : sockets.filter((s) => !s.destroyed).length;
}

serve({
  start: (r) => {
    mode = r.mode as 'beep' | 'bare';
    if (mode === 'beep') {
      if (r.codec === 'wasm') loadCodec();
      ctx = new Ctx({ codec: r.codec as 'wasm' | 'ref' });
      ctx.init();
    }
    return { fds: countFds() };
  },
  open: (r) => open(r as unknown as Parameters<typeof open>[0]),
  held: () => ({ held: held(), fds: countFds() }),
  mem: async (r) => ({ mem: await readMemory(Number(r.settleMs ?? 500)), held: held() }),
  /** Closes `count` held sessions (abruptly: socket destroyed) and waits until they are gone. */
  close: async (r) => {
    const n = Number(r.count);
    const victims = mode === 'beep' ? conns.splice(0, n) : sockets.splice(0, n);
    for (const v of victims)
      if (mode === 'beep') (v as Connection).shutdown();
      else (v as Socket).destroy();
    return { closed: victims.length, held: held() };
  },
  /** Opens a session and a channel on the echo profile, then times `rounds` round trips. */
  snapshot: (r) => {
    (globalThis as { gc?: () => void }).gc?.();
    return { file: writeHeapSnapshot(String(r.file)) };
  },
  rtt: async (r) => rtt(String(r.host), Number(r.port), Number(r.rounds ?? 20)),
});

/**
 * Warms this process's client paths (JIT) against a listener of its own, so the timed round
 * trips measure the loaded listener rather than the bystander's first-call compilation.
 */
async function warmUp(): Promise<void> {
  const lctx = new Ctx();
  registerProfile(lctx, ECHO_PROFILE, {
    frameReceived: (_c, ch, f) => {
      if (f.type === 'MSG') ch.sendRpy(f.payload, f.payloadSize, f.msgNo);
    },
  });
  const l = await createListener(lctx, '127.0.0.1', 0);
  try {
    for (let k = 0; k < 3; k++) {
      const conn = await Connection.connect(new Ctx(), '127.0.0.1', l.port, { connectTimeout: 5000, greetingTimeout: 5000 });
      const ch = conn.isOk() ? await conn.openChannel(0, ECHO_PROFILE) : null;
      for (let i = 0; ch !== null && i < 50; i++)
        await Promise.race([ch.request('x'.repeat(64)), new Promise((res) => setTimeout(res, 2000))]);
      conn.shutdown();
    }
  } finally {
    await Promise.race([lctx.exit(), new Promise((res) => setTimeout(res, 2000))]);
  }
}

async function rtt(host: string, port: number, rounds: number): Promise<Record<string, unknown>> {
  await warmUp();
  const c = new Ctx();
  const t0 = performance.now();
  const conn = await Connection.connect(c, host, port, { connectTimeout: 5000, greetingTimeout: 5000 });
  const connectMs = performance.now() - t0;
  if (!conn.isOk()) return { passed: false, connectMs, error: conn.popChannelError() };
  const ch = await conn.openChannel(0, ECHO_PROFILE);
  const startMs = performance.now() - t0 - connectMs;
  if (ch === null) {
    conn.shutdown();
    return { passed: false, connectMs, error: conn.popChannelError() };
  }
  const times: number[] = [];
  const payload = 'x'.repeat(64);
  for (let i = 0; i < rounds; i++) {
    const a = performance.now();
    const f = await Promise.race([ch.request(payload), new Promise<null>((res) => setTimeout(() => res(null), 5000))]);
    if (f === null || f.text !== payload) {
      conn.shutdown();
      return { passed: false, connectMs, startMs, times, error: f === null ? 'echo timed out' : 'echo mismatch' };
    }
    times.push(performance.now() - a);
  }
  conn.shutdown();
  return { passed: true, connectMs, startMs, times };
}
