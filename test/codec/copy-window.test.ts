// The WASM codec copies a window of each chunk into its memory to read headers, and hands
// payload beyond the window over as the caller's bytes. A frame cut by the window's end reaches
// the session as a frame and its rest (onFrame with end false, then onData): reassembly, not
// the whole-frame path. How far the next window reaches decides how often that happens.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { WasmCodec, RefCodec } from '../../src/codec/index.js';
import type { FrameHandler, SessionCodec } from '../../src/codec/types.js';
import { collect, msgStream, openedWide } from './collect.js';

/** `s` as 64 KiB socket reads. */
function reads(s: Uint8Array): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let o = 0; o < s.length; o += 65536) out.push(s.subarray(o, o + 65536));
  return out;
}

/** Frames that came whole (onFrame with end) and cut (onFrame without end). */
function cuts(c: SessionCodec, chunks: Uint8Array[]): { whole: number; cut: number } {
  const n = { whole: 0, cut: 0 };
  const h: FrameHandler = {
    onFrame: (_t, _c, _m, _more, _s, _size, _a, _b, _o, _l, end) => {
      if (end) n.whole++;
      else n.cut++;
    },
    onData: () => {},
    onSeq: () => {},
    onSeqHint: () => {},
    onError: () => {
      throw new Error('poorly formed');
    },
  };
  for (const ch of chunks) c.decode(ch, h);
  return n;
}

test('4 KiB frames in 64 KiB chunks come whole but for the one each chunk ends in', () => {
  const sizes = Array.from({ length: 60 }, () => 4098);
  const s = msgStream(sizes);
  const chunks = reads(s);
  const n = cuts(openedWide(new WasmCodec()), chunks);
  assert.equal(n.whole + n.cut, 60);
  // Cut once by the first 16 KiB window, then by each chunk's end (4 chunks): a 1 KiB window
  // after every cut had cut 54 of 60.
  assert.ok(n.cut <= 6, `${n.cut} of 60 frames cut`);
  assert.deepEqual(collect(openedWide(new WasmCodec()), chunks), collect(openedWide(new RefCodec()), [s]), 'same events as the reference');
});

test('after a 64 KiB frame the window stays small (its payload is not copied), and small frames after it still decode', () => {
  const sizes = [65536, 65536, 10, 4098, 20, 65536, 3];
  const s = msgStream(sizes);
  const chunks = reads(s);
  assert.deepEqual(collect(openedWide(new WasmCodec()), chunks), collect(openedWide(new RefCodec()), [s]));
});
