// WebSocket data frames (RFC 6455 §5.2) written straight to the socket under a `ws` WebSocket,
// one BINARY frame (FIN set, never fragmented) per BEEP frame. `ws.send()` takes one buffer, so
// the session's parts (frame header, MIME header block, payload, trailer) had to be joined
// first, and on the client `ws` then masks the joined copy into another new buffer: two
// allocations and copies of every payload, the cost that kept BEEP over ws:// at half of TCP.
// Here a frame is built as node.ts builds TCP writes: small pieces copied together into an
// arena, large payloads by reference (unmasked: the listener side), or masked straight from the
// parts into one buffer (the client, whose frames RFC 6455 §5.3 requires masked with a fresh
// unpredictable key each). Control frames (pong, close) are written to the same socket between
// whole frames of ours, by ws-link.ts (or by `ws` itself where it still reads: ws-node.ts).

/** Masks `length` octets of `source` into `output` at `offset` (bufferutil's signature). */
export type MaskFn = (source: Uint8Array, mask: Uint8Array, output: Uint8Array, offset: number, length: number) => void;

/** The socket calls a frame writer needs (net.Socket, tls.TLSSocket). */
export interface FrameSocket {
  cork(): void;
  uncork(): void;
  write(chunk: Uint8Array, cb?: (err?: Error | null) => void): boolean;
}

/** Payload parts at least this large go to the socket by reference when unmasked; smaller ones are copied. */
const COPY_BELOW = 16384;
/** Size of the arena small pieces (and small masked frames) are copied into. */
const ARENA = 65536;

// One arena per process, as in node.ts: pieces handed to a socket are never rewritten (filling
// only moves forward and a full arena is replaced).
let shared: Uint8Array | undefined;
let sharedUsed = 0;

/**
 * Masked frames too large for the arena are cut from slabs that are used again once the socket
 * took every write holding a piece of them (a new buffer per frame cost an allocation, and the
 * garbage collection it brings, per message). A slab serves one flush of one writer, then goes
 * back to a free list of at most MAX_FREE_SLABS (process-wide: an idle connection holds none).
 */
const SLAB = 1 << 18;
const MAX_FREE_SLABS = 8;
interface Slab {
  buf: Uint8Array;
  used: number;
}
const freeSlabs: Slab[] = [];

function takeSlab(): Slab {
  const s = freeSlabs.pop();
  if (s === undefined) return { buf: new Uint8Array(SLAB), used: 0 };
  s.used = 0;
  return s;
}

function releaseSlabs(slabs: Slab[]): void {
  for (const s of slabs) if (freeSlabs.length < MAX_FREE_SLABS) freeSlabs.push(s);
}

/** Masking keys come from a pool of random octets, refilled 8 KiB at a time (as `ws` does). */
const KEY_POOL = 8192;
let keys: Uint8Array<ArrayBuffer> | undefined;
let keyAt = KEY_POOL;

/** Puts the next 4 random octets in `key` (copied, not a view: no object per frame). */
function nextKey(key: Uint8Array): void {
  if (keyAt === KEY_POOL) {
    keys ??= new Uint8Array(KEY_POOL);
    crypto.getRandomValues(keys);
    keyAt = 0;
  }
  const k = keys!;
  key[0] = k[keyAt]!;
  key[1] = k[keyAt + 1]!;
  key[2] = k[keyAt + 2]!;
  key[3] = k[keyAt + 3]!;
  keyAt += 4;
}

/** The JS mask, for when bufferutil is not installed. */
export const jsMask: MaskFn = (source, mask, output, offset, length) => {
  for (let i = 0; i < length; i++) output[offset + i] = source[i]! ^ mask[i & 3]!;
};

/** Octets of a frame header: 2, plus 2 or 8 for the extended length, plus 4 for a mask key. */
export function headerSize(n: number, masked: boolean): number {
  return (n < 126 ? 2 : n < 65536 ? 4 : 10) + (masked ? 4 : 0);
}

/** Writes a FIN BINARY frame header for `n` payload octets at `out[o]`; the key follows when given. */
export function writeHeader(out: Uint8Array, o: number, n: number, key: Uint8Array | undefined): number {
  out[o++] = 0x82; // FIN, opcode 2 (binary)
  const m = key === undefined ? 0 : 0x80;
  if (n < 126) out[o++] = m | n;
  else if (n < 65536) {
    out[o++] = m | 126;
    out[o++] = n >>> 8;
    out[o++] = n & 0xff;
  } else {
    out[o++] = m | 127;
    // 64-bit length; BEEP frames stay far below 2^32 (maxPayload), the high word is written anyway.
    const hi = Math.floor(n / 0x100000000);
    const lo = n >>> 0;
    out[o++] = hi >>> 24;
    out[o++] = (hi >>> 16) & 0xff;
    out[o++] = (hi >>> 8) & 0xff;
    out[o++] = hi & 0xff;
    out[o++] = lo >>> 24;
    out[o++] = (lo >>> 16) & 0xff;
    out[o++] = (lo >>> 8) & 0xff;
    out[o++] = lo & 0xff;
  }
  if (key !== undefined) {
    out[o++] = key[0]!;
    out[o++] = key[1]!;
    out[o++] = key[2]!;
    out[o++] = key[3]!;
  }
  return o;
}

/**
 * A control frame (RFC 6455 §5.5: FIN set, payload of at most 125 octets): opcode 0x8 close,
 * 0x9 ping, 0xA pong; masked with a fresh key when `masked` (the client). A new buffer: control
 * frames are rare, and the payload (a ping's, to be echoed) may be a view that changes.
 */
export function controlFrame(opcode: number, payload: Uint8Array, masked: boolean): Uint8Array {
  if (payload.length > 125) throw new RangeError('a control frame carries at most 125 octets');
  const out = new Uint8Array(2 + (masked ? 4 : 0) + payload.length);
  out[0] = 0x80 | opcode;
  out[1] = (masked ? 0x80 : 0) | payload.length;
  if (!masked) {
    out.set(payload, 2);
    return out;
  }
  const key = out.subarray(2, 6);
  nextKey(key);
  jsMask(payload, key, out, 6, payload.length);
  return out;
}

/**
 * Builds WebSocket frames from parts and writes them to a socket, all frames of one flush under
 * one cork. `masked` is the client side.
 */
export class WsFrameWriter {
  readonly #socket: FrameSocket;
  readonly #masked: boolean;
  readonly #mask: MaskFn;
  #queue: Uint8Array[] = [];
  #piece: Uint8Array | undefined; // arena holding our open piece: #piece[#start, #end)
  #start = 0;
  #end = 0;
  #bytes = 0;
  #slab: Slab | undefined; // the slab large masked frames are cut from in this flush
  #slabs: Slab[] = []; // every slab this flush uses
  readonly #key = new Uint8Array(4); // this frame's masking key (written into the header first)
  readonly #rot = new Uint8Array(4); // the key rotated to a part that starts off a 4-octet step

  /** Frames for `socket`, masked (client) or not (listener), masking with `mask`. */
  constructor(socket: FrameSocket, masked: boolean, mask: MaskFn) {
    this.#socket = socket;
    this.#masked = masked;
    this.#mask = mask;
  }

  /** Octets queued and not yet handed to the socket (frame headers included). */
  get queued(): number {
    return this.#bytes;
  }

  /** Queues one frame whose payload is the parts, in order (`n` octets in all). Parts are copied or kept as described above. */
  put(n: number, a: Uint8Array, b?: Uint8Array, c?: Uint8Array, d?: Uint8Array): void {
    const masked = this.#masked;
    const h = headerSize(n, masked);
    this.#bytes += h + n;
    if (masked) {
      const key = this.#key;
      nextKey(key);
      const out = this.#room(h + n);
      let o = writeHeader(out, this.#end, n, key);
      let at = 0; // payload offset: where the key's phase stands
      for (const p of [a, b, c, d]) {
        if (p === undefined || p.length === 0) continue;
        this.#mask(p, (at & 3) === 0 ? key : this.#rotated(key, at & 3), out, o, p.length);
        o += p.length;
        at += p.length;
      }
      this.#end = o;
      return;
    }
    let out = this.#room(h);
    this.#end = writeHeader(out, this.#end, n, undefined);
    for (const p of [a, b, c, d]) {
      if (p === undefined || p.length === 0) continue;
      if (p.length >= COPY_BELOW) {
        this.#cut();
        this.#queue.push(p);
        continue;
      }
      out = this.#room(p.length);
      out.set(p, this.#end);
      this.#end += p.length;
    }
  }

  #rotated(key: Uint8Array, k: number): Uint8Array {
    const r = this.#rot;
    for (let i = 0; i < 4; i++) r[i] = key[(i + k) & 3]!;
    return r;
  }

  /** An arena (or, past the arena's size, a buffer of its own) with `n` free octets at #end, extending our open piece. */
  #room(n: number): Uint8Array {
    if (n > ARENA / 4) {
      this.#cut();
      let slab = this.#slab;
      if (n > SLAB / 2) {
        // A frame that large: a buffer of its own (sendFrameSize is 256 KiB by default).
        this.#piece = new Uint8Array(n);
        this.#start = this.#end = 0;
        return this.#piece;
      }
      if (slab === undefined || slab.used + n > SLAB) {
        slab = this.#slab = takeSlab();
        this.#slabs.push(slab);
      }
      this.#piece = slab.buf;
      this.#start = this.#end = slab.used;
      slab.used += n;
      return slab.buf;
    }
    if (shared !== undefined && this.#piece === shared && this.#end === sharedUsed && sharedUsed + n <= ARENA) {
      sharedUsed += n;
      return shared;
    }
    this.#cut();
    if (shared === undefined || sharedUsed + n > ARENA) {
      shared = new Uint8Array(ARENA);
      sharedUsed = 0;
    }
    this.#piece = shared;
    this.#start = this.#end = sharedUsed;
    sharedUsed += n;
    return shared;
  }

  #cut(): void {
    if (this.#piece !== undefined && this.#end > this.#start) this.#queue.push(this.#piece.subarray(this.#start, this.#end));
    this.#piece = undefined;
    this.#start = this.#end = 0;
  }

  /** Writes everything queued; `done` is called once the socket took it (with its error, if any). Returns the octets written. */
  flush(done: (err?: Error | null) => void): number {
    this.#cut();
    const q = this.#queue;
    const n = this.#bytes;
    if (q.length === 0) return 0;
    this.#queue = [];
    this.#bytes = 0;
    const slabs = this.#slabs;
    let cb = done;
    if (slabs.length > 0) {
      this.#slabs = [];
      this.#slab = undefined;
      // Called once the socket wrote the last chunk (in order, so all of them), or failed.
      cb = (err) => {
        releaseSlabs(slabs);
        done(err);
      };
    }
    const s = this.#socket;
    if (q.length === 1) s.write(q[0]!, cb);
    else {
      s.cork();
      for (let i = 0; i < q.length - 1; i++) s.write(q[i]!);
      s.write(q[q.length - 1]!, cb);
      s.uncork();
    }
    return n;
  }

  /** Drops everything queued (the connection is closing or gone). */
  discard(): void {
    this.#cut();
    this.#queue = [];
    this.#bytes = 0;
    releaseSlabs(this.#slabs); // nothing of this flush reached the socket
    this.#slabs = [];
    this.#slab = undefined;
  }
}
