// A session that reads into chunks it may keep (ownedChunks, as the listener's) keeps a message's
// pieces as views of those chunks, except pieces small beside their chunk: a view would keep a
// whole chunk alive for a few octets while the rest of the message comes, so those are copied
// (Session #unpin). A message of many chunks must have none of them left as views in any chunk
// before the last one, and arrive intact. (The chunk it ends in is handed over at once, with
// the message, as a single-frame message's is: the application decides how long it keeps it.)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { P, Pipe, tick, pair } from './pair.js';

const CHUNK = 65536;

/** Delivers what one session wrote in a turn to the other in fresh 64 KiB chunks (as a socket's reads). */
class ChunkPipe extends Pipe {
  #out: Uint8Array[] = [];
  override write(a: Uint8Array, b?: Uint8Array, c?: Uint8Array, d?: Uint8Array): boolean {
    const first = this.#out.length === 0;
    for (const p of [a, b, c, d]) if (p !== undefined) this.#out.push(p.slice());
    if (first)
      setImmediate(() => {
        const all = Buffer.concat(this.#out);
        this.#out = [];
        for (let o = 0; o < all.length; o += CHUNK) this.peer.receive(new Uint8Array(all.subarray(o, o + CHUNK)));
      });
    return true;
  }
}

test('a message of many chunks: small pieces copied in every chunk, the rest views, content intact', async () => {
  // Frames of 23,000 octets end at a different place in each 64 KiB chunk: the piece of a frame
  // that starts shortly before a chunk's end is small. The listener keeps its chunks
  // (ownedChunks, as beepwire's listener does) and does not answer (an echo would join the parts).
  const { initiator, got } = pair({
    ownedChunks: true,
    sendFrameSize: 23000,
    window: 1 << 20,
    maxWindow: 1 << 20,
    echo: false,
    pipe: () => new ChunkPipe(),
  });
  const started = await initiator.mgmt.startChannel(1, [{ uri: P, encoding: 'none' }]);
  const body = new Uint8Array(900_000);
  for (let i = 0; i < body.length; i++) body[i] = (i * 31 + (i >> 9)) & 0xff;
  initiator.sendMsg(started.channel, body);
  for (let i = 0; i < 200 && got.length === 0; i++) await tick();
  assert.equal(got.length, 1, 'the message arrived');
  const parts = got[0]!.contentParts;
  // The last chunk is the only short one (900,000 octets plus headers is not a multiple of 64 KiB).
  const small = parts.filter((p) => p.length * 4 < p.buffer.byteLength && p.buffer.byteLength === CHUNK);
  const views = parts.filter((p) => p.buffer.byteLength === CHUNK);
  assert.deepEqual(
    small.map((p) => `${p.length} of ${p.buffer.byteLength}`),
    [],
    'no small piece is left a view of a chunk before the last',
  );
  assert.ok(views.length >= 10, `most pieces stay views of their chunks (${views.length} of ${parts.length})`);
  assert.ok(parts.length > views.length, 'and some were copied');
  assert.deepEqual(Buffer.concat(parts), Buffer.from(body));
});
