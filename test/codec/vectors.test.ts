// Golden wire vectors (test/vectors/frames.json): each vector is decoded by both codecs,
// re-encoded and compared as hex, round-tripped, and split at every byte offset.
// BEEPWIRE_REGENERATE=1 rewrites the `expect` fields from the reference codec.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { createCodec, type CodecImpl } from '../../src/codec/index.js';
import type { SessionCodec } from '../../src/codec/types.js';
import * as L from '../../src/codec/layout.js';
import { collect, splitAt, latin1, type Ev } from './collect.js';

interface Vector {
  name: string;
  note: string;
  wire: string;
  encode?: boolean;
  setup?: { limits?: { maxHeader?: number; maxFrame?: number }; channels?: number[]; seq?: Record<string, [number, number]> };
  expect?: unknown[];
}
const FILE = new URL('../../../test/vectors/frames.json', import.meta.url);
const doc = JSON.parse(readFileSync(FILE, 'utf8')) as { about: string; vectors: Vector[] };
const REGENERATE = process.env.BEEPWIRE_REGENERATE === '1';

const TYPES = ['', 'MSG', 'RPY', 'ERR', 'ANS', 'NUL', 'SEQ'];
const STATUS = Object.fromEntries(
  Object.entries(L)
    .filter(([k]) => k.startsWith('S_'))
    .map(([k, v]) => [v, k]),
) as Record<number, string>;
const toText = (h: string): string => String.fromCharCode(...Buffer.from(h, 'hex'));

/** Events in the vector file's readable form. */
function named(evs: Ev[]): unknown[] {
  return evs.map((e) => {
    switch (e.kind) {
      case 'frame':
        return {
          frame: TYPES[e.type],
          channel: e.channel,
          msgno: e.msgno,
          more: e.more,
          seqno: e.seqno,
          size: e.size,
          ...(e.type === L.T_ANS ? { ansno: e.ansno } : {}),
          payload: toText(e.payload),
          ...(e.end ? {} : { end: false }),
        };
      case 'seq':
        return { seq: e.channel, ackno: e.ackno, window: e.window };
      case 'hint':
        return { hint: e.channel, ackno: e.ackno, unacked: e.unacked };
      case 'error':
        return { error: STATUS[e.status], channel: e.channel, offset: e.offset };
      default:
        return e;
    }
  });
}

const live: SessionCodec[] = [];
after(() => {
  for (const c of live) c.dispose();
});

function setup(v: Vector, impl: CodecImpl): SessionCodec {
  const c = createCodec(v.setup?.limits ?? {}, impl);
  live.push(c);
  for (const ch of v.setup?.channels ?? [0, 1]) c.openChannel(ch);
  for (const [ch, [r, s]] of Object.entries(v.setup?.seq ?? {})) c.setSeqState(Number(ch), r, s);
  return c;
}

/** Re-encodes expected events into wire bytes with the encoder under test. */
function encode(v: Vector, impl: CodecImpl, expect: unknown[]): Uint8Array {
  const c = setup(v, impl);
  const parts: Uint8Array[] = [];
  for (const e of expect as Record<string, unknown>[]) {
    if ('frame' in e) {
      const ch = e.channel as number;
      c.setSeqState(ch, c.recvState(ch).next, e.seqno as number);
      parts.push(
        c
          .encodeFrame(
            TYPES.indexOf(e.frame as string),
            ch,
            e.msgno as number,
            e.more as boolean,
            e.size as number,
            (e.ansno as number) ?? 0,
          )
          .slice(),
      );
      parts.push(latin1(e.payload as string), latin1('END\r\n'));
    } else if ('seq' in e) {
      const ch = e.seq as number;
      c.setSeqState(ch, e.ackno as number, c.sendState(ch).next);
      parts.push(c.encodeSeq(ch, e.ackno as number, e.window as number).slice());
    }
  }
  return Buffer.concat(parts);
}

let checks = 0;
for (const v of doc.vectors) {
  const wire = latin1(v.wire);
  if (REGENERATE) v.expect = named(collect(setup(v, 'ref'), [wire]));
  const expect = v.expect!;
  for (const impl of ['wasm', 'ref'] as const) {
    test(`vector ${v.name} [${impl}]: decode`, () => {
      assert.deepEqual(named(collect(setup(v, impl), [wire])), expect, v.note);
      checks++;
    });
    test(`vector ${v.name} [${impl}]: split at every offset`, () => {
      for (let i = 1; i < wire.length; i++) {
        assert.deepEqual(named(collect(setup(v, impl), splitAt(wire, i))), expect, `${v.note} (split at ${i})`);
      }
      if (wire.length <= 512) {
        const bytes = Array.from({ length: wire.length }, (_, i) => wire.subarray(i, i + 1));
        assert.deepEqual(named(collect(setup(v, impl), bytes)), expect, `${v.note} (one octet at a time)`);
      }
      checks++;
    });
    const complete = expect.every((e) => !('error' in (e as object)) && (e as { end?: boolean }).end !== false);
    if (v.encode !== false && complete) {
      test(`vector ${v.name} [${impl}]: encode (hex)`, () => {
        const data = expect.filter((e) => !('hint' in (e as object)));
        assert.equal(Buffer.from(encode(v, impl, data)).toString('hex'), Buffer.from(wire).toString('hex'), v.note);
        checks++;
      });
      test(`vector ${v.name} [${impl}]: round trip`, () => {
        const data = expect.filter((e) => !('hint' in (e as object)));
        assert.deepEqual(named(collect(setup(v, impl), [encode(v, impl, data)])), expect, v.note);
        checks++;
      });
    }
  }
}

after(() => {
  if (REGENERATE) {
    writeFileSync(FILE, `${JSON.stringify(doc, null, 1)}\n`);
    console.log(`regenerated ${doc.vectors.length} vectors in test/vectors/frames.json`);
  }
  console.log(`codec vectors: ${doc.vectors.length} vectors, ${checks} vector checks`);
});
