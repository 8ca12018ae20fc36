// A Transport over a message channel (a WebSocket), the part every WebSocket adapter shares
// (websocket.ts: the WHATWG API; ws-node.ts: the `ws` package). The wire is LibVortex's and
// vortice's: the payloads of the data messages, concatenated, are the BEEP octet stream, with
// no alignment promised on receive; we send exactly one BEEP frame per message, since the
// session writes one frame per write() call (header, payload, trailer). Writes are queued and
// sent at the end of the microtask run, each write() its own message, never merged.
import { BeepError } from '../errors.js';
import type { Transport, TransportAddress, TransportSink } from './transport.js';

/** Octets queued or in flight before write() asks the session to wait. */
export const HIGH_WATER = 1 << 20;

/** Default bound on input received while reading is paused (see MessageTransport.maxPausedInput). */
export const MAX_PAUSED_INPUT = 32 << 20;

/** The parts of one frame as one message (copied: the header may be a view that changes). */
export function joinParts(a: Uint8Array, b?: Uint8Array, c?: Uint8Array, d?: Uint8Array): Uint8Array {
  const n = a.length + (b?.length ?? 0) + (c?.length ?? 0) + (d?.length ?? 0);
  const m = new Uint8Array(n);
  m.set(a, 0);
  let o = a.length;
  for (const p of [b, c, d]) {
    if (p === undefined) continue;
    m.set(p, o);
    o += p.length;
  }
  return m;
}

/**
 * The session side of a message transport: queues, backpressure, pausing and the one
 * closed() call. A subclass sends messages (sendMessage), reports what is still buffered
 * (buffered), stops or resumes its source where it can (pauseSource), and feeds received()
 * and gone().
 */
export abstract class MessageTransport implements Transport {
  abstract readonly kind: string;
  /** The peer's address, when known. */
  remote: TransportAddress | undefined;
  /** Our address, when known. */
  local: TransportAddress | undefined;
  /**
   * Bound on octets received and not delivered while reading is paused (the application
   * blocked, the outbound budget is full, a TLS upgrade is pending): a WHATWG WebSocket cannot
   * stop reading, and a conforming peer stops at its BEEP windows (16 MiB by default), so past
   * this bound the transport fails with BEEP_ERR_BUDGET.
   */
  maxPausedInput = MAX_PAUSED_INPUT;
  #sink: TransportSink | undefined;
  #out: Uint8Array[] = [];
  #outBytes = 0;
  #scheduled = false;
  #full = false;
  #in: Uint8Array[] = [];
  #inBytes = 0;
  #delivering = false;
  #appPaused = false;
  #budgetPaused = false;
  #held = false;
  #closed = false;

  /** True when upgradeTls can take the listener side. */
  get canAcceptTls(): boolean {
    return false;
  }

  /** Sends one message (never called once closed). */
  protected abstract sendMessage(m: Uint8Array): void;
  /** Octets handed to sendMessage and not yet on the wire. */
  protected abstract get buffered(): number;
  /** Stops (true) or resumes (false) reading from the network, where the source can. */
  protected abstract pauseSource(paused: boolean): void;
  /** Closes in order after everything sent (a WebSocket close frame). */
  protected abstract closeSource(): void;
  /** Drops the connection at once. */
  protected abstract destroySource(): void;
  /** Called once full: arrange for checkDrain() to run as buffered() falls. */
  protected abstract watchDrain(): void;
  /** Brackets the messages of one flush (a byte stream corks them); default nothing. */
  protected batch(_begin: boolean): void {
    /* messages go one by one */
  }

  /** True once closed or failed. */
  get closed(): boolean {
    return this.#closed;
  }

  /** Delivers events to `sink`. */
  attach(sink: TransportSink | undefined): void {
    this.#sink = sink;
  }

  /** Resolves once open; never rejects. */
  abstract opened(): Promise<void>;

  /**
   * Takes one frame's parts (`n` octets) straight into the subclass's own send queue, in wire
   * form, where it can build messages from parts (ws-node.ts); false leaves them to be joined
   * into one message for sendMessage(). Called only while ready and nothing waits in the message
   * queue, so order is kept; octets taken count in `buffered` until on the wire.
   */
  protected take(_n: number, _a: Uint8Array, _b?: Uint8Array, _c?: Uint8Array, _d?: Uint8Array): boolean {
    return false;
  }

  /** Queues one frame as one message; sent at the end of this microtask run. */
  write(a: Uint8Array, b?: Uint8Array, c?: Uint8Array, d?: Uint8Array): boolean {
    if (this.#closed) return false;
    const n = a.length + (b?.length ?? 0) + (c?.length ?? 0) + (d?.length ?? 0);
    if (n > 0 && (this.#out.length > 0 || !this.ready || !this.take(n, a, b, c, d))) {
      this.#out.push(joinParts(a, b, c, d));
      this.#outBytes += n;
    }
    if (!this.#scheduled) {
      this.#scheduled = true;
      queueMicrotask(() => this.flush());
    }
    if (this.#outBytes + this.buffered >= HIGH_WATER) this.#full = true;
    return !this.#full;
  }

  /** Hands the frames take() kept to the network (they go before any queued message); default nothing. */
  protected sendTaken(): void {
    /* nothing taken */
  }

  /** Sends what take() kept, then every queued message, one per write() call, in order. */
  flush(): void {
    this.#scheduled = false;
    if (this.#closed || !this.ready) return;
    this.sendTaken();
    const q = this.#out;
    if (q.length > 0) {
      this.#out = [];
      this.#outBytes = 0;
      this.batch(true);
      for (const m of q) {
        if (this.#closed) break;
        this.sendMessage(m);
      }
      this.batch(false);
    }
    if (this.#closed) return;
    if (this.buffered >= HIGH_WATER) this.#full = true;
    if (this.#full) this.watchDrain();
  }

  /** False while messages cannot be sent yet (connecting, or a TLS upgrade under way). */
  protected get ready(): boolean {
    return true;
  }

  /** Octets queued by write() and not yet handed to sendMessage. */
  protected get queued(): number {
    return this.#outBytes;
  }

  /** Resumes a session that was told to wait, once what is buffered fell below half the mark. */
  protected checkDrain(): void {
    if (!this.#full || this.#closed) return;
    if (this.buffered + this.#outBytes >= HIGH_WATER / 2) return;
    this.#full = false;
    this.#sink?.drain();
  }

  /** True while write() asks the session to wait. */
  get full(): boolean {
    return this.#full;
  }

  /** True while input is not delivered. */
  protected get paused(): boolean {
    return this.#appPaused || this.#budgetPaused || this.#held;
  }

  /** The outbound budget is full (true) or drained (false). */
  pauseInput(paused: boolean): void {
    this.#budgetPaused = paused;
    this.#applyPause();
  }

  /** The application blocks (true) or unblocks reading. */
  block(on: boolean): void {
    this.#appPaused = on;
    this.#applyPause();
  }

  /** True while the application blocked reading. */
  get blocked(): boolean {
    return this.#appPaused;
  }

  /** Holds input after the current message until hold(false) (a tuning reset). */
  hold(on: boolean): void {
    this.#held = on;
    this.#applyPause();
  }

  /** True while input is held for a tuning reset. */
  get held(): boolean {
    return this.#held;
  }

  #applyPause(): void {
    if (this.#closed) return;
    const p = this.paused;
    this.pauseSource(p);
    // Queued input is delivered on a microtask, never inside the call that unpaused (a tuning
    // reset calls hold(false) in the middle of its work).
    if (!p && this.#in.length > 0) queueMicrotask(() => this.#deliver());
  }

  /**
   * Payload octets arrived (a message's, or a piece of one). `more` (default true: a message
   * transport's messages of one read come one by one): another piece of the same read follows,
   * so the session settles once, after the last (false).
   */
  protected received(chunk: Uint8Array, more = true): void {
    if (this.#closed || chunk.length === 0) return;
    if (this.paused || this.#in.length > 0 || this.#delivering) {
      this.#in.push(chunk);
      this.#inBytes += chunk.length;
      if (this.#inBytes > this.maxPausedInput) {
        this.#fail(new BeepError(`more than ${this.maxPausedInput} octets received while reading was paused`, 'BEEP_ERR_BUDGET'));
      }
      return;
    }
    this.#sink?.data(chunk, more);
  }

  /** Takes the input received and not delivered (an in-place TLS upgrade feeds it to TLS). */
  protected takeInput(): Uint8Array[] {
    const q = this.#in;
    this.#in = [];
    this.#inBytes = 0;
    return q;
  }

  #deliver(): void {
    if (this.#delivering) return;
    this.#delivering = true;
    try {
      while (this.#in.length > 0 && !this.paused && !this.#closed) {
        const c = this.#in.shift()!;
        this.#inBytes -= c.length;
        this.#sink?.data(c, true);
      }
    } finally {
      this.#delivering = false;
    }
  }

  /** The connection is gone (`err` when it failed); the sink hears it once. */
  protected gone(err?: Error): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#out = [];
    this.#in = [];
    this.#outBytes = this.#inBytes = 0;
    const sink = this.#sink;
    this.#sink = undefined;
    sink?.closed(err);
  }

  #fail(err: Error): void {
    try {
      this.destroySource();
    } catch {
      /* already gone */
    }
    this.gone(err);
  }

  /** Drops the connection at once, pending writes discarded. */
  abort(): void {
    this.#out = [];
    this.#outBytes = 0;
    try {
      this.destroySource();
    } catch {
      /* already gone */
    }
    this.gone();
  }

  /** A WebSocket has no RST: the same as abort(). */
  reset(): void {
    this.abort();
  }

  /** Closes after pending writes (a close frame follows the last message). */
  end(): void {
    if (this.#closed) return;
    this.flush();
    this.closeSource();
  }
}
