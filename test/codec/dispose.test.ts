// A handler that disposes its codec mid-chunk (the session ended, e.g. a budget was exceeded)
// ends the decode call. Node reads at most 64 KiB, Bun more: a chunk longer than the input
// window after the disposal used to spin decode() forever on the freed slot.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { WasmCodec, instantiateCodec, type CodecModule, type FrameHandler } from '../../src/codec/index.js';
import { INPUT_SIZE } from '../../src/codec/layout.js';

const WASM = readFileSync(new URL('../../../build/codec.wasm', import.meta.url));

/** A fresh module whose decode export counts its calls and throws past `limit` (a runaway loop fails instead of hanging). */
function counted(limit: number): { m: CodecModule; calls: () => number } {
  const m = instantiateCodec(WASM);
  let calls = 0;
  const decode: CodecModule['exports']['decode'] = (slot, start, end) => {
    if (++calls > limit) throw new Error(`decode called ${calls} times for one chunk`);
    return m.exports.decode(slot, start, end);
  };
  return { m: { ...m, exports: { ...m.exports, decode } }, calls: () => calls };
}

/** Empty MSG frames on channel 0 (seqno stays 0) until `bytes` octets. */
function emptyFrames(bytes: number): Uint8Array {
  let s = '';
  for (let n = 0; s.length < bytes; n++) s += `MSG 0 ${n} . 0 0\r\nEND\r\n`;
  return Buffer.from(s, 'latin1');
}

for (const at of [1, 700, 5000]) {
  test(`a handler disposing the codec at frame ${at} of a ${2 * INPUT_SIZE}-octet chunk: decode returns false, nothing decoded or delivered after it`, () => {
    const { m, calls } = counted(64);
    const codec = new WasmCodec({}, m);
    codec.openChannel(0);
    let frames = 0,
      afterDispose = 0,
      callsAtDispose = -1;
    const handler: FrameHandler = {
      onFrame() {
        if (codec.failed) afterDispose++;
        if (++frames === at) {
          codec.dispose();
          callsAtDispose = calls();
        }
      },
      onData() {
        if (codec.failed) afterDispose++;
      },
      onSeq() {},
      onSeqHint() {},
      onError() {
        assert.fail('no error expected');
      },
    };
    assert.equal(codec.decode(emptyFrames(2 * INPUT_SIZE), handler), false);
    assert.equal(frames, at);
    assert.equal(afterDispose, 0);
    assert.equal(calls(), callsAtDispose, 'no decode call after the dispose');
  });
}
