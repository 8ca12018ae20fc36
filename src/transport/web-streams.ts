// A Transport over a ReadableStream/WritableStream pair: the generic adapter any runtime with
// Web Streams can use (Deno's and workerd's sockets are such pairs, so are a WebSocketStream or
// an in-memory pipe). Writes of one microtask run go out as one chunk; reads stop between
// chunks (never with a read pending), which is what an in-place TLS upgrade needs.
import type { Transport, TransportAddress, TransportSink, TlsClientUpgrade, TlsServerUpgrade, TlsInfo } from './transport.js';

/** A byte stream as a pair of Web Streams. */
export interface StreamPair {
  /** Octets from the peer. */
  readable: ReadableStream<Uint8Array>;
  /** Octets to the peer. */
  writable: WritableStream<Uint8Array>;
}

/** What an in-place TLS upgrade gives back: the encrypted stream pair. */
export type TlsUpgrade = (side: TlsClientUpgrade | (TlsServerUpgrade & { server: true })) => Promise<
  StreamPair & {
    /** What the handshake agreed (protocol, peer certificate), as far as the runtime tells. */
    info?: TlsInfo;
  }
>;

/** Options of a WebStreamsTransport. */
export interface WebStreamsOptions {
  /** Adapter name for diagnostics (default 'web-streams'). */
  kind?: string;
  /** The peer's address, if known. */
  remote?: TransportAddress;
  /** Our address, if known. */
  local?: TransportAddress;
  /** Closes what is under the streams (a socket), after they ended. */
  close?: () => void;
  /** In-place TLS upgrade, where the runtime has one (called with both streams released). */
  upgradeTls?: TlsUpgrade;
  /** upgradeTls can take the listener side (default false). */
  canAcceptTls?: boolean;
}

/** Octets in flight (written, not yet taken by the stream) before write() asks the session to wait. */
const HIGH_WATER = 1 << 20;

/** A Transport over a Web Streams pair (or a promise of one: a connection being made). */
export class WebStreamsTransport implements Transport {
  /** Adapter name. */
  readonly kind: string;
  /** The peer's address, if known. */
  remote: TransportAddress | undefined;
  /** Our address, if known. */
  local: TransportAddress | undefined;
  /** True when the adapter's upgrade can take the listener side. */
  readonly canAcceptTls: boolean;
  readonly #opts: WebStreamsOptions;
  #pair: StreamPair | undefined;
  #opened: Promise<void>;
  #sink: TransportSink | undefined;
  #reader: ReadableStreamDefaultReader<Uint8Array> | undefined;
  #writer: WritableStreamDefaultWriter<Uint8Array> | undefined;
  #queue: Uint8Array[] = [];
  #queued = 0;
  #scheduled = false;
  #inflight = 0;
  #lastWrite: Promise<void> = Promise.resolve();
  #full = false;
  #reading = false; // a read() is pending
  #appPaused = false;
  #budgetPaused = false;
  #held = false;
  #upgrading = false;
  #wake: (() => void) | undefined;
  #closed = false;
  #ending = false;

  /** Wraps a stream pair, or a promise of one (failures close the transport). */
  constructor(pair: StreamPair | Promise<StreamPair>, opts: WebStreamsOptions = {}) {
    this.kind = opts.kind ?? 'web-streams';
    this.remote = opts.remote;
    this.local = opts.local;
    this.canAcceptTls = opts.canAcceptTls ?? false;
    this.#opts = opts;
    this.#opened = Promise.resolve(pair).then(
      (p) => {
        this.#use(p);
      },
      (e: unknown) => {
        this.#gone(e instanceof Error ? e : new Error(String(e)));
      },
    );
  }

  #use(p: StreamPair): void {
    if (this.#closed) {
      void p.readable.cancel().catch(() => {});
      void p.writable.abort().catch(() => {});
      return;
    }
    this.#pair = p;
    this.#writer = p.writable.getWriter();
    this.#reader = p.readable.getReader();
    if (this.#queue.length > 0) this.flush();
    void this.#pump(this.#reader);
  }

  /** True once the transport is closed. */
  get closed(): boolean {
    return this.#closed;
  }

  /** Delivers events to `sink`. */
  attach(sink: TransportSink | undefined): void {
    this.#sink = sink;
  }

  /** Resolves once the stream pair exists (never rejects). */
  opened(): Promise<void> {
    return this.#opened;
  }

  get #paused(): boolean {
    return this.#appPaused || this.#budgetPaused || this.#held || this.#upgrading;
  }

  async #pump(reader: ReadableStreamDefaultReader<Uint8Array>): Promise<void> {
    try {
      for (;;) {
        while (this.#paused && !this.#closed) {
          if (this.#upgrading) return; // the upgrade takes the stream over; a new pump follows
          await new Promise<void>((res) => {
            this.#wake = res;
          });
        }
        if (this.#closed || reader !== this.#reader) return;
        this.#reading = true;
        const { value, done } = await reader.read();
        this.#reading = false;
        if (done) {
          this.#gone();
          return;
        }
        if (value !== undefined && value.length > 0) this.#sink?.data(value);
      }
    } catch (e) {
      this.#reading = false;
      if (!this.#upgrading) this.#gone(e instanceof Error ? e : new Error(String(e)));
    }
  }

  #resume(): void {
    const w = this.#wake;
    this.#wake = undefined;
    w?.();
  }

  /** Queues frame parts (copied: they may be views that change); written at the end of this microtask run. */
  write(a: Uint8Array, b?: Uint8Array, c?: Uint8Array, d?: Uint8Array): boolean {
    for (const p of [a, b, c, d]) {
      if (p === undefined || p.length === 0) continue;
      this.#queue.push(p.slice());
      this.#queued += p.length;
    }
    if (!this.#scheduled) {
      this.#scheduled = true;
      queueMicrotask(() => this.flush());
    }
    // Past the mark the session waits for drain(), which the write completions give.
    if (this.#inflight + this.#queued >= HIGH_WATER) this.#full = true;
    return !this.#full;
  }

  /** Hands queued octets to the stream as one chunk. */
  flush(): void {
    this.#scheduled = false;
    const w = this.#writer;
    if (w === undefined || this.#queue.length === 0 || this.#closed || this.#upgrading) return;
    const q = this.#queue;
    const n = this.#queued;
    this.#queue = [];
    this.#queued = 0;
    let chunk: Uint8Array;
    if (q.length === 1) chunk = q[0]!;
    else {
      chunk = new Uint8Array(n);
      let o = 0;
      for (const p of q) {
        chunk.set(p, o);
        o += p.length;
      }
    }
    this.#inflight += n;
    this.#lastWrite = w.write(chunk).then(
      () => {
        this.#inflight -= n;
        if (this.#full && this.#inflight + this.#queued < HIGH_WATER / 2) {
          this.#full = false;
          this.#sink?.drain();
        }
      },
      (e: unknown) => {
        this.#gone(e instanceof Error ? e : new Error(String(e)));
      },
    );
  }

  /** True while write() asks the session to wait. */
  get full(): boolean {
    return this.#full;
  }

  /** The outbound budget is full (true) or drained (false). */
  pauseInput(paused: boolean): void {
    this.#budgetPaused = paused;
    if (!this.#paused) this.#resume();
  }

  /** The application blocks (true) or unblocks reading. */
  block(on: boolean): void {
    this.#appPaused = on;
    if (!this.#paused) this.#resume();
  }

  /** True while the application blocked reading. */
  get blocked(): boolean {
    return this.#appPaused;
  }

  /** Holds input after the current chunk until hold(false) (a tuning reset). */
  hold(on: boolean): void {
    this.#held = on;
    if (!this.#paused) this.#resume();
  }

  #gone(err?: Error): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#resume();
    try {
      this.#opts.close?.();
    } catch {
      /* already closed */
    }
    const sink = this.#sink;
    this.#sink = undefined;
    sink?.closed(err);
  }

  /** Drops the connection at once. */
  abort(): void {
    this.#queue = [];
    this.#queued = 0;
    void this.#reader?.cancel().catch(() => {});
    void this.#writer?.abort().catch(() => {});
    this.#gone();
  }

  /** Web Streams have no RST: the same as abort(). */
  reset(): void {
    this.abort();
  }

  /** Half-closes after pending writes. */
  end(): void {
    if (this.#ending || this.#closed) return;
    this.#ending = true;
    this.flush();
    const w = this.#writer;
    void this.#lastWrite.then(() => w?.close()).catch(() => {});
  }

  /** In-place TLS (see Transport.upgradeTls): only where the adapter was given an upgrade. */
  get upgradeTls(): Transport['upgradeTls'] {
    const up = this.#opts.upgradeTls;
    if (up === undefined) return undefined;
    return async (side, secured) => {
      if (this.#reading) throw new Error('TLS upgrade with a read pending (input was not held)');
      this.flush(); // the last plain frames (<proceed/>) go first
      this.#upgrading = true;
      this.#resume(); // a parked pump returns
      try {
        await this.#lastWrite;
        this.#reader?.releaseLock();
        this.#writer?.releaseLock();
        this.#reader = this.#writer = undefined;
        const next = await up.call(this.#opts, side);
        this.#upgrading = false;
        this.#held = true; // until the caller's reset, which runs in `secured`
        this.#pair = next;
        this.#writer = next.writable.getWriter();
        this.#reader = next.readable.getReader();
        // An upgrade that does not say whether it verified the peer is not counted as verified.
        const info = next.info ?? { verified: false, verifyError: `the ${this.kind} upgrade does not report verification` };
        void this.#pump(this.#reader);
        secured(info);
        return info;
      } catch (e) {
        this.#upgrading = false;
        const err = e instanceof Error ? e : new Error(String(e));
        this.#gone(err);
        throw err;
      }
    };
  }

  /** The current stream pair (after a TLS upgrade, the encrypted one). */
  get streams(): StreamPair | undefined {
    return this.#pair;
  }
}
