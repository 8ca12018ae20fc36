// node:net (and node:tls) adapter: the only place that touches Node sockets. Frames written
// in one synchronous run reach the socket together at the end of the run: small pieces
// coalesced in an arena, large payloads by reference under cork.
import type { Socket } from 'node:net';
import type { Session, SessionIO } from '../session/session.js';

/** Pieces at least this large are written by reference; smaller ones are copied together. */
const COPY_BELOW = 16384;

/** Size of the arena small parts are copied into. */
const ARENA = 65536;

// One arena per process, shared by every connection: a session writes a few hundred octets per
// flush, so a 64 KiB arena per connection is mostly idle memory. Each connection cuts its own
// pieces out of it; bytes handed to a socket are never rewritten (filling moves forward and a
// full arena is replaced), exactly as with a private arena.
let shared = Buffer.allocUnsafe(ARENA);
let sharedUsed = 0;

/** SessionIO over a Node stream socket. */
export class NodeSocketIO implements SessionIO {
  /** The socket (replaced in place by a TLS upgrade). */
  socket: Socket;
  // Small parts are copied at once into the shared arena (frame headers may be views that
  // change); large ones are queued by reference.
  #piece: Buffer | undefined; // arena holding our open piece
  #start = 0; // open piece: #piece[#start, #end)
  #end = 0;
  #queue: Buffer[] = [];
  #bytes = 0;
  #scheduled = false;
  #full = false; // the socket asked us to wait for 'drain'
  #overflow = false; // write() said "wait" because of our own backlog, not the socket's
  #appPaused = false; // the application blocked reading (Connection.block)
  #budgetPaused = false; // the session's outbound budget is full

  /** Wraps a connected socket. */
  constructor(socket: Socket) {
    this.socket = socket;
  }

  #cut(): void {
    if (this.#piece !== undefined && this.#end > this.#start) this.#queue.push(this.#piece.subarray(this.#start, this.#end));
    this.#piece = undefined;
  }

  #put(p: Uint8Array): void {
    const n = p.length;
    this.#bytes += n;
    if (n >= COPY_BELOW) {
      this.#cut();
      this.#queue.push(Buffer.from(p.buffer, p.byteOffset, n));
      return;
    }
    if (sharedUsed + n > ARENA) {
      shared = Buffer.allocUnsafe(ARENA);
      sharedUsed = 0;
    }
    // Our piece grows while nobody else wrote into the arena since; otherwise a new one starts.
    if (this.#piece !== shared || this.#end !== sharedUsed) {
      this.#cut();
      this.#piece = shared;
      this.#start = this.#end = sharedUsed;
    }
    shared.set(p, sharedUsed);
    sharedUsed += n;
    this.#end = sharedUsed;
  }

  /** Queues frame parts; they reach the socket at the end of the current microtask run. */
  write(a: Uint8Array, b?: Uint8Array, c?: Uint8Array): boolean {
    this.#put(a);
    if (b !== undefined) this.#put(b);
    if (c !== undefined) this.#put(c);
    if (!this.#scheduled) {
      this.#scheduled = true;
      queueMicrotask(() => this.flush()); // a closure per flush round, none kept per connection
    }
    // Back-pressure: the socket's verdict at the last flush, or a large backlog now.
    if (this.#full) return false;
    if (this.#bytes >= 1 << 20) { this.#overflow = true; return false; }
    return true;
  }

  /** Hands everything queued to the socket. */
  flush(): void {
    this.#scheduled = false;
    this.#cut();
    const q = this.#queue;
    if (q.length === 0) return;
    this.#queue = [];
    this.#bytes = 0;
    const s = this.socket;
    if (s.destroyed) return;
    let ok = true;
    if (q.length === 1) ok = s.write(q[0]);
    else {
      s.cork();
      for (const b of q) ok = s.write(b) && ok;
      s.uncork();
    }
    this.#full = !ok;
    if (this.#overflow) {
      this.#overflow = false;
      // The session stopped at our backlog limit and the socket took it all: no 'drain' will
      // come, so resume it ourselves, after a turn of the event loop (a long queue is written
      // 1 MiB per turn, never all in one run).
      if (ok) setImmediate(() => { const b = (this.socket as Bound)[kBound]; if (b !== undefined && b.io === this) b.session.drain(); });
    }
  }

  /** The session's outbound budget is full (true) or drained (false): stop or resume reading. */
  pauseInput(paused: boolean): void {
    this.#budgetPaused = paused;
    this.#applyPause();
  }

  /** The application blocks (true) or unblocks reading (Connection.block). */
  block(on: boolean): void {
    this.#appPaused = on;
    this.#applyPause();
  }

  /** True while the application blocked reading. */
  get blocked(): boolean { return this.#appPaused; }

  #applyPause(): void {
    if (this.#appPaused || this.#budgetPaused) this.socket.pause();
    else this.socket.resume();
  }

  /** True when the socket wants us to wait for 'drain'. */
  get full(): boolean { return this.#full; }

  /** Clears the wait once the socket drained. */
  drained(): void { this.#full = false; }

  /** Destroys the socket at once (pending frames dropped: the session was aborted). */
  abort(): void {
    this.#queue = [];
    this.socket.destroy();
  }

  /**
   * Resets the connection (RST where the runtime can): a peer that kept TCP open after the
   * release learns at once that we are gone, even if it reads nothing.
   */
  reset(): void {
    this.#queue = [];
    const s = this.socket as Socket & { resetAndDestroy?: () => void };
    if (typeof s.resetAndDestroy === 'function' && !s.destroyed) s.resetAndDestroy();
    else s.destroy();
  }

  /** Half-closes after pending writes. */
  end(): void {
    this.flush();
    if (!this.socket.destroyed) this.socket.end();
  }
}

// Listeners shared by every socket (no closures per connection): the socket carries its
// session and adapter under a symbol.
const kBound = Symbol('beepwire.bound');
type Bound = Socket & { [kBound]?: { io: NodeSocketIO; session: Session } };
function onData(this: Bound, chunk: Buffer): void { this[kBound]?.session.receive(chunk); }
function onDrain(this: Bound): void { const b = this[kBound]; if (b !== undefined) { b.io.drained(); b.session.drain(); } }
function onClose(this: Bound): void { this[kBound]?.session.transportClosed(); }
function onError(this: Bound, e: Error): void { this[kBound]?.session.transportClosed(e); }

/** Feeds a socket's events into a session (undo with detachSocket). */
export function attachSocket(socket: Socket, io: NodeSocketIO, session: Session): void {
  socket.setNoDelay(true);
  (socket as Bound)[kBound] = { io, session };
  socket.on('data', onData);
  socket.on('drain', onDrain);
  socket.on('close', onClose);
  socket.on('error', onError);
}

/** Detaches what attachSocket attached. */
export function detachSocket(socket: Socket): void {
  socket.off('data', onData);
  socket.off('drain', onDrain);
  socket.off('close', onClose);
  socket.off('error', onError);
  (socket as Bound)[kBound] = undefined;
}
