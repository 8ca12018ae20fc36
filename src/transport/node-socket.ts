// node:net (and node:tls) adapter: the only place that touches Node sockets. Frames written
// in one synchronous run reach the socket together at the end of the run: small pieces
// coalesced in an arena, large payloads by reference under cork.
import type { Socket } from 'node:net';
import type { Session, SessionIO } from '../session/session.js';

/** Pieces at least this large are written by reference; smaller ones are copied together. */
const COPY_BELOW = 16384;

/** Size of the arena small parts are copied into. */
const ARENA = 65536;

/** SessionIO over a Node stream socket. */
export class NodeSocketIO implements SessionIO {
  /** The socket (replaced in place by a TLS upgrade). */
  socket: Socket;
  // Small parts are copied at once into an arena (frame headers may be views that change);
  // large ones are queued by reference. Arena bytes handed to the socket are never rewritten:
  // filling continues after them, and a full arena is replaced. The arena is allocated on the
  // first write, not per connection up front: an idle session must cost a few KiB, not 64.
  #arena: Buffer | undefined;
  #start = 0; // first arena byte not yet queued
  #used = 0;
  #queue: Buffer[] = [];
  #bytes = 0;
  #scheduled = false;
  #full = false; // the socket asked us to wait for 'drain'
  #appPaused = false; // the application blocked reading (Connection.block)
  #budgetPaused = false; // the session's outbound budget is full
  #flush = (): void => this.flush();

  /** Wraps a connected socket. */
  constructor(socket: Socket) {
    this.socket = socket;
  }

  #cut(): void {
    if (this.#used > this.#start) {
      this.#queue.push(this.#arena!.subarray(this.#start, this.#used));
      this.#start = this.#used;
    }
  }

  #put(p: Uint8Array): void {
    const n = p.length;
    this.#bytes += n;
    if (n >= COPY_BELOW) {
      this.#cut();
      this.#queue.push(Buffer.from(p.buffer, p.byteOffset, n));
      return;
    }
    if (this.#arena === undefined || this.#used + n > ARENA) {
      this.#cut();
      this.#arena = Buffer.allocUnsafe(ARENA);
      this.#start = this.#used = 0;
    }
    this.#arena.set(p, this.#used);
    this.#used += n;
  }

  /** Queues frame parts; they reach the socket at the end of the current microtask run. */
  write(a: Uint8Array, b?: Uint8Array, c?: Uint8Array): boolean {
    this.#put(a);
    if (b !== undefined) this.#put(b);
    if (c !== undefined) this.#put(c);
    if (!this.#scheduled) {
      this.#scheduled = true;
      queueMicrotask(this.#flush);
    }
    // Back-pressure: the socket's verdict at the last flush, or a large backlog now.
    return !this.#full && this.#bytes < 1 << 20;
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
  }

  /** Drops the idle arena (called by the session sweep when nothing was written for a while). */
  trim(): void {
    if (!this.#scheduled) { this.#cut(); if (this.#queue.length === 0) this.#release(); }
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
    this.#release();
    this.socket.destroy();
  }

  /**
   * Resets the connection (RST where the runtime can): a peer that kept TCP open after the
   * release learns at once that we are gone, even if it reads nothing.
   */
  reset(): void {
    this.#queue = [];
    this.#release();
    const s = this.socket as Socket & { resetAndDestroy?: () => void };
    if (typeof s.resetAndDestroy === 'function' && !s.destroyed) s.resetAndDestroy();
    else s.destroy();
  }

  /** Half-closes after pending writes. */
  end(): void {
    this.flush();
    if (!this.socket.destroyed) this.socket.end();
    this.#release();
  }

  /** Drops the arena once nothing more will be written from it. */
  #release(): void {
    if (this.#queue.length === 0) { this.#arena = undefined; this.#start = this.#used = 0; }
  }
}

/** Feeds a socket's events into a session. Returns a function that detaches them. */
export function attachSocket(socket: Socket, io: NodeSocketIO, session: Session): () => void {
  socket.setNoDelay(true);
  const onData = (chunk: Buffer): void => session.receive(chunk);
  const onDrain = (): void => { io.drained(); session.drain(); };
  const onClose = (): void => session.transportClosed();
  const onError = (e: Error): void => session.transportClosed(e);
  socket.on('data', onData);
  socket.on('drain', onDrain);
  socket.on('close', onClose);
  socket.on('error', onError);
  return () => {
    socket.off('data', onData);
    socket.off('drain', onDrain);
    socket.off('close', onClose);
    socket.off('error', onError);
  };
}
