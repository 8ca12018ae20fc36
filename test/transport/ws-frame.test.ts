// WsFrameWriter against ws's own frame parser (its Receiver): every length form of RFC 6455
// §5.2, masked (client) and unmasked (listener), parts of odd lengths so the key's phase moves
// between parts, small parts copied and large ones by reference, slabs used again only after
// the socket took the write.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as wsPackage from 'ws';
import { WsFrameWriter, jsMask, headerSize, writeHeader, type FrameSocket } from '../../src/transport/ws-frame.js';
import { testNeeding } from '../runtime-limits.js';

/** A socket that records what was written, calling the write callbacks when `release()` says. */
class Recorder implements FrameSocket {
  chunks: Uint8Array[] = [];
  corked = 0;
  #pending: Array<() => void> = [];
  cork(): void {
    this.corked++;
  }
  uncork(): void {
    this.corked--;
  }
  write(chunk: Uint8Array, cb?: (err?: Error | null) => void): boolean {
    this.chunks.push(chunk);
    if (cb !== undefined) this.#pending.push(() => cb(null));
    return true;
  }
  /** The octets written so far, copied now. */
  bytes(): Buffer {
    return Buffer.concat(this.chunks.map((c) => Buffer.from(c)));
  }
  release(): void {
    for (const f of this.#pending.splice(0)) f();
  }
}

interface ReceiverLike {
  on(ev: 'message', f: (data: Buffer, binary: boolean) => void): void;
  on(ev: 'error', f: (e: Error) => void): void;
  write(b: Buffer, cb?: () => void): void;
}
// ws exports its Receiver (lib/receiver.js); @types/ws does not declare it.
const ReceiverClass = (wsPackage as unknown as { Receiver: new (o: object) => ReceiverLike }).Receiver;

/** Parses `octets` as ws would on the side that receives them; the binary messages in order. */
function parse(octets: Buffer, masked: boolean): Promise<Buffer[]> {
  // A listener (isServer) requires masked frames, a client refuses them.
  const r = new ReceiverClass({ isServer: masked, skipUTF8Validation: true, binaryType: 'nodebuffer' });
  const out: Buffer[] = [];
  return new Promise((resolve, reject) => {
    r.on('message', (data, binary) => {
      if (!binary) reject(new Error('a TEXT message'));
      out.push(Buffer.from(data));
    });
    r.on('error', reject);
    r.write(octets, () => resolve(out));
  });
}

const filled = (n: number, seed: number): Uint8Array => Uint8Array.from({ length: n }, (_, i) => (i * 31 + seed) & 0xff);

for (const masked of [true, false]) {
  testNeeding(
    'ws-receiver',
    `WsFrameWriter (${masked ? 'masked, client' : 'unmasked, listener'}): every length form, parts of odd lengths, read back by ws's Receiver`,
    async () => {
      const sock = new Recorder();
      const w = new WsFrameWriter(sock, masked, jsMask);
      const frames: Uint8Array[][] = [];
      // 0..125 in one octet, 126..65535 in two more, 65536 and up in eight more; parts of 1, 2, 3 octets shift the key's phase.
      for (const n of [0, 1, 5, 125, 126, 127, 1000, 20_000, 65_535, 65_536, 70_001, 300_000]) {
        const parts = n === 0 ? [new Uint8Array(0)] : [filled(Math.min(n, 3), n), filled(Math.min(Math.max(n - 3, 0), 2), n + 1)];
        const rest = n - parts.reduce((s, p) => s + p.length, 0);
        if (rest > 0) parts.push(filled(rest - Math.min(rest, 5), n + 2), filled(Math.min(rest, 5), n + 3));
        frames.push(parts);
        w.put(n, parts[0]!, parts[1], parts[2], parts[3]);
      }
      const expectBytes = frames.reduce(
        (s, f) =>
          s +
          f.reduce((t, p) => t + p.length, 0) +
          headerSize(
            f.reduce((t, p) => t + p.length, 0),
            masked,
          ),
        0,
      );
      assert.equal(w.queued, expectBytes);
      assert.equal(
        w.flush(() => undefined),
        expectBytes,
      );
      assert.equal(w.queued, 0);
      assert.equal(sock.corked, 0, 'uncorked after the flush');
      const got = await parse(sock.bytes(), masked);
      assert.equal(got.length, frames.length);
      for (let i = 0; i < frames.length; i++) assert.deepEqual(got[i], Buffer.concat(frames[i]!), `frame ${i}`);
    },
  );
}

test('WsFrameWriter: unmasked, a payload part of 16 KiB or more is written by reference; small parts and headers are copied together', () => {
  const sock = new Recorder();
  const w = new WsFrameWriter(sock, false, jsMask);
  const big = filled(20_000, 1);
  const hdr = filled(20, 2);
  w.put(20 + 20_000 + 5, hdr, big, filled(5, 3));
  w.put(3, filled(3, 4));
  w.flush(() => undefined);
  assert.equal(sock.chunks.length, 3, 'header + frame header, the payload, the trailer with the next frame');
  assert.equal(sock.chunks[1], big, 'the large part itself');
  hdr.fill(0); // the session rewrites its header views: what was queued must not change
  assert.equal(sock.chunks[0]![4], 2, 'the header as it was when queued (after a 4-octet frame header)');
});

testNeeding(
  'ws-receiver',
  'WsFrameWriter: masked frames never share the key with the payload in clear, and each frame has its own key',
  async () => {
    const sock = new Recorder();
    const w = new WsFrameWriter(sock, true, jsMask);
    const zeros = new Uint8Array(64);
    w.put(64, zeros);
    w.put(64, zeros);
    w.flush(() => undefined);
    const b = sock.bytes();
    const key1 = b.subarray(2, 6);
    const key2 = b.subarray(6 + 64 + 2, 6 + 64 + 6);
    assert.notDeepEqual(key1, key2, 'a fresh key per frame (equal by chance once in 2^32)');
    assert.deepEqual(b.subarray(6, 10), key1, 'zeros masked are the key itself');
    assert.deepEqual(await parse(b, true), [Buffer.alloc(64), Buffer.alloc(64)]);
  },
);

testNeeding('ws-receiver', 'WsFrameWriter: a slab is used again only after the socket took the write that held it', async () => {
  const sock = new Recorder();
  const w = new WsFrameWriter(sock, true, jsMask);
  const a = filled(40_000, 7);
  w.put(a.length, a);
  w.flush(() => undefined);
  const first = sock.chunks[0]!;
  const before = Buffer.from(first);
  // Not released: the next flush must not write into the first one's memory.
  const b = filled(40_000, 9);
  w.put(b.length, b);
  w.flush(() => undefined);
  assert.deepEqual(Buffer.from(first), before, 'the octets of the unfinished write were kept');
  assert.notEqual(sock.chunks[1]!.buffer, first.buffer);
  sock.release();
  assert.deepEqual(await parse(sock.bytes(), true), [Buffer.from(a), Buffer.from(b)]);
});

test('writeHeader: the 64-bit length form writes the high word', () => {
  const out = new Uint8Array(10);
  assert.equal(writeHeader(out, 0, 2 ** 32 + 5, undefined), 10);
  assert.deepEqual([...out], [0x82, 127, 0, 0, 0, 1, 0, 0, 0, 5]);
});
