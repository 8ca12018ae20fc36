// Capacity benchmark, in-memory process: greeted, idle sans-I/O Sessions wired back to back in
// pairs (initiator + listener) over an in-memory SessionIO, no sockets. Reports memory per
// session at checkpoints; a failure to create a session (codec capacity) is caught and
// reported with the count it happened at. Driven over IPC by capacity.bench.js.
import { Session, type SessionIO } from '../src/index.js';
import { loadCodec } from '../src/codec/index.js';
import { ECHO_PROFILE, readMemory, serve, emit, type MemReading } from './capacity-common.js';

const dirty = new Set<MemPipe>();

/** Delivers one session's writes to its peer when pumped (copies: frame headers are views). */
class MemPipe implements SessionIO {
  peer!: Session;
  q: Uint8Array[] | undefined;
  write(a: Uint8Array, b?: Uint8Array, c?: Uint8Array, d?: Uint8Array): boolean {
    const q = (this.q ??= []);
    q.push(a.slice());
    if (b !== undefined) q.push(b.slice());
    if (c !== undefined) q.push(c.slice());
    if (d !== undefined) q.push(d.slice());
    dirty.add(this);
    return true;
  }
  end(): void {
    /* in memory */
  }
}

const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

/** Delivers queued bytes until nothing moves (bounded rounds). */
async function pump(maxRounds = 50): Promise<void> {
  for (let i = 0; i < maxRounds; i++) {
    await tick();
    if (dirty.size === 0) return;
    const ps = [...dirty];
    dirty.clear();
    for (const p of ps) {
      const q = p.q!;
      p.q = undefined;
      for (const part of q) p.peer.receive(part);
    }
  }
}

const sessions: Session[] = [];

async function run(req: {
  codec: 'wasm' | 'ref';
  target: number;
  checkpoints: number[];
  batch: number;
  deadlineMs: number;
  settleMs: number;
}): Promise<Record<string, unknown>> {
  if (req.codec === 'wasm') loadCodec();
  const deadline = performance.now() + req.deadlineMs;
  const base = await readMemory(req.settleMs);
  const points: Array<{ sessions: number; greeted: number; mem: MemReading; ms: number }> = [];
  let failure: { at: number; error: string } | undefined;
  const t0 = performance.now();
  const cps = [...req.checkpoints].sort((a, b) => a - b);
  let greetedCount = 0;
  outer: while (sessions.length < req.target) {
    if (performance.now() > deadline) {
      failure = { at: sessions.length, error: `deadline of ${req.deadlineMs} ms reached` };
      break;
    }
    const batchStart = sessions.length;
    const pairs = Math.min(req.batch, (req.target - sessions.length) >> 1);
    for (let i = 0; i < pairs; i++) {
      let initiator: Session, listener: Session;
      const ia = new MemPipe(),
        lb = new MemPipe();
      try {
        listener = new Session(lb, {}, { role: 'listener', codec: req.codec });
        sessions.push(listener);
        initiator = new Session(ia, {}, { role: 'initiator', codec: req.codec });
        sessions.push(initiator);
      } catch (e) {
        failure = { at: sessions.length, error: `${(e as Error).name}: ${(e as Error).message}` };
        // A half-made pair cannot greet: drop the listener whose initiator failed.
        if (sessions.length % 2 === 1) sessions.pop()!.abort();
        break outer;
      }
      ia.peer = listener;
      lb.peer = initiator;
      listener.start({ profiles: [ECHO_PROFILE] });
      initiator.start({ profiles: [] });
    }
    await pump();
    for (let i = batchStart; i < sessions.length; i++) if (sessions[i]!.mgmt.greeted) greetedCount++;
    const n = sessions.length;
    if (n % 10_000 < req.batch * 2) emit('progress', { sessions: n, greeted: greetedCount });
    if (cps.length > 0 && n >= cps[0]!) {
      while (cps.length > 0 && n >= cps[0]!) cps.shift();
      points.push({ sessions: n, greeted: greetedCount, mem: await readMemory(req.settleMs), ms: performance.now() - t0 });
    }
  }
  await pump();
  greetedCount = sessions.filter((x) => x.mgmt.greeted).length;
  if (failure !== undefined && (points.length === 0 || points[points.length - 1]!.sessions !== sessions.length)) {
    points.push({ sessions: sessions.length, greeted: greetedCount, mem: await readMemory(req.settleMs), ms: performance.now() - t0 });
  }
  return { base, points, failure, reached: sessions.length, greeted: greetedCount };
}

serve({ run: (r) => run(r as unknown as Parameters<typeof run>[0]) });
