// The node:net adapter's write path: frames copied into the process-wide arena (write() and
// writeFrame()), transports interleaving their frames in it, and an open piece that moves to a
// new arena instead of being split (one flush = one socket write).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, connect, type Socket, type AddressInfo } from 'node:net';
import { NodeTransport, arenaSpace, loadNodeTransport } from '../../src/transport/node.js';
import type { TransportSink } from '../../src/transport/transport.js';
import { runtimeName } from '../../src/transport/select.js';

const END = new Uint8Array([69, 78, 68, 13, 10]);
const CRLF = new Uint8Array([13, 10]);

/** A connected pair: our transport on the client socket, the server side collecting what arrives. */
async function pair(): Promise<{
  t: NodeTransport;
  received: (n: number) => Promise<Uint8Array>;
  writes: () => number;
  close: () => void;
}> {
  const chunks: Buffer[] = [];
  let peer: Socket | undefined;
  const server = createServer((s) => {
    peer = s;
    s.on('data', (d: Buffer) => chunks.push(d));
  });
  await new Promise<void>((res) => server.listen(0, '127.0.0.1', res));
  const sock = connect({ host: '127.0.0.1', port: (server.address() as AddressInfo).port });
  await new Promise<void>((res) => sock.once('connect', res));
  while (peer === undefined) await new Promise((r) => setTimeout(r, 5));
  let writes = 0;
  const write = sock.write.bind(sock) as (b: Uint8Array) => boolean;
  (sock as unknown as { write: (b: Uint8Array) => boolean }).write = (b) => {
    writes++;
    return write(b);
  };
  const t = new NodeTransport(sock);
  return {
    t,
    writes: () => writes,
    /** What arrived, once `n` octets did (or after 5 s). */
    received: async (n) => {
      for (let t0 = Date.now(); chunks.reduce((s, c) => s + c.length, 0) < n && Date.now() - t0 < 5000; )
        await new Promise((r) => setTimeout(r, 10));
      return new Uint8Array(Buffer.concat(chunks));
    },
    close: () => {
      sock.destroy();
      peer?.destroy();
      server.close();
    },
  };
}

const bytes = (n: number, seed: number): Uint8Array => Uint8Array.from({ length: n }, (_, i) => (i * 7 + seed) & 0xff);
const cat = (parts: Uint8Array[]): Uint8Array => new Uint8Array(Buffer.concat(parts));

test('node transport: writeFrame and write of two transports interleaved in one run arrive intact and in order', async () => {
  const a = await pair();
  const b = await pair();
  try {
    const wantA: Uint8Array[] = [];
    const wantB: Uint8Array[] = [];
    const header = new Uint8Array(30);
    for (let i = 0; i < 3000; i++) {
      // The header is rewritten after each call, as the codec's output region is.
      header.fill(65 + (i % 26));
      const h = header.subarray(0, 10 + (i % 20));
      const body = bytes(i % 97 === 0 ? 20000 : (i * 13) % 200, i); // some bodies past the copy limit go by reference
      const head = i % 3 === 0 ? undefined : i % 3 === 1 ? CRLF : bytes(40, 1);
      const [t, want] = i % 2 === 0 ? [a.t, wantA] : [b.t, wantB];
      if (i % 5 === 0) {
        t.write(h, body, END);
        want.push(new Uint8Array(h), body, END);
      } else {
        t.writeFrame(h, head, body, END);
        want.push(new Uint8Array(h), ...(head === undefined ? [] : [head]), body, END);
      }
    }
    const ea = cat(wantA),
      eb = cat(wantB);
    assert.deepEqual(await a.received(ea.length), ea);
    assert.deepEqual(await b.received(eb.length), eb);
  } finally {
    a.close();
    b.close();
  }
});

test('node transport: a small open piece moves to a new arena rather than split into two socket writes', async () => {
  const a = await pair();
  const filler = await pair();
  try {
    // Fill most of the shared arena from another transport, then write ~6 KiB of small
    // frames: they straddle the arena's end.
    for (let i = 0; arenaSpace() < 3000 || arenaSpace() > 4000; i++) filler.t.writeFrame(bytes(20, i), CRLF, bytes(100, i), END);
    const want: Uint8Array[] = [];
    for (let i = 0; i < 64; i++) {
      const h = bytes(24, i),
        body = bytes(64, i + 1);
      a.t.writeFrame(h, CRLF, body, END);
      want.push(h, CRLF, body, END);
    }
    const before = a.writes();
    a.t.flush();
    assert.equal(a.writes() - before, 1, 'one flush, one socket write');
    const e = cat(want);
    assert.deepEqual(await a.received(e.length), e);
  } finally {
    a.close();
    filler.close();
  }
});

test('node transport: frames written while a chunk is delivered go out in one write when the sink returns; others at the end of the microtask run', async () => {
  const a = await pair();
  try {
    const want: Uint8Array[] = [];
    a.t.attach({
      data: () => {
        for (let i = 0; i < 3; i++) {
          const h = bytes(20, i);
          a.t.writeFrame(h, CRLF, bytes(64, i), END);
          want.push(h, CRLF, bytes(64, i), END);
        }
      },
      drain: () => undefined,
      closed: () => undefined,
    });
    const before = a.writes();
    a.t.received(new Uint8Array(10));
    assert.equal(a.writes() - before, 1, 'written when received() returns, before any microtask');
    const h = bytes(20, 9);
    a.t.writeFrame(h, undefined, bytes(10, 9), END);
    want.push(h, bytes(10, 9), END);
    assert.equal(a.writes() - before, 1, 'a write outside delivery waits for the end of the run');
    await Promise.resolve();
    await Promise.resolve();
    assert.equal(a.writes() - before, 2);
    const e = cat(want);
    assert.deepEqual(await a.received(e.length), e);
  } finally {
    a.close();
  }
});

test("node transport: corked pieces the kernel took at once are not a full socket; ones it could not take are, until 'drain'", async () => {
  const a = await pair();
  try {
    const drains: number[] = [];
    const sink: TransportSink = { data: () => {}, closed: () => {}, drain: () => drains.push(1) };
    a.t.attach(sink);
    // Two 20 KiB pieces, written by reference under cork: socket.write() answers false for the
    // second (the corked pieces pass the stream's 16 KiB highWaterMark) even when uncork() hands
    // both to the kernel in one writev.
    assert.equal(a.t.write(bytes(20 * 1024, 1), bytes(12 * 1024, 2)), true);
    a.t.flush();
    const s = a.t.socket;
    assert.equal(a.t.full, s.writableLength > 0, 'full exactly while octets wait in the stream');
    // Node's write() said false all the same (what the rule is for); Bun's and Deno's node:net
    // answer true under cork, so there the rule changes nothing.
    if (s.writableLength === 0 && runtimeName() === 'node')
      assert.equal(s.writableNeedDrain, true, "write() said false all the same (Node's rule)");
    assert.equal((await a.received(32 * 1024)).length, 32 * 1024);
    // Many MiB at once: more than the kernel takes, so the rest waits in the stream.
    for (let i = 0; i < 16; i++) a.t.write(bytes(1 << 20, i));
    a.t.flush();
    assert.equal(a.t.full, s.writableLength > 0);
    assert.ok(a.t.full, 'with 16 MiB written and the peer reading in the same process, octets wait in the stream');
    await a.received(32 * 1024 + 16 * (1 << 20));
    for (let i = 0; i < 100 && a.t.full; i++) await new Promise((r) => setTimeout(r, 10));
    assert.equal(a.t.full, false, "'drain' cleared it");
    assert.ok(drains.length >= 1, 'and told the session');
  } finally {
    a.close();
  }
});

test('node transport, client side: chunks read through the shared buffer are copies that stay intact, full reads are handed over as they are', async () => {
  // A server that sends a known stream in writes of many sizes; the client is the factory's
  // (node:net onread into one shared buffer on Node).
  const stream = bytes(3 << 20, 9);
  const sizes = [1, 7, 100, 4096, 65536, 200_000, 5, 1 << 20, 33];
  let server: ReturnType<typeof createServer> | undefined;
  const port = await new Promise<number>((res) => {
    server = createServer((s) => {
      void (async () => {
        let at = 0;
        for (let i = 0; at < stream.length; i++) {
          const n = Math.min(sizes[i % sizes.length]!, stream.length - at);
          s.write(stream.subarray(at, at + n));
          at += n;
          if (i % 3 === 0) await new Promise((r) => setTimeout(r, 1)); // small reads as well as full ones
        }
      })();
    });
    server.listen(0, '127.0.0.1', () => res((server!.address() as AddressInfo).port));
  });
  const factory = await loadNodeTransport();
  const t = factory.connect('127.0.0.1', port);
  const chunks: Uint8Array[] = [];
  let got = 0;
  const done = new Promise<void>((res) => {
    t.attach({
      data: (c) => {
        chunks.push(c); // kept: a later read must not change it
        got += c.length;
        if (got >= stream.length) res();
      },
      drain: () => {},
      closed: () => res(),
    });
  });
  try {
    await t.opened();
    await done;
    assert.equal(got, stream.length);
    assert.deepEqual(new Uint8Array(Buffer.concat(chunks)), stream, 'every chunk kept its octets');
    assert.ok(chunks.length > 10, `many reads (${chunks.length})`);
    // No two chunks share memory (each is a copy or a buffer of its own).
    for (let i = 1; i < chunks.length; i++) assert.notEqual(chunks[i]!.buffer, chunks[i - 1]!.buffer);
    // And none is a small view of a large buffer, which would keep all of it alive (on Node,
    // where these reads go through onread; elsewhere the runtime's own chunks come as they are).
    if (runtimeName() === 'node')
      for (const c of chunks) assert.ok(c.length * 4 >= c.buffer.byteLength, `${c.length} octets over ${c.buffer.byteLength}`);
  } finally {
    t.abort();
    server?.close();
  }
});
