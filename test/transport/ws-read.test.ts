// WsFrameReader (src/transport/ws-read.ts) against golden frames: RFC 6455 §5.7's examples and
// one vector per rule of §5 (opcodes, FIN and fragmentation, control frames, RSV bits, masking
// per side, the three length forms, close codes, maxPayload). Every vector is read whole, cut at
// every offset (and, when short, at every pair of offsets), one octet per push, and with both
// unmask implementations (the JS loop, bufferutil's); the events must be the same each time. Data
// must come as views of the pushed chunks (no copy), the burst flag `more` false only on a push's
// last piece, and at most 14 header octets held between pushes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { WsFrameReader, jsUnmask, validCloseCode, type UnmaskFn, type WsReadSink } from '../../src/transport/ws-read.js';
import { BeepWebSocketError, BeepError } from '../../src/index.js';
import { frame, concat, closeBody, bytes, hex, KEY } from './ws-frames.js';

type Ev = ['data', string] | ['ping', string] | ['close', number, string] | ['fail', number];

const latin1 = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.length).toString('latin1');

/** Records a reader's events, consecutive data merged; checks that pieces are views of the pushed chunk. */
class Recorder implements WsReadSink {
  events: Ev[] = [];
  pieces: Array<{ piece: Uint8Array; more: boolean }> = [];
  errors: BeepWebSocketError[] = [];
  chunk: Uint8Array | undefined;
  data(piece: Uint8Array, more: boolean): void {
    assert.ok(piece.length > 0, 'no empty piece');
    assert.equal(piece.buffer, this.chunk!.buffer, 'a piece is a view of the chunk pushed');
    this.pieces.push({ piece, more });
    const last = this.events[this.events.length - 1];
    if (last?.[0] === 'data') last[1] += latin1(piece);
    else this.events.push(['data', latin1(piece)]);
  }
  ping(p: Uint8Array): void {
    this.events.push(['ping', latin1(p)]);
  }
  close(code: number, reason: Uint8Array): void {
    this.events.push(['close', code, latin1(reason)]);
  }
  fail(err: BeepWebSocketError): void {
    this.errors.push(err);
    this.events.push(['fail', err.closeCode]);
  }
}

interface Vector {
  name: string;
  /** The listener's side (the frames must be masked) or the client's. */
  server: boolean;
  octets: Uint8Array;
  events: Ev[];
  maxPayload?: number;
}

const K = KEY;
const srv = (name: string, octets: Uint8Array, events: Ev[], maxPayload?: number): Vector => ({
  name,
  server: true,
  octets,
  events,
  ...(maxPayload === undefined ? {} : { maxPayload }),
});
const cli = (name: string, octets: Uint8Array, events: Ev[]): Vector => ({ name, server: false, octets, events });
const big = (n: number): string => Array.from({ length: n }, (_, i) => String.fromCharCode((i * 7 + 3) & 0xff)).join('');
const NOT_UTF8 = '\x80 \xc0\xaf \xff\xfe \xc3\x28 beep \xe2\x82';

const VECTORS: Vector[] = [
  // RFC 6455 §5.7, literally.
  cli('§5.7 a single-frame unmasked text message', hex('810548656c6c6f'), [['data', 'Hello']]),
  srv('§5.7 a single-frame masked text message', hex('818537fa213d7f9f4d5158'), [['data', 'Hello']]),
  cli('§5.7 a fragmented unmasked text message', hex('010348656c 80026c6f'), [['data', 'Hello']]),
  cli('§5.7 an unmasked ping: its payload is reported (to be echoed in a pong)', hex('890548656c6c6f'), [['ping', 'Hello']]),
  srv('§5.7 a masked pong is ignored', hex('8a8537fa213d7f9f4d5158'), []),
  cli('§5.7 256 octets of binary in one unmasked frame (16-bit length)', concat(hex('827e0100'), bytes(big(256))), [['data', big(256)]]),
  cli('§5.7 64 KiB of binary in one unmasked frame (64-bit length)', concat(hex('827f0000000000010000'), bytes(big(65536))), [
    ['data', big(65536)],
  ]),
  // Data frames.
  srv('text whose octets are not UTF-8 is taken as octets', frame({ op: 1, payload: NOT_UTF8, key: K }), [['data', NOT_UTF8]]),
  srv(
    'binary, then text, then binary: one stream',
    concat(frame({ op: 2, payload: 'MSG', key: K }), frame({ op: 1, payload: ' 0', key: K }), frame({ op: 2, payload: ' 1', key: K })),
    [['data', 'MSG 0 1']],
  ),
  srv('a masked 16-bit length frame (the key phase crosses every cut)', frame({ op: 2, payload: big(300), key: hex('01020304') }), [
    ['data', big(300)],
  ]),
  srv(
    'lengths in a longer form than needed are accepted',
    concat(frame({ op: 2, payload: 'ab', key: K, form: 16 }), frame({ op: 2, payload: 'cd', key: K, form: 64 })),
    [['data', 'abcd']],
  ),
  srv(
    'empty frames carry nothing: an empty binary, an empty text left open and its empty continuation',
    concat(
      frame({ op: 2, key: K }),
      frame({ op: 1, fin: false, key: K }),
      frame({ op: 0, key: K }),
      frame({ op: 2, payload: 'x', key: K }),
    ),
    [['data', 'x']],
  ),
  srv(
    'a ping between the fragments of a message is answered; the message goes on',
    concat(
      frame({ op: 1, fin: false, payload: 'Hel', key: K }),
      frame({ op: 9, payload: 'ping!', key: K }),
      frame({ op: 0, payload: 'lo', key: K }),
    ),
    [
      ['data', 'Hel'],
      ['ping', 'ping!'],
      ['data', 'lo'],
    ],
  ),
  srv(
    'a ping of 125 octets (the most a control frame carries), and an empty one',
    concat(frame({ op: 9, payload: big(125), key: K }), frame({ op: 9, key: K })),
    [
      ['ping', big(125)],
      ['ping', ''],
    ],
  ),
  srv(
    'a pong inside a message is ignored',
    concat(
      frame({ op: 2, fin: false, payload: 'a', key: K }),
      frame({ op: 10, payload: 'x', key: K }),
      frame({ op: 0, payload: 'b', key: K }),
    ),
    [['data', 'ab']],
  ),
  // Close.
  srv(
    'close 1000 with a reason; nothing after it is read',
    concat(
      frame({ op: 2, payload: 'last', key: K }),
      frame({ op: 8, payload: closeBody(1000, 'bye'), key: K }),
      frame({ op: 2, payload: 'never', key: K }),
    ),
    [
      ['data', 'last'],
      ['close', 1000, 'bye'],
    ],
  ),
  srv('an empty close is 1005 (no status)', frame({ op: 8, key: K }), [['close', 1005, '']]),
  cli('close 3000 and 4999 are valid (registered and private ranges)', frame({ op: 8, payload: closeBody(3000) }), [['close', 3000, '']]),
  cli('close 4999 is valid', frame({ op: 8, payload: closeBody(4999, 'x') }), [['close', 4999, 'x']]),
  srv(
    'close inside an unfinished message is allowed (a control frame)',
    concat(frame({ op: 2, fin: false, payload: 'a', key: K }), frame({ op: 8, payload: closeBody(1001), key: K })),
    [
      ['data', 'a'],
      ['close', 1001, ''],
    ],
  ),
  // Violations: 1002.
  ...[0x40, 0x20, 0x10].map((rsv) =>
    srv(`RSV bit 0x${rsv.toString(16)} set fails with 1002`, frame({ op: 2, payload: 'x', rsv, key: K }), [['fail', 1002]]),
  ),
  ...[3, 4, 5, 6, 7, 0xb, 0xc, 0xd, 0xe, 0xf].map((op) =>
    srv(`opcode 0x${op.toString(16)} fails with 1002`, frame({ op, payload: 'x', key: K }), [['fail', 1002]]),
  ),
  srv('a continuation with no message started fails with 1002', frame({ op: 0, payload: 'x', key: K }), [['fail', 1002]]),
  srv(
    'a continuation after a finished message fails with 1002',
    concat(frame({ op: 2, payload: 'a', key: K }), frame({ op: 0, payload: 'b', key: K })),
    [
      ['data', 'a'],
      ['fail', 1002],
    ],
  ),
  srv(
    'a text frame inside an unfinished message fails with 1002',
    concat(frame({ op: 2, fin: false, payload: 'a', key: K }), frame({ op: 1, payload: 'b', key: K })),
    [
      ['data', 'a'],
      ['fail', 1002],
    ],
  ),
  srv(
    'a binary frame inside an unfinished message fails with 1002',
    concat(frame({ op: 1, fin: false, payload: 'a', key: K }), frame({ op: 2, payload: 'b', key: K })),
    [
      ['data', 'a'],
      ['fail', 1002],
    ],
  ),
  srv('a ping without FIN fails with 1002', frame({ op: 9, fin: false, payload: 'x', key: K }), [['fail', 1002]]),
  srv('a close without FIN fails with 1002', frame({ op: 8, fin: false, key: K }), [['fail', 1002]]),
  srv('a ping of 126 octets fails with 1002', frame({ op: 9, payload: big(126), key: K }), [['fail', 1002]]),
  srv('a pong of 200 octets fails with 1002', frame({ op: 10, payload: big(200), key: K }), [['fail', 1002]]),
  srv(
    'an unmasked frame to the listener fails with 1002',
    concat(frame({ op: 2, payload: 'ok', key: K }), frame({ op: 2, payload: 'x' })),
    [
      ['data', 'ok'],
      ['fail', 1002],
    ],
  ),
  cli('a masked frame to the client fails with 1002', frame({ op: 2, payload: 'x', key: K }), [['fail', 1002]]),
  srv('a 64-bit length with its top bit set fails with 1002', frame({ op: 2, payload: 'x', key: K, form: 64, hi: 0x80000000 }), [
    ['fail', 1002],
  ]),
  srv('a close with a 1-octet body fails with 1002', frame({ op: 8, payload: Uint8Array.of(3), key: K }), [['fail', 1002]]),
  ...[0, 999, 1004, 1005, 1006, 1015, 2999, 5000, 65535].map((c) =>
    srv(`close code ${c} is invalid: 1002`, frame({ op: 8, payload: closeBody(c), key: K }), [['fail', 1002]]),
  ),
  // maxPayload: 1009.
  srv('a message of exactly maxPayload passes', frame({ op: 2, payload: big(100), key: K }), [['data', big(100)]], 100),
  srv('one frame over maxPayload fails with 1009 before its payload', frame({ op: 2, payload: big(101), key: K }), [['fail', 1009]], 100),
  srv(
    'fragments adding up past maxPayload fail with 1009',
    concat(frame({ op: 2, fin: false, payload: big(60), key: K }), frame({ op: 0, payload: big(60), key: K })),
    [
      ['data', big(60)],
      ['fail', 1009],
    ],
    100,
  ),
  srv(
    'maxPayload counts per message: two messages of 60 pass',
    concat(frame({ op: 2, payload: big(60), key: K }), frame({ op: 1, payload: big(60), key: K })),
    [['data', big(60) + big(60)]],
    100,
  ),
  srv(
    'a 64-bit length of 2^40 fails with 1009 (maxPayload), not by allocating',
    frame({ op: 2, payload: 'x', key: K, form: 64, hi: 0x100 }),
    [['fail', 1009]],
  ),
];

/** Reads `chunks` (fresh copies: unmasking writes into them) and returns the recorder. */
function read(v: Vector, chunks: Uint8Array[], unmask: UnmaskFn): Recorder {
  const rec = new Recorder();
  const r = new WsFrameReader(rec, { server: v.server, maxPayload: v.maxPayload ?? 1 << 20, unmask });
  for (const c of chunks) {
    rec.chunk = c;
    r.push(c);
    assert.ok(r.heldHeader <= 14, `at most 14 header octets held (${r.heldHeader})`);
  }
  return rec;
}

const cuts = (octets: Uint8Array, at: number[]): Uint8Array[] => {
  const points = [0, ...at, octets.length];
  return points.slice(1).map((p, i) => Uint8Array.from(octets.subarray(points[i], p)));
};

let bufferutilUnmask: UnmaskFn | undefined;
try {
  const load = (m: string): Promise<{ default?: { unmask?: UnmaskFn } }> => import(m); // an optional dependency: no types
  const m = await load('bufferutil');
  bufferutilUnmask = m.default?.unmask;
} catch {
  /* optional dependency absent: the JS loop alone */
}
const UNMASKS: Array<[string, UnmaskFn]> = [
  ['JS unmask', jsUnmask],
  ...(bufferutilUnmask ? [['bufferutil unmask', bufferutilUnmask] as [string, UnmaskFn]] : []),
];

for (const v of VECTORS) {
  test(`reader: ${v.name}`, () => {
    for (const [uname, unmask] of UNMASKS) {
      const whole = read(v, cuts(v.octets, []), unmask);
      assert.deepEqual(whole.events, v.events, `${uname}, whole`);
      const n = v.octets.length;
      // Every single cut; for big vectors, every cut in the first and last 40 octets and 200 in between.
      const singles =
        n <= 400
          ? [...Array(n + 1).keys()]
          : [
              ...Array(41).keys(),
              ...Array.from({ length: 41 }, (_, i) => n - i),
              ...Array.from({ length: 200 }, (_, i) => Math.floor(((i + 1) * n) / 201)),
            ];
      for (const c of singles) assert.deepEqual(read(v, cuts(v.octets, [c]), unmask).events, v.events, `${uname}, cut at ${c}`);
      if (n <= 40)
        for (let a = 1; a < n; a++)
          for (let b = a; b < n; b++)
            assert.deepEqual(read(v, cuts(v.octets, [a, b]), unmask).events, v.events, `${uname}, cut at ${a} and ${b}`);
      if (n <= 2000)
        assert.deepEqual(read(v, cuts(v.octets, [...Array(n).keys()].slice(1)), unmask).events, v.events, `${uname}, one octet per push`);
    }
  });
}

test('reader: a failure is a BeepWebSocketError (code BEEP_ERR_WEBSOCKET) with the close code and where in the stream it was', () => {
  const rec = read(srv('', new Uint8Array(), []), [concat(frame({ op: 2, payload: 'abc', key: K }), frame({ op: 5, key: K }))], jsUnmask);
  const e = rec.errors[0]!;
  assert.ok(e instanceof BeepWebSocketError && e instanceof BeepError);
  assert.equal(e.code, 'BEEP_ERR_WEBSOCKET');
  assert.equal(e.closeCode, 1002);
  assert.match(e.message, /unknown opcode 0x5, at octet 9 of the stream/);
  const over = read(srv('', new Uint8Array(), [], 10), [frame({ op: 2, payload: big(11), key: K })], jsUnmask).errors[0]!;
  assert.equal(over.closeCode, 1009);
  assert.match(over.message, /maxPayload \(10 octets\)/);
});

test('reader: the pieces of one push are one burst: `more` is false on the last piece only; small pieces are moved together into one view, large ones go as they lie; a frame cut by reads is a piece per read', () => {
  // 100 small frames in one read: their payloads moved down over the headers, one view.
  const msgs = Array.from({ length: 100 }, (_, i) => frame({ op: i % 2 === 0 ? 2 : 1, payload: `MSG ${i};`, key: K }));
  const rec = new Recorder();
  const r = new WsFrameReader(rec, { server: true, maxPayload: 1 << 20 });
  rec.chunk = concat(...msgs);
  r.push(rec.chunk);
  const all = Array.from({ length: 100 }, (_, i) => `MSG ${i};`).join('');
  assert.deepEqual(
    rec.pieces.map((p) => [p.piece.byteOffset, latin1(p.piece), p.more]),
    [[6, all, false]],
  );
  // Large payloads (>= 4096) are views where they lie; a small one after a large one joins it.
  const mixed = [
    frame({ op: 2, payload: big(5000) }),
    frame({ op: 2, payload: 'tail' }),
    frame({ op: 2, payload: big(4096) }),
    frame({ op: 2, payload: 'x' }),
  ];
  const rec1 = new Recorder();
  rec1.chunk = concat(...mixed);
  new WsFrameReader(rec1, { server: false, maxPayload: 1 << 20 }).push(rec1.chunk);
  assert.deepEqual(
    rec1.pieces.map((p) => [p.piece.byteOffset, p.piece.length, p.more]),
    [
      [4, 5004, true],
      [5004 + 2 + 4 + 4, 4097, false],
    ],
  );
  assert.equal(rec1.events[0]![1], `${big(5000)}tail${big(4096)}x`);
  // One 64 KiB frame over three reads: three pieces, each the last of its push.
  const f = frame({ op: 2, payload: big(65536), key: K });
  const rec2 = new Recorder();
  const r2 = new WsFrameReader(rec2, { server: true, maxPayload: 1 << 20 });
  for (const c of cuts(f, [1000, 40000])) {
    rec2.chunk = c;
    r2.push(c);
  }
  assert.deepEqual(
    rec2.pieces.map((p) => [p.piece.length, p.more]),
    [
      [1000 - 14, false],
      [39000, false],
      [65536 - 40000 + 14, false],
    ],
  );
  assert.equal(rec2.events[0]![1], big(65536));
});

test('reader: the listener unmasks in place: a piece is the very octets of the socket chunk, past the header', () => {
  const chunk = frame({ op: 2, payload: 'in place', key: K });
  const rec = new Recorder();
  rec.chunk = chunk;
  new WsFrameReader(rec, { server: true, maxPayload: 100 }).push(chunk);
  const p = rec.pieces[0]!.piece;
  assert.equal(p.byteOffset, chunk.byteOffset + 6);
  assert.equal(latin1(chunk.subarray(6)), 'in place', 'the chunk itself now holds the unmasked octets');
});

test('reader: stop() from inside a callback ends reading at once (the connection is being dropped)', () => {
  const events: string[] = [];
  const r: WsFrameReader = new WsFrameReader(
    {
      data: (p) => {
        events.push(`data ${latin1(p)}`);
        r.stop();
      },
      ping: () => events.push('ping'),
      close: () => events.push('close'),
      fail: () => events.push('fail'),
    },
    { server: false, maxPayload: 100 },
  );
  r.push(concat(frame({ op: 2, payload: 'a' }), frame({ op: 9 }), frame({ op: 2, payload: 'b' }), frame({ op: 5 })));
  assert.deepEqual(events, ['data a']);
  assert.ok(r.stopped);
  r.push(frame({ op: 2, payload: 'c' }));
  assert.deepEqual(events, ['data a']);
});

test('validCloseCode: RFC 6455 §7.4 ranges', () => {
  const valid = [1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, 3000, 4000, 4999];
  const invalid = [0, 999, 1004, 1005, 1006, 1015, 1016, 2000, 2999, 5000, 65535];
  for (const c of valid) assert.ok(validCloseCode(c), String(c));
  for (const c of invalid) assert.ok(!validCloseCode(c), String(c));
});

test('reader: maxPayload must be > 0', () => {
  const sink = new Recorder();
  assert.throws(() => new WsFrameReader(sink, { server: true, maxPayload: 0 }), RangeError);
});
