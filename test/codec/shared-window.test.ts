// Every WasmCodec in a process shares one instance and one input window. A session whose
// chunk ends inside a frame header keeps those octets until its next chunk; another session
// decoding in between must not change them (it did: the partial header stayed in the shared
// window, so a listener with two busy sessions saw "poorly formed frame" on a correct stream).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { WasmCodec, RefCodec } from '../../src/codec/index.js';
import { collect, recorder, msgStream, openedWide } from './collect.js';

test('two WASM sessions: a header split across chunks survives the other session decoding in between', () => {
  const a = openedWide(new WasmCodec()),
    b = openedWide(new WasmCodec());
  const ra = recorder(),
    rb = recorder();
  const sa = msgStream([5, 7], 0x61),
    sb = msgStream([3, 3, 3], 0x62);
  a.decode(sa.subarray(0, 32), ra.handler); // ends inside the second header ("MSG 1 1")
  b.decode(sb, rb.handler); // another session uses the shared window meanwhile
  a.decode(sa.subarray(32), ra.handler);
  assert.deepEqual(ra.out, collect(openedWide(new RefCodec()), [sa]));
  assert.deepEqual(rb.out, collect(openedWide(new RefCodec()), [sb]));
  for (const c of [a, b]) c.dispose();
});

test('interleaved sessions under random chunkings decode as each would alone (reference codec)', () => {
  const sizes = fc.array(fc.oneof(fc.nat(40), fc.integer({ min: 1000, max: 20000 })), { minLength: 1, maxLength: 12 });
  fc.assert(
    fc.property(sizes, sizes, fc.array(fc.nat(), { maxLength: 60 }), (s1, s2, cuts) => {
      const streams = [msgStream(s1, 0x61), msgStream(s2, 0x62)];
      const codecs = [openedWide(new WasmCodec()), openedWide(new WasmCodec())];
      const recs = [recorder(), recorder()];
      const pos = [0, 0];
      // Alternate between the sessions, each time taking the next cut's worth of octets.
      // Two of each: indexes 0 and 1 below are always present.
      for (let i = 0; pos[0]! < streams[0]!.length || pos[1]! < streams[1]!.length; i++) {
        const k = i % 2,
          s = streams[k]!;
        if (pos[k]! >= s.length) continue;
        const n = 1 + ((cuts[i % Math.max(1, cuts.length)] ?? 7) % 97);
        codecs[k]!.decode(s.subarray(pos[k]!, Math.min(s.length, pos[k]! + n)), recs[k]!.handler);
        pos[k]! += n;
      }
      for (let k = 0; k < 2; k++) assert.deepEqual(recs[k]!.out, collect(openedWide(new RefCodec()), [streams[k]!]));
      for (const c of codecs) c.dispose();
    }),
    { numRuns: 300 },
  );
});
