// Bounded random-input soak of Session.receive on both codecs ('wasm' and 'ref'): valid
// streams (greeting, starts, fragmented MSGs, SEQ, closes), the same mutated, and random octets,
// each fed in chunks split at random points. Nothing may escape receive() and no rejection may go
// unhandled; outcomes (alive / ended with code) are counted, and the two codecs compared.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Session, type SessionIO } from '../../src/index.js';
import type { ChannelState } from '../../src/session/channel-state.js';
import { faults, installFaultRecorders } from '../hostile/harness.js';
import { Rng, mutateBytes, seed, split } from './rand.js';

installFaultRecorders();

const ECHO = 'http://beepwire.test/echo';
const BUDGET_MS = 2500;
const MAX_ITER = 4000;

class NullIO implements SessionIO {
  out = 0;
  write(a: Uint8Array, b?: Uint8Array, c?: Uint8Array, d?: Uint8Array): boolean {
    this.out += a.length + (b?.length ?? 0) + (c?.length ?? 0) + (d?.length ?? 0);
    return true;
  }
  end(): void {}
  abort(): void {}
}

const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

/** A plausible initiator's stream in segments (the peer waits between them, as for replies). */
function segments(r: Rng, clean: boolean): Uint8Array[] {
  const seq = new Map<number, number>();
  const frame = (kw: string, ch: number, msgno: number, payload: string, more = '.', ansno?: number): string => {
    const s = seq.get(ch) ?? 0;
    const n = Buffer.byteLength(payload);
    seq.set(ch, s + n);
    return `${kw} ${ch} ${msgno} ${more} ${s} ${n}${ansno === undefined ? '' : ` ${ansno}`}\r\n${payload}END\r\n`;
  };
  const mgmt = (xml: string): string => `Content-Type: application/beep+xml\r\n\r\n${xml}`;
  const segs: string[] = [];
  segs.push(frame('RPY', 0, 0, mgmt(`<greeting><profile uri='${ECHO}'/></greeting>`)) + (r.chance(0.3) ? 'SEQ 0 0 65536\r\n' : ''));
  let m0 = 1;
  const chans = [1, 3, 5].slice(0, 1 + r.int(3));
  segs.push(
    chans
      .map((c) =>
        frame(
          'MSG',
          0,
          m0++,
          mgmt(
            `<start number='${c}'${r.chance(0.2) ? " serverName='x'" : ''}><profile uri='${clean || r.chance(0.85) ? ECHO : 'http://nope'}'${r.chance(0.2) ? '><![CDATA[hi]]></profile>' : '/>'}</start>`,
          ),
        ),
      )
      .join(''),
  );
  let traffic = '';
  for (const c of chans) {
    const msgs = 1 + r.int(4);
    for (let m = 0; m < msgs; m++) {
      const body = `${r.chance(0.5) ? 'Content-Type: text/plain\r\n' : ''}\r\n${'x'.repeat(r.int(300))}`;
      const pieces = 1 + r.int(3);
      const cut = Math.ceil(body.length / pieces);
      for (let k = 0; k < pieces; k++) traffic += frame('MSG', c, m, body.slice(k * cut, (k + 1) * cut), k === pieces - 1 ? '.' : '*');
      if (r.chance(0.3)) traffic += `SEQ ${c} 0 ${4096 + r.int(100000)}\r\n`;
    }
    if (!clean && r.chance(0.1)) traffic += frame(r.pick(['RPY', 'ERR', 'NUL']), c, 99, '');
    if (!clean && r.chance(0.1)) traffic += frame('ANS', c, 0, 'a', '.', 0);
  }
  segs.push(traffic);
  if (r.chance(0.4)) segs.push(chans.map((c) => frame('MSG', 0, m0++, mgmt(`<close number='${c}' code='200'/>`))).join(''));
  if (r.chance(0.2)) segs.push(frame('MSG', 0, m0++, mgmt(`<close number='0' code='200'/>`)));
  return segs.map((s) => Buffer.from(s, 'latin1'));
}

/** Builds one case: valid, mutated, or random octets (after a valid greeting or not). */
function caseFor(r: Rng): { kind: string; segs: Uint8Array[] } {
  const k = r.int(10);
  const segs = segments(r, k < 2);
  if (k < 2) return { kind: 'valid', segs };
  if (k < 8) {
    const which = r.int(segs.length);
    return { kind: 'mutated', segs: segs.map((s, i) => (i === which || r.chance(0.15) ? mutateBytes(r, s, 4) : s)) };
  }
  if (k < 9) return { kind: 'random-after-greeting', segs: [segs[0]!, r.bytes(1 + r.int(600))] };
  return { kind: 'random', segs: [r.bytes(1 + r.int(600))] };
}

/** Feeds a case to a fresh session; the outcome, and any throw that escaped receive(). */
async function run(codec: 'wasm' | 'ref', c: { segs: Uint8Array[] }, r: Rng): Promise<{ outcome: string; escaped?: unknown }> {
  const io = new NullIO();
  let session!: Session;
  session = new Session(
    io,
    {
      start: (req) => (req.profiles.some((p) => p.uri === ECHO) ? { accept: true, uri: ECHO } : { accept: false, code: 554, text: 'no' }),
      channelOpened: (ch: ChannelState) => {
        ch.onMessage = (m) => {
          if (m.type === 'MSG') {
            try {
              session.sendReply(ch, 'RPY', m.msgno, m.content);
            } catch {
              /* channel closing: not the subject here */
            }
          }
        };
      },
    },
    { role: 'listener', codec },
  );
  session.start({ profiles: [ECHO] });
  let escaped: unknown;
  try {
    for (const seg of c.segs) {
      for (const piece of split(r, seg)) session.receive(piece);
      await tick();
    }
  } catch (e) {
    escaped = e;
  }
  const outcome = session.ended ? `ended:${(session.error as { code?: string } | undefined)?.code ?? 'orderly'}` : 'alive';
  session.abort();
  return { outcome, escaped };
}

test(`soak: Session.receive on wasm and ref codecs, random and mutated streams split at random points (<= ${BUDGET_MS} ms, seeded)`, async (t) => {
  const s0 = seed(0x5eed_b33f);
  const r = new Rng(s0);
  const u0 = faults.uncaught.length,
    r0 = faults.rejections.length;
  const counts = new Map<string, number>();
  const escapes: string[] = [];
  let mismatches = 0,
    iter = 0;
  const firstMismatch: string[] = [];
  const t0 = Date.now();
  while (iter < MAX_ITER && Date.now() - t0 < BUDGET_MS) {
    iter++;
    const c = caseFor(r);
    const splitSeed = r.int(2 ** 31);
    const w = await run('wasm', c, new Rng(splitSeed));
    const f = await run('ref', c, new Rng(splitSeed));
    for (const [codec, res] of [
      ['wasm', w],
      ['ref', f],
    ] as const) {
      const key = `${codec} ${c.kind} -> ${res.outcome}`;
      counts.set(key, (counts.get(key) ?? 0) + 1);
      if (res.escaped !== undefined)
        escapes.push(`${codec} ${c.kind}: ${(res.escaped as Error)?.name}: ${(res.escaped as Error)?.message}`);
    }
    if (w.outcome !== f.outcome) {
      mismatches++;
      if (firstMismatch.length < 3) firstMismatch.push(`${c.kind}: wasm ${w.outcome} vs ref ${f.outcome}`);
    }
  }
  t.diagnostic(`seed ${s0}, ${iter} cases x 2 codecs in ${Date.now() - t0} ms`);
  for (const [k, n] of [...counts].sort()) t.diagnostic(`  ${k}: ${n}`);
  t.diagnostic(`codec outcome mismatches (informational): ${mismatches}${firstMismatch.length ? ` e.g. ${firstMismatch.join('; ')}` : ''}`);
  await tick();
  const bad = [...faults.uncaught.slice(u0), ...faults.rejections.slice(r0)].map((e) => `${(e as Error)?.name}: ${(e as Error)?.message}`);
  const validEnded = [...counts].filter(([k]) => / valid -> ended/.test(k)).reduce((n, [, v]) => n + v, 0);
  assert.equal(validEnded, 0, `${validEnded} valid streams ended their session`);
  assert.equal(escapes.length, 0, `${escapes.length} throws escaped receive(); first: ${escapes[0]}`);
  assert.equal(bad.length, 0, `${bad.length} uncaught/unhandled; first: ${bad[0]}`);
});
