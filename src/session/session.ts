// Sans-I/O BEEP session (RFC 3080, RFC 3081): bytes in through receive(), bytes out through
// the SessionIO it is given. No sockets, timers or node: modules here.
import { createCodec, type CodecImpl, type FrameHandler, type SessionCodec } from '../codec/index.js';
import { T_MSG, T_RPY, T_ERR, T_ANS, T_NUL } from '../codec/layout.js';
import { statusText } from '../codec/status.js';
import { BeepError, BeepFramingError, asError } from '../errors.js';
import { ChannelState, AWAIT_ANS, type OutMessage, type Partial as PartialMessage } from './channel-state.js';
import { Fifo } from './fifo.js';
import { Pieces, type Body } from './pieces.js';
import { Message, TYPE_NAMES } from './message.js';
import { resolveLimits, type ResolvedLimits, type SessionLimits } from './limits.js';
import { Management, type Greeting, type SessionHooks } from './management.js';
import { processBudget, addQueued, processQueueFull, waitProcessQueue, cancelProcessQueueWait } from './budget.js';

/** Where a session writes. `write` returns false when the transport wants it to wait for drain(). */
export interface SessionIO {
  /**
   * Writes up to four parts in order: a data frame is always one call (frame header, MIME
   * header block, payload, trailer; absent parts left out), which a message transport sends as
   * one message. Parts may be views that change after the call (frame headers): copy what is
   * kept. False = pause until Session.drain().
   */
  write(a: Uint8Array, b?: Uint8Array, c?: Uint8Array, d?: Uint8Array): boolean;
  /**
   * Optional: writes one whole frame, `head` (a MIME header block, if any) between header and
   * body, the body being one array or Pieces (a large message sent without joining: write them
   * in order); same contract as write(). A transport without it gets one write(header, head, body,
   * trailer) per frame (pieces joined), so a frame is always one write: one WebSocket message.
   */
  writeFrame?(header: Uint8Array, head: Uint8Array | undefined, body: Body, trailer: Uint8Array): boolean;
  /** Ends the transport (after pending writes). */
  end(): void;
  /** Drops the transport at once (poorly formed input: no response, no more reading). */
  abort?(): void;
  /** Stops (true) or resumes (false) reading from the peer: the outbound budget is full. */
  pauseInput?(paused: boolean): void;
  /**
   * Stops delivering input after the current chunk (true) until a tuning reset (false): the
   * peer answered a tuning request, and the octets that follow belong to the next session.
   */
  hold?(on: boolean): void;
}

/** Options of a session. */
export interface SessionOptions extends SessionLimits {
  /** 'initiator' opens odd channels, 'listener' even ones (RFC 3080 §2.3.1.2). */
  role: 'initiator' | 'listener';
  /** Codec implementation (default 'wasm'). */
  codec?: CodecImpl;
  /** Deliver each frame instead of whole messages. */
  perFrame?: boolean;
  /** Chunks given to receive() are never reused by the transport: payloads may be views. */
  ownedChunks?: boolean;
  /**
   * Refuse (550) a peer's `<close number='0'>` while its channels are open, as RFC 3080
   * §2.3.1.3 allows; by default the remaining channels are closed implicitly and the session
   * released, which is what several implementations expect.
   */
  refuseReleaseWithOpenChannels?: boolean;
}

/** Receive-side sequence state of a channel, as the codec reports it. */
type RecvState = ReturnType<SessionCodec['recvState']>;

const END = new Uint8Array([69, 78, 68, 13, 10]); // "END\r\n"
/** Payload octets one channel may write per flush round before the next channel's turn. */
const FAIR_SHARE = 65536;
const EMPTY = new Uint8Array(0);
/**
 * Octets charged per queued outbound message on top of its payload, and per parked inbound MSG:
 * the objects behind an empty message cost ~200-400 octets, and a budget that counted payload
 * only let a peer queue 100,000 empty replies (20 MiB) within a 200 KB count.
 */
const QUEUE_COST = 256;
const PARK_COST = 512;
/** Charged per message being reassembled (an empty `*` frame opens one at no payload cost). */
const PARTIAL_COST = 256;
/** Parked MSGs handed over per pass, so a long list never holds the event loop. */
const UNPARK_BATCH = 1024;
/** Reassembled messages from this size on are delivered as their pieces (Message joins them when asked). */
const KEEP_PARTS = 32768;
/** Shared, always empty: a quiet session holds no list of its own (see compact()). */
const NO_CHANNELS: (ChannelState | undefined)[] = [];

/** One BEEP session over one transport connection. */
export class Session implements FrameHandler {
  /** Our role. */
  readonly role: 'initiator' | 'listener';
  /** Resolved limits. */
  readonly limits: ResolvedLimits;
  /** Codec state (seqnos, windows, parsing). */
  readonly codec: SessionCodec;
  /** Open channels including channel 0. */
  readonly channels = new Map<number, ChannelState>();
  /** Channel 0 management. */
  readonly mgmt: Management;
  /** Application hooks. */
  readonly hooks: SessionHooks;
  /** Set once the session ended; the error when it ended abnormally. */
  ended = false;
  /** Why the session ended, if abnormally. */
  error: Error | undefined;
  /** See SessionOptions.refuseReleaseWithOpenChannels. */
  readonly refuseReleaseWithChannels: boolean;
  readonly #io: SessionIO;
  readonly #perFrame: boolean;
  readonly #owned: boolean;
  #blocked = false;
  // Channels with queued frames: an array with holes where one left (ChannelState.readyAt), not a
  // Set: a Set emptied by delete() reallocates its table each time, garbage per message sent.
  // The holes are squeezed out when the outermost flush() returns (flush() can re-enter).
  #ready: (ChannelState | undefined)[] = NO_CHANNELS;
  #readyLen = 0; // slots in use, holes included
  #readyCount = 0; // channels in the list
  #flushDepth = 0;
  // Channels with ChannelState.touched set, in [0, #touchedN) (see #acknowledge); two arrays
  // taking turns, filled from their start each pass (a new array per pass was garbage per read).
  #touched: Array<ChannelState | undefined> = [];
  #touchedN = 0;
  #touchedSpare: Array<ChannelState | undefined> = [];
  #lastCh: ChannelState | undefined; // the channel of the last frame (onFrame)
  #windowUsed = 0;
  #octetsIn = 0;
  #octetsOut = 0;
  #buffered = 0; // octets held in partly received messages, all channels
  #queued = 0; // octets queued for sending and not yet written
  #inputPaused = false; // reading stopped: the outbound budget is full and the peer is not reading
  #over = false; // the outbound budget is full (hysteresis: until the queue is below half)
  #parked = new Fifo<[ChannelState, Message]>(); // peer MSGs held back while #over
  #progress = 0; // data frames and payload octets received (SEQ frames are not progress)
  #pinning: PartialMessage[] = []; // partials given views of the chunk being decoded (see #unpin)
  #wakeTask: (() => void) | undefined; // made when the process budget is first waited for

  /** Creates a session; call start() to send the greeting. */
  constructor(io: SessionIO, hooks: SessionHooks, opts: SessionOptions) {
    this.role = opts.role;
    this.limits = resolveLimits(opts);
    this.codec = createCodec({ maxHeader: this.limits.maxHeader, maxFrame: this.limits.maxFrame }, opts.codec ?? 'wasm');
    this.#io = io;
    this.hooks = hooks;
    this.#perFrame = opts.perFrame ?? false;
    this.#owned = opts.ownedChunks ?? false;
    this.refuseReleaseWithChannels = opts.refuseReleaseWithOpenChannels ?? false;
    this.mgmt = new Management(this);
    processBudget.sessions++;
  }

  /** Sends our greeting at once (never waits for the peer's: LibVortex waits for ours). */
  start(greeting: Greeting, refuse?: { code: number; text: string }): void {
    // Ended already: a connection:open logger or subscriber shut the connection down.
    if (this.ended) return;
    this.addChannel(0, '', true);
    this.mgmt.sendGreeting(greeting, refuse);
  }

  /**
   * Tuning reset (RFC 3080 §3, used after TLS and SASL security layers): every channel is
   * gone, seqnos, msgnos and windows restart, and both peers greet again. Our new greeting
   * is written at once.
   */
  tuningReset(greeting: Greeting): void {
    if (this.ended) return;
    for (const ch of this.channels.values()) {
      ch.state = 'closed';
      if (ch.number !== 0) this.hooks.channelClosed?.(ch);
    }
    this.channels.clear();
    this.#ready = NO_CHANNELS;
    this.#readyLen = this.#readyCount = 0;
    this.#touched = [];
    this.#touchedN = 0;
    this.#lastCh = undefined;
    this.#suspended = false;
    this.#blocked = false;
    this.seqFrames = true;
    this.#windowUsed = 0;
    this.#current = this.#currentCh = undefined;
    this.#release();
    this.codec.reset();
    this.mgmt.reset(new BeepError('tuning reset', 'BEEP_ERR_TUNING_RESET'));
    this.start(greeting);
    this.#io.hold?.(false); // input held since the tuning answer belongs to this session now
  }

  /**
   * Sends SEQ frames (default). A TUNNEL set-up turns them off: after the far side's <ok /> no
   * octet of this session may follow (LibVortex vortex_connection_seq_frame_updates). A tuning
   * reset turns them on again.
   */
  seqFrames = true;

  /** Octets received and sent. */
  get octets(): {
    /** Octets received, headers and trailers included. */
    in: number;
    /** Octets written, headers and trailers included. */
    out: number;
  } {
    return { in: this.#octetsIn, out: this.#octetsOut };
  }
  /** Octets received so far (cheap read for watchdogs). */
  get octetsIn(): number {
    return this.#octetsIn;
  }
  /** Octets sent so far. */
  get octetsOut(): number {
    return this.#octetsOut;
  }
  /**
   * Grows with every data frame and payload octet received. SEQ frames do not count: a peer
   * that keeps a message half sent while trickling SEQs is stalled all the same.
   */
  get progress(): number {
    return this.#progress;
  }
  /** Inbound octets held against maxBuffered (partial and parked messages, held answers and frames). */
  get buffered(): number {
    return this.#buffered;
  }
  /** Outbound octets queued and not yet written. */
  get queued(): number {
    return this.#queued;
  }
  /** False while the outbound budget is full (from reaching maxQueued until below half of it). */
  get writable(): boolean {
    return !this.#over;
  }
  /** True while a frame or message is partly received (a stalled peer is detectable). */
  get receiving(): boolean {
    // Held answers and parked MSGs are whole messages: only partial frames and messages count.
    // A partial header is octets not yet consumed; a frame or message in progress has a partial.
    if (this.#octetsIn !== this.codec.streamOffset) return true;
    for (const ch of this.channels.values()) if (ch.partialCount > 0) return true; // even empty ones
    return false;
  }

  /**
   * Feeds bytes from the transport. Never throws: a fault while handling peer input ends
   * this session only (RFC 3080 §2.2.1.1), whatever its cause. With `burst` more chunks are
   * likely to follow in this run (a message transport gets one per WebSocket message, often
   * dozens per socket read): window updates and writes then wait for the end of the run, one
   * pass for the whole burst instead of one per chunk.
   */
  receive(chunk: Uint8Array, burst = false): void {
    if (this.ended) return;
    this.#octetsIn += chunk.length;
    // A plain Uint8Array over the chunk (one per chunk): the views made of it per message
    // (payloads, raw replies) are then plain subarrays, several times cheaper than a Buffer's.
    if (chunk.constructor !== Uint8Array) chunk = new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.length);
    try {
      const ok = this.codec.decode(chunk, this);
      if (this.#pinning.length > 0) this.#unpin(chunk);
      if (!ok) return;
      if (burst) {
        if (!this.#settleQueued) {
          this.#settleQueued = true;
          queueMicrotask((this.#settleTask ??= () => this.#settle()));
        }
        return;
      }
      this.#acknowledge();
      this.flush();
    } catch (e) {
      this.abort(asError(e));
    }
  }

  #settleQueued = false;
  #settleTask: (() => void) | undefined; // made on the first burst

  /** The end of a burst of input: window updates, then writes. */
  #settle(): void {
    this.#settleQueued = false;
    if (this.ended) return;
    try {
      this.#acknowledge();
      this.flush();
    } catch (e) {
      this.abort(asError(e));
    }
  }

  /** The transport drained: resume writing. */
  drain(): void {
    this.#blocked = false;
    this.#safeFlush();
  }

  /** flush() for callbacks outside an API call: a fault ends the session instead of escaping. */
  #safeFlush(): void {
    try {
      this.flush();
    } catch (e) {
      this.abort(asError(e));
    }
  }

  /** Octets from the transport (TransportSink.data). */
  data(chunk: Uint8Array, more?: boolean): void {
    this.receive(chunk, more === true);
  }

  /** The transport is gone (TransportSink.closed). */
  closed(err?: Error): void {
    this.transportClosed(err);
  }

  /** Holds input until the next tuning reset (a tuning channel's answer arrived). */
  holdInput(): void {
    this.#io.hold?.(true);
  }

  /** The transport closed (or failed) underneath us. */
  transportClosed(err?: Error): void {
    if (this.ended) return;
    this.#end(err ?? (this.mgmt.releasing ? undefined : new BeepError('connection closed by peer', 'BEEP_ERR_CONNECTION_CLOSED')));
  }

  /** Ends the session at once: pending work fails with `err`, the transport is closed. */
  abort(err?: Error): void {
    if (this.ended) return;
    this.#end(err);
    // RFC 3080 §2.2.1.1: terminate; a half-close would let a hostile peer keep writing.
    if (this.#io.abort) this.#io.abort();
    else this.#io.end();
  }

  #end(err?: Error): void {
    this.ended = true;
    this.error = err;
    this.#release();
    processBudget.sessions--;
    this.mgmt.failAll(err ?? new BeepError('session closed', 'BEEP_ERR_SESSION_CLOSED'));
    for (const ch of this.channels.values()) {
      ch.state = 'closed';
      this.#idle(ch);
    }
    this.codec.dispose();
    this.hooks.closed?.(err);
  }

  /** Returns everything this session holds to the process budgets (end, tuning reset). */
  #release(): void {
    processBudget.buffered -= this.#buffered;
    this.#buffered = 0;
    this.#parked.clear();
    if (this.#queued !== 0) addQueued(-this.#queued);
    this.#queued = 0;
    const wasOver = this.#over;
    this.#over = false;
    if (wasOver && !this.ended) this.hooks.writable?.(); // a tuning reset emptied the queue: waiters go on
    if (this.#wakeTask !== undefined) cancelProcessQueueWait(this.#wakeTask);
    if (this.#inputPaused) {
      this.#inputPaused = false;
      if (!this.ended) this.#io.pauseInput?.(false);
    }
  }

  /** Counts octets entering a partly received message; false (session ended) past a budget. */
  #hold(ch: { number: number }, n: number): boolean {
    if (this.reserve(n)) return true;
    const which =
      this.#buffered + n > this.limits.maxBuffered
        ? `the session's ${this.limits.maxBuffered}`
        : `the process's ${processBudget.maxBuffered}`;
    this.abort(new BeepError(`channel ${ch.number}: partly received messages exceed ${which} octet budget`, 'BEEP_ERR_BUDGET'));
    return false;
  }

  /**
   * Reserves `n` inbound octets held above the session (requestAll answers) within the session
   * and process budgets; false, without ending the session, when they would be exceeded.
   */
  reserve(n: number): boolean {
    if (this.#buffered + n > this.limits.maxBuffered || processBudget.buffered + n > processBudget.maxBuffered) return false;
    this.#buffered += n;
    processBudget.buffered += n;
    return true;
  }

  /** Releases the greeting's hold on channel 0's window once the greeting is accepted. */
  greeted(): void {
    const ch0 = this.channels.get(0);
    if (ch0 !== undefined && ch0.held > 0) {
      ch0.held = 0;
      this.#touch(ch0);
    }
  }

  /** Returns octets taken with reserve(). */
  unreserve(n: number): void {
    if (!this.ended) this.#unhold(n);
  }

  /** Releases held octets of a message that completed or was dropped. */
  #unhold(n: number): void {
    this.#buffered -= n;
    processBudget.buffered -= n;
  }

  /** Counts queued outbound octets; at the budget, applies backpressure. */
  #enqueue(n: number): void {
    this.#queued += n;
    addQueued(n);
    if (!this.#over && (this.#queued >= this.limits.maxQueued || processBudget.queued >= processBudget.maxQueued)) this.#pressure();
  }

  /**
   * Outbound backpressure, once the session's (or the process's) queue reaches its budget and
   * until it drains below half:
   * - the application sees `writable === false` (request paths wait);
   * - while the transport is blocked too (the peer does not read), input stops: a peer that
   *   sends MSGs and never reads our replies makes us hold no more than the budget;
   * - while only windows hold the queue (the peer reads but has not granted room), input goes
   *   on, since the peer's SEQ frames are what drains it, but new peer MSGs are parked rather
   *   than handed to handlers, counted against the inbound budget (maxBuffered).
   */
  #pressure(): void {
    if (this.ended) return;
    const procFull = processQueueFull();
    if (!this.#over && (this.#queued >= this.limits.maxQueued || procFull)) this.#over = true;
    else if (this.#over && this.#queued < this.limits.maxQueued / 2 && !procFull) this.#over = false;
    if (procFull) waitProcessQueue((this.#wakeTask ??= () => this.#pressure()));
    const pause = this.#over && this.#blocked;
    if (pause !== this.#inputPaused) {
      this.#inputPaused = pause;
      this.#io.pauseInput?.(pause);
    }
    if (!this.#over) {
      this.#unpark();
      if (!this.#over) this.hooks.writable?.();
    }
  }

  /**
   * Hands parked MSGs to their handlers, in order, until the budget fills again; at most
   * UNPARK_BATCH per pass (the flush that sends their replies continues).
   */
  #unpark(): void {
    for (let n = 0; n < UNPARK_BATCH && this.#parked.length > 0 && !this.#over && !this.ended; n++) {
      const [ch, msg] = this.#parked.shift()!;
      this.#unhold(msg.content.length + PARK_COST);
      if (ch.state === 'closed') continue;
      ch.held = Math.max(0, ch.held - msg.content.length);
      this.#touch(ch);
      this.#handOver(ch, msg);
    }
    this.#acknowledge(); // the window the parked MSGs held opens again
    if (this.#parked.length > 0) this.#schedule();
  }

  /** Poorly formed input (RFC 3080 §2.2.1.1): terminate without a response. */
  protocolError(message: string, status: number, channel: number): void {
    this.abort(new BeepFramingError(message, status, channel, this.codec.streamOffset));
  }

  // ---- channels -------------------------------------------------------------------------

  /** Registers an open channel with the codec and the session. */
  addChannel(number: number, profile: string, mime: boolean): ChannelState {
    const ch = new ChannelState(number, profile, mime);
    this.codec.openChannel(number);
    this.channels.set(number, ch);
    if (this.#lastCh?.number === number) this.#lastCh = undefined;
    return ch;
  }

  /** Forgets a channel (after close negotiation or a tuning reset); true when it was registered. */
  removeChannel(ch: ChannelState): boolean {
    ch.state = 'closed';
    if (this.channels.get(ch.number) !== ch) return false;
    this.channels.delete(ch.number);
    if (this.codec.hasChannel(ch.number)) this.codec.closeChannel(ch.number);
    this.#windowUsed -= ch.window - 4096;
    // An ended session gave everything back at once (#release): nothing is returned twice.
    if (!this.ended) {
      for (const p of ch.partials()) this.#unhold(p.size + PARTIAL_COST);
      let dropped = 0;
      const unsent = (m: OutMessage): void => {
        dropped += (m.head?.length ?? 0) + m.data.length - m.offset + QUEUE_COST;
      };
      for (const m of ch.queued()) unsent(m);
      for (const m of ch.heldReplies()) unsent(m); // held back for reply order
      if (dropped > 0) {
        this.#queued -= dropped;
        addQueued(-dropped);
      }
    }
    ch.clearPartials();
    ch.clearQueue();
    this.#idle(ch);
    return true;
  }

  /** Raises a channel's receive window above RFC 3081's 4096 (DESIGN.md "Windows"), with a SEQ; false when the limits leave no room. */
  raiseWindow(ch: ChannelState, target: number): boolean {
    if (this.ended || ch.state === 'closed') return false;
    // Never grant more than one frame may carry: a peer may fill a window in one frame.
    const extra = Math.min(target, this.limits.maxWindow, this.limits.maxFrame) - ch.window;
    const room = this.limits.windowBudget - this.#windowUsed;
    const grow = Math.min(extra, room);
    if (grow <= 0) return false;
    ch.window += grow;
    this.#windowUsed += grow;
    const st = this.codec.recvState(ch.number);
    this.#grant(ch, st, this.#ackno(ch, st), ch.window);
    return true;
  }

  /**
   * Sets the window granted on a channel from now on (RFC 3081 §3.1.3); a smaller value takes
   * effect as acknowledgements move on, since an edge already granted never moves back. The
   * window is capped at maxFrame: a peer may fill a whole window with one frame.
   */
  setWindow(ch: ChannelState, window: number): void {
    if (!Number.isInteger(window) || window < 1 || window > 0x7fffffff) throw new RangeError('window must be 1..2147483647');
    if (this.ended || ch.state === 'closed') return;
    window = Math.min(window, this.limits.maxFrame);
    this.#windowUsed += window - ch.window;
    ch.window = window;
    ch.windowPinned = true;
    const st = this.codec.recvState(ch.number);
    this.#grant(ch, st, this.#ackno(ch, st), window);
  }

  /** Pauses (true) or resumes delivery credit on a channel: a paused consumer stops the window. */
  setPaused(ch: ChannelState, paused: boolean): void {
    ch.paused = paused;
    if (!paused && ch.held > 0) {
      ch.held = 0;
      this.#touch(ch);
      this.#acknowledge();
    }
  }

  /**
   * Sends SEQ only when it moves the right edge of the window forward: a SEQ that keeps or
   * shrinks it says nothing new, and LibVortex treats it as a protocol violation and drops the
   * session (vortex_channel_update_remote_incoming_buffer). A smaller window thus takes
   * effect once acknowledgements carry the edge past the old one.
   */
  #grant(ch: ChannelState, st: RecvState, ackno: number, window: number): void {
    if (!this.seqFrames) return;
    const advance = (ackno + window - (st.ackno + st.window)) >>> 0;
    if (advance === 0 || advance >= 0x80000000) return;
    this.#write(this.codec.encodeSeq(ch.number, ackno, window));
  }

  /** Next octet the consumer has taken: received, not held, not still in flight. */
  #ackno(ch: ChannelState, st: RecvState): number {
    return (st.next - ch.held - ch.inflight) >>> 0;
  }

  /** Marks a channel for the next SEQ decision (#acknowledge), once per pass. */
  #touch(ch: ChannelState): void {
    if (ch.touched) return;
    ch.touched = true;
    const t = this.#touched;
    if (this.#touchedN < t.length) t[this.#touchedN] = ch;
    else t.push(ch);
    this.#touchedN++;
  }

  /** Sends SEQ where half a granted window has been consumed (RFC 3081 §3.1.4). */
  #acknowledge(): void {
    // Only the channels that received octets since the last pass: a session with many
    // channels does not walk them all per read.
    const list = this.#touched,
      n = this.#touchedN;
    if (n === 0) return;
    this.#touched = this.#touchedSpare;
    this.#touchedN = 0;
    this.#touchedSpare = list;
    for (let i = 0; i < n; i++) {
      const ch = list[i]!;
      list[i] = undefined; // no hold on a channel that goes away
      if (!ch.touched || ch.state === 'closed') continue;
      ch.touched = false;
      const st = this.codec.recvState(ch.number); // read once per pass: three codec calls
      const ackno = this.#ackno(ch, st);
      const consumed = (ackno - st.ackno) >>> 0;
      if (consumed === 0 || consumed < st.window >>> 1) continue;
      // A frame still arriving (its octets are already counted against the window, so nothing
      // we hold back can stop it) touches the channel again when the rest comes: while the peer
      // keeps a quarter of the window beyond that frame, the SEQ waits for that pass, where it
      // usually goes out with the reply, instead of alone (a lone SEQ is a write and a wakeup on
      // each side, and over TLS a record of its own: TLS reads come in 16 KiB records).
      const used = (st.next - st.ackno) >>> 0; // octets the peer has sent (or announced) against the window
      if (ch.inflight > 0 && st.window - used >= st.window >>> 2) continue;
      // The peer used up (nearly) the whole window before this SEQ: it waits on us, not on its
      // application. Double the window (TCP's receive-window autotuning, in small): while the
      // session's windows stay within four default windows, so that many busy channels do not
      // each grow one (more octets in flight on loopback ran slower, not faster).
      if (
        used >= st.window - (st.window >>> 3) &&
        !ch.windowPinned &&
        !ch.paused &&
        ch.number !== 0 &&
        this.#windowUsed + ch.window <= this.limits.window * 4 &&
        this.raiseWindow(ch, ch.window * 2)
      )
        continue;
      this.#grant(ch, st, ackno, ch.window);
    }
  }

  // ---- sending --------------------------------------------------------------------------

  /**
   * Queues our MSG on a channel and returns its msgno; `head` is its MIME header block. With
   * `more` the MSG is sent in pieces (LibVortex vortex_channel_send_msg_more): every frame of
   * this piece carries `*`, and the next sendMsg on the channel continues the same msgno (its
   * `head` is dropped: headers go with the first piece), the piece without `more` ending it.
   */
  sendMsg(ch: ChannelState, data: Uint8Array, onSent?: () => void, head?: Uint8Array, more = false): number {
    if (this.ended) throw new BeepError('session is closed', 'BEEP_ERR_SESSION_CLOSED');
    let msgno = ch.openMsg;
    // A close we asked for waits for the MSG's reply: its remaining pieces may still go out.
    if (ch.state !== 'open' && !(ch.state === 'closing' && msgno !== undefined))
      throw new BeepError(`channel ${ch.number} is ${ch.state}`, 'BEEP_ERR_CHANNEL_CLOSED');
    if (msgno === undefined) {
      msgno = ch.allocMsgno();
      ch.addAwaiting(msgno);
    } else head = undefined;
    ch.openMsg = more ? msgno : undefined;
    let offset = 0;
    // Nothing queued ahead on the channel: frame the message now (no queue entry, no flush).
    if (!more && onSent === undefined && !this.#blocked && ch.state === 'open' && ch.canSendNow()) {
      offset = this.#frameNow(ch, T_MSG, msgno, 0, head, data);
      if (offset < 0) return msgno; // framed whole
    }
    ch.enqueue({ type: T_MSG, msgno, ansno: 0, head, data, offset, onSent, more });
    this.#enqueue((head?.length ?? 0) + data.length - offset + QUEUE_COST);
    this.#markReady(ch);
    this.#schedule();
    return msgno;
  }

  /**
   * Frames a message at once when the channel's send queue is empty (the caller checked it,
   * and that writes are not blocked): as much as the window and frame size let go in one frame.
   * Returns -1 when it went whole, else the octets framed (0: the window is shut), which the
   * caller queues the rest from, exactly where flush() would have framed it.
   */
  #frameNow(ch: ChannelState, type: number, msgno: number, ansno: number, head: Uint8Array | undefined, data: Body): number {
    const headLen = head === undefined ? 0 : head.length;
    const total = headLen + data.length;
    const header = this.codec.encodeFit(type, ch.number, msgno, total, this.limits.sendFrameSize, ansno);
    if (header === null) return 0; // window shut: wait for the peer's SEQ
    const n = this.codec.fitSize;
    this.#writeFrame(header, head, headLen, data, 0, n, total);
    return n === total ? -1 : n;
  }

  /**
   * Queues a reply (RPY, ERR, ANS or NUL) to peer MSG `msgno`; returns the ansno for ANS. A NUL
   * has no body, only `head` if given. With `more` the reply is sent in pieces (LibVortex
   * vortex_channel_send_rpy_more): every frame of this piece carries `*`, and the next reply of
   * the same keyword to `msgno` continues it (same ansno for ANS; its `head` is dropped), the
   * piece without `more` ending it. `cuts` count from the start of this piece.
   */
  sendReply(
    ch: ChannelState,
    type: 'RPY' | 'ERR' | 'ANS' | 'NUL',
    msgno: number,
    data: Body,
    onSent?: () => void,
    head?: Uint8Array,
    cuts?: number[],
    more = false,
  ): number {
    if (this.ended) throw new BeepError('session is closed', 'BEEP_ERR_SESSION_CLOSED');
    if (ch.state === 'closed') throw new BeepError(`channel ${ch.number} is closed`, 'BEEP_ERR_CHANNEL_CLOSED');
    const t = type === 'RPY' ? T_RPY : type === 'ERR' ? T_ERR : type === 'ANS' ? T_ANS : T_NUL;
    const nul = type === 'NUL';
    if (nul && more) throw new RangeError('a NUL is never continued (RFC 3080 §2.2.1.1)');
    const body: Body = nul ? EMPTY : data;
    // The final reply to the oldest MSG with nothing queued ahead (the usual case): framed now,
    // without a queue entry; RFC 3080 §2.6.1 order holds since nothing precedes it.
    if (
      !more &&
      t !== T_ANS &&
      cuts === undefined &&
      onSent === undefined &&
      !this.#blocked &&
      ch.state !== 'starting' &&
      ch.canReplyNow(msgno)
    ) {
      const offset = this.#frameNow(ch, t, msgno, 0, head, body);
      if (offset >= 0) {
        // Cut by the window or the frame size: the rest goes first in the queue, as flush() would send it.
        ch.enqueue({ type: t, msgno, ansno: 0, head, data: body, offset, onSent: undefined, cuts: undefined, more: false });
        this.#enqueue((head?.length ?? 0) + body.length - offset + QUEUE_COST);
      }
      ch.repliedNow(msgno); // releases replies queued behind it
      if (ch.sendQueue.length > 0) {
        this.#markReady(ch);
        this.#schedule();
      } else if (ch.onIdle !== undefined) this.#idle(ch);
      return 0;
    }
    if (head !== undefined && ch.replyOpen(msgno)) {
      const h = head.length;
      cuts = cuts?.map((c) => c - h);
      head = undefined;
    }
    const ansno = ch.queueReply(t, msgno, head, body, type !== 'ANS', type === 'ANS', onSent, cuts, more);
    this.#enqueue((head?.length ?? 0) + body.length + QUEUE_COST);
    if (ch.sendQueue.length > 0) this.#markReady(ch);
    this.#schedule();
    return ansno;
  }

  #flushScheduled = false;
  #flushTask: (() => void) | undefined; // made on the first send

  #markReady(ch: ChannelState): void {
    const r = this.#ready;
    if (ch.readyAt >= 0 && r[ch.readyAt] === ch) return;
    const list = r === NO_CHANNELS ? (this.#ready = []) : r;
    ch.readyAt = this.#readyLen++;
    list[ch.readyAt] = ch;
    this.#readyCount++;
  }

  /** Takes a channel off the ready list (its slot becomes a hole). */
  #unready(ch: ChannelState): void {
    const r = this.#ready;
    if (ch.readyAt >= 0 && r[ch.readyAt] === ch) {
      r[ch.readyAt] = undefined;
      this.#readyCount--;
    }
    ch.readyAt = -1;
  }

  /** Squeezes the holes out of the ready list, keeping its order. */
  #squeezeReady(): void {
    const r = this.#ready;
    let k = 0;
    for (let i = 0; i < this.#readyLen; i++) {
      const ch = r[i];
      if (ch === undefined) continue;
      if (k !== i) {
        r[k] = ch;
        r[i] = undefined;
        ch.readyAt = k;
      }
      k++;
    }
    this.#readyLen = k;
  }

  /**
   * Gives back what a quiet session does not need (called by a transport's sweep when nothing
   * moved for a while): an idle session should cost a few KiB, and a busy one keeps its Set.
   */
  compact(): void {
    if (this.#readyCount === 0 && this.#flushDepth === 0) {
      this.#ready = NO_CHANNELS;
      this.#readyLen = 0;
    }
    const ch0 = this.channels.get(0);
    if (ch0 !== undefined && ch0.partialCount === 0) ch0.clearPartials(); // gives back a Map once needed
  }

  /** Schedules flush() at the end of the current run, so a burst of sends frames together. */
  #schedule(): void {
    if (!this.#flushScheduled) {
      this.#flushScheduled = true;
      queueMicrotask(
        (this.#flushTask ??= () => {
          this.#flushScheduled = false;
          this.#safeFlush();
        }),
      );
    }
  }

  /** Writes queued frames, one frame per ready channel per round, within windows and transport pace. */
  flush(): void {
    this.#flushDepth++;
    try {
      this.#flushRounds();
    } finally {
      if (--this.#flushDepth === 0 && this.#readyLen > this.#readyCount) this.#squeezeReady();
    }
    if (this.#over) this.#pressure();
    else if (this.#parked.length > 0) this.#unpark();
  }

  #flushRounds(): void {
    let progress = true;
    while (progress && !this.#blocked && !this.ended && this.#readyCount > 0) {
      progress = false;
      const r = this.#ready;
      // #readyLen is read each time: channels made ready meanwhile are served in this round.
      for (let i = 0; i < this.#readyLen; i++) {
        const ch = r[i];
        if (ch === undefined) continue;
        if (this.#blocked || this.ended || r !== this.#ready) return; // ended, or a tuning reset replaced the list
        if (ch.sendQueue.length === 0 || ch.state === 'closed') {
          this.#unready(ch);
          this.#idle(ch);
          continue;
        }
        if (ch.state === 'starting') continue;
        // Up to FAIR_SHARE octets per channel per round: fair across channels, few rounds.
        let sent = 0;
        while (ch.sendQueue.length > 0 && sent < FAIR_SHARE && !this.#blocked) {
          const n = this.#sendFrame(ch);
          if (n < 0) break;
          sent += n + 1;
          progress = true;
        }
        if (ch.sendQueue.length === 0) {
          this.#unready(ch);
          this.#idle(ch);
        }
      }
    }
  }

  /** Runs a channel's idle hook (pending close) once nothing is queued, owed or awaited. */
  #idle(ch: ChannelState): void {
    if (ch.onIdle !== undefined && (ch.idle || ch.state === 'closed')) {
      const fs = ch.onIdle;
      ch.onIdle = undefined;
      for (const f of fs) f();
    }
  }

  /** Re-checks a channel's idle hook (after replies arrive or are queued). */
  checkIdle(ch: ChannelState): void {
    if (ch.sendQueue.length > 0) this.#markReady(ch);
    this.#idle(ch);
    this.flush();
  }

  /** Frames the next piece of the channel's head message; its size, or -1 when the window is shut. */
  #sendFrame(ch: ChannelState): number {
    const m: OutMessage = ch.sendQueue.peek()!;
    const head = m.head;
    const headLen = head === undefined ? 0 : head.length;
    const total = headLen + m.data.length;
    const from = m.offset;
    // A forced frame boundary (e.g. a reply sent in given fragments) limits this frame.
    let maxFrame = this.limits.sendFrameSize;
    if (m.cuts !== undefined) {
      while (m.cuts.length > 0 && m.cuts[0]! <= from) m.cuts.shift();
      if (m.cuts.length > 0) maxFrame = Math.min(maxFrame, m.cuts[0]! - from);
    }
    let header: Uint8Array | null;
    let n: number;
    if (m.more) {
      // A piece of a message sent in pieces: every frame carries '*', the last one included.
      if (total === 0) {
        this.#sent(ch, m);
        return 0;
      } // an empty piece frames nothing
      n = Math.min(total - from, this.codec.sendWindow(ch.number), maxFrame);
      if (n === 0) return -1; // window shut: wait for the peer's SEQ
      header = this.codec.encodeFrame(m.type, ch.number, m.msgno, true, n, m.ansno);
    } else {
      header = this.codec.encodeFit(m.type, ch.number, m.msgno, total - from, maxFrame, m.ansno);
      if (header === null) return -1; // window shut: wait for the peer's SEQ
      n = this.codec.fitSize;
    }
    const to = from + n;
    this.#writeFrame(header, head, headLen, m.data, from, to, total);
    m.offset = to;
    this.#queued -= n;
    addQueued(-n);
    if (to === total) this.#sent(ch, m);
    return n;
  }

  /** Writes one frame: `header`, octets [from, to) of head + data, the trailer. */
  #writeFrame(
    header: Uint8Array,
    head: Uint8Array | undefined,
    headLen: number,
    data: Body,
    from: number,
    to: number,
    total: number,
  ): void {
    if (this.#suspended) return;
    // Whole parts go by reference; views only where a frame cuts a part.
    const h = from >= headLen ? undefined : from === 0 && to >= headLen ? head : head!.subarray(from, Math.min(to, headLen));
    const b = to <= headLen ? EMPTY : from <= headLen && to === total ? data : data.subarray(Math.max(from - headLen, 0), to - headLen);
    this.#octetsOut += header.length + (to - from) + 5;
    const io = this.#io;
    // One call per frame where the transport takes frames (a message in one frame, the usual case).
    if (io.writeFrame !== undefined) {
      if (!io.writeFrame(header, h, b, END)) this.#wait();
      return;
    }
    const body = b instanceof Pieces ? b.join() : b; // a transport of whole parts only
    // Still one write per frame: over WebSocket each write is one message, and a frame may not
    // be split across messages (older LibVortex readers take only the first frame of a message).
    const ok =
      h === undefined ? io.write(header, body, END) : body.length === 0 ? io.write(header, h, END) : io.write(header, h, body, END);
    if (!ok) this.#wait();
  }

  /** The channel's head message is fully framed: off the queue, its cost returned, onSent called. */
  #sent(ch: ChannelState, m: OutMessage): void {
    ch.sendQueue.shift();
    this.#queued -= QUEUE_COST;
    addQueued(-QUEUE_COST);
    m.onSent?.();
  }

  #suspended = false;

  /**
   * Stops all writing until the next tuning reset: the transport is being replaced (TLS) and
   * nothing more may go out on the old layer nor ahead of the new greeting on the new one.
   */
  suspendWrites(): void {
    this.#suspended = true;
    this.#blocked = true;
  }

  #write(a: Uint8Array, b?: Uint8Array, c?: Uint8Array, d?: Uint8Array): void {
    if (this.#suspended) return;
    this.#octetsOut += a.length + (b?.length ?? 0) + (c?.length ?? 0) + (d?.length ?? 0);
    if (!this.#io.write(a, b, c, d)) this.#wait();
  }

  /** The transport asked us to wait for drain(). */
  #wait(): void {
    this.#blocked = true;
    if (this.#over && !this.#inputPaused) this.#pressure();
  }

  /** Closes the transport after pending writes (used after session release). */
  endTransport(): void {
    this.#io.end();
  }

  // ---- FrameHandler (codec events) -------------------------------------------------------

  /** A frame header arrived (codec event). */
  onFrame(
    type: number,
    channel: number,
    msgno: number,
    more: boolean,
    seqno: number,
    size: number,
    ansno: number,
    buf: Uint8Array,
    offset: number,
    length: number,
    end: boolean,
  ): void {
    if (this.ended) return;
    this.#progress += 1 + length;
    // The previous frame's channel, while it is still the registered one (most frames of a
    // read are on one channel): a Map lookup fewer per frame.
    let ch = this.#lastCh;
    if (ch === undefined || ch.number !== channel || ch.state === 'closed') this.#lastCh = ch = this.channels.get(channel);
    if (ch === undefined || ch.state === 'closed') return this.protocolError(`frame on channel ${channel}, not open`, 0, channel);
    if (ch.state === 'starting') return this.protocolError(`frame on channel ${channel} before its start was accepted`, 0, channel);
    if (!this.mgmt.greeted && (channel !== 0 || (type !== T_RPY && type !== T_ERR) || msgno !== 0)) {
      return this.protocolError('the first frame must be the greeting (RPY/ERR 0 0)', 0, channel);
    }
    // Fast path: a whole message in one frame, nothing being reassembled on the channel.
    if (end && !more && ch.partialCount === 0 && (ch.number !== 0 || this.mgmt.greeted)) {
      if (!this.#admit(ch, type, msgno)) return;
      const limit = ch.number === 0 ? this.limits.maxMgmtMessage : (ch.maxMessage ?? this.limits.maxMessage);
      if (length > limit) {
        this.abort(new BeepError(`message on channel ${ch.number} exceeds ${limit} octets`, 'BEEP_ERR_MESSAGE_TOO_LARGE'));
        return;
      }
      if (length > 0) {
        if (ch.paused) ch.held += length;
        this.#touch(ch);
      }
      // A raw receiver (hot profiles) gets the octets where they lie: no Message, no view. Not
      // while MSGs are parked (#deliver): order and budget go through the Message path then.
      const raw = ch.onRaw;
      if (raw !== undefined && this.#owned && !this.#over && this.#parked.length === 0) {
        this.#complete(ch, type, msgno);
        raw(type, msgno, ansno, seqno, buf, offset, length);
        if (ch.state === 'closing') this.checkIdle(ch);
        return;
      }
      // Owned chunks: the message keeps the chunk and makes a view only when asked (Message.content).
      // TYPE_NAMES[type]!: the codec emits only T_MSG..T_NUL.
      const msg = this.#owned
        ? new Message(TYPE_NAMES[type]!, channel, msgno, ansno, seqno, false, buf, ch.mime, offset, length)
        : new Message(TYPE_NAMES[type]!, channel, msgno, ansno, seqno, false, copyOf(buf, offset, offset + length), ch.mime);
      this.#complete(ch, type, msgno);
      this.#deliver(ch, msg);
      return;
    }
    let p = ch.getPartial(type, msgno, ansno);
    if (p === undefined) {
      // First frame of a message: RFC 3080 §2.2.1.1 message-number rules.
      if (!this.#admit(ch, type, msgno)) return;
      if (!this.#hold(ch, PARTIAL_COST)) return;
      p = { type, msgno, ansno, parts: [], size: 0, seqno, pinFrom: -1 };
      ch.addPartial(p);
    }
    // The frame in progress, in fields rather than an object made per frame.
    this.#current = p;
    this.#currentCh = ch;
    this.#currentMore = more;
    ch.inflight = size;
    this.#piece(ch, p, buf, offset, length, end);
  }

  /** The message whose frame is in progress (its further payload comes as onData). */
  #current: PartialMessage | undefined;
  #currentCh: ChannelState | undefined;
  /** The frame in progress has the continuation indicator. */
  #currentMore = false;

  /** Further payload of the frame in progress (codec event). */
  onData(_channel: number, buf: Uint8Array, offset: number, length: number, end: boolean): void {
    const p = this.#current;
    if (this.ended || p === undefined) return;
    this.#progress += length;
    // A channel removed meanwhile dropped its reassemblies (marked done).
    if (!p.done) this.#piece(this.#currentCh!, p, buf, offset, length, end);
  }

  #piece(ch: ChannelState, p: PartialMessage, buf: Uint8Array, offset: number, length: number, end: boolean): void {
    const more = this.#currentMore;
    ch.inflight -= length;
    const limit = ch.number === 0 ? this.limits.maxMgmtMessage : (ch.maxMessage ?? this.limits.maxMessage);
    if (p.size + length > limit) {
      this.abort(new BeepError(`message on channel ${ch.number} exceeds ${limit} octets`, 'BEEP_ERR_MESSAGE_TOO_LARGE'));
      return;
    }
    if (length > 0) {
      if (!this.#hold(ch, length)) return;
      // A view keeps the whole socket chunk alive: only pieces that are most of it stay views.
      if (this.#owned) {
        const parts = p.parts;
        const last = parts.length > 0 ? parts[parts.length - 1]! : undefined;
        if (last !== undefined && last.buffer === buf.buffer && last.byteOffset + last.length === buf.byteOffset + offset) {
          // Right after the previous piece in the same memory (a frame the codec handed over in
          // two calls, a whole frame in one WebSocket message): one view, nothing to join later.
          parts[parts.length - 1] = new Uint8Array(last.buffer, last.byteOffset, last.length + length);
        } else {
          parts.push(buf.subarray(offset, offset + length));
          // A small view: see #unpin, which looks at the parts from the first one on.
          if (length * 4 < buf.byteLength && p.pinFrom < 0) {
            p.pinFrom = parts.length - 1;
            this.#pinning.push(p);
          }
        }
      } else p.parts.push(copyOf(buf, offset, offset + length));
      p.size += length;
      // A greeting must fit the initial 4096-octet window: it is never acknowledged, so an
      // endless fragmented greeting hits the window limit instead of memory (LibVortex test_01g1).
      if (ch.paused || (ch.number === 0 && !this.mgmt.greeted)) ch.held += length;
      this.#touch(ch);
      // Auto-raise the window while a large message streams in (DESIGN.md "Windows").
      if (p.size > ch.window && ch.window < this.limits.maxWindow && ch.number !== 0 && !ch.windowPinned)
        this.raiseWindow(ch, ch.window * 2);
    }
    if (!end) return;
    if ((ch.perFrame ?? this.#perFrame) && more && ch.number !== 0) {
      // channel 0 is always parsed whole
      const content = concat(p.parts, p.size);
      this.#unhold(p.size);
      p.parts = [];
      p.size = 0;
      this.#deliver(ch, new Message(TYPE_NAMES[p.type]!, ch.number, p.msgno, p.ansno, p.seqno, true, content, ch.mime));
      return;
    }
    if (more) return;
    p.done = true;
    ch.removePartial(p);
    this.#unhold(p.size + PARTIAL_COST);
    this.#current = this.#currentCh = undefined;
    // A large message keeps its pieces (joined only if the application asks for its content); a
    // small one is joined now, so that it never holds several socket chunks alive.
    const content = p.parts.length === 1 ? p.parts[0]! : p.size >= KEEP_PARTS ? p.parts : concat(p.parts, p.size);
    const msg = new Message(TYPE_NAMES[p.type]!, ch.number, p.msgno, p.ansno, p.seqno, false, content, ch.mime);
    this.#complete(ch, p.type, p.msgno);
    this.#deliver(ch, msg);
  }

  /**
   * After a chunk is decoded, small views of it still held by unfinished messages are copied:
   * a view keeps the whole socket chunk alive, and a peer leaving many messages open with a
   * few octets each would pin far more than the budget counts. Pieces of messages completed in
   * the same chunk (the common case) are never copied.
   */
  #unpin(chunk: Uint8Array): void {
    for (const p of this.#pinning) {
      const from = p.pinFrom;
      p.pinFrom = -1;
      if (p.done) continue;
      // Only the parts from this chunk's first small view on: the earlier ones were looked at
      // when their chunk was decoded (looking at all of them for every chunk grew with the square
      // of a message's chunks: ~6,000 looks per 8 MiB echo here, now ~130).
      for (let i = from; i < p.parts.length; i++) {
        const v = p.parts[i]!;
        if (v.buffer === chunk.buffer && v.length * 4 < chunk.byteLength) p.parts[i] = copyOf(v);
      }
    }
    this.#pinning.length = 0;
  }

  /** Checks a new message's msgno against what is outstanding (RFC 3080 §2.2.1.1). */
  #admit(ch: ChannelState, type: number, msgno: number): boolean {
    if (ch.number === 0 && !this.mgmt.greeted) return true;
    if (type === T_MSG) {
      if (ch.inbound.has(msgno)) {
        this.protocolError(`MSG ${msgno} on channel ${ch.number} reuses an unanswered msgno`, 0, ch.number);
        return false;
      }
      if (ch.inbound.size >= this.limits.maxOutstanding) {
        this.abort(
          new BeepError(`more than ${this.limits.maxOutstanding} unanswered MSGs on channel ${ch.number}`, 'BEEP_ERR_TOO_MANY_OUTSTANDING'),
        );
        return false;
      }
      return true;
    }
    const a = ch.awaiting.get(msgno);
    if (a === undefined) {
      this.protocolError(`${TYPE_NAMES[type]} ${msgno} on channel ${ch.number} answers no MSG we sent`, 0, ch.number);
      return false;
    }
    if ((type === T_RPY || type === T_ERR) && a === AWAIT_ANS) {
      this.protocolError(`${TYPE_NAMES[type]} after ANS for msgno ${msgno}`, 0, ch.number);
      return false;
    }
    if (type === T_ANS && a !== AWAIT_ANS) ch.awaiting.set(msgno, AWAIT_ANS);
    return true;
  }

  /** Bookkeeping when a whole message has arrived. */
  #complete(ch: ChannelState, type: number, msgno: number): void {
    if (type === T_MSG) ch.addInbound(msgno);
    else if (type !== T_ANS && !(ch.number === 0 && !this.mgmt.greeted)) ch.awaiting.delete(msgno);
  }

  #deliver(ch: ChannelState, msg: Message): void {
    if ((this.#over || this.#parked.length > 0) && msg.type === 'MSG' && (ch.number !== 0 || this.mgmt.greeted)) {
      // See #pressure: new work (channel 0's starts and closes too) waits while the replies we
      // owe cannot go out; each parked MSG counts against the inbound budget.
      // Held from the window too: a peer is not invited to send more while we only park.
      if (this.#hold(ch, msg.content.length + PARK_COST)) {
        msg.compact();
        ch.held += msg.content.length;
        this.#parked.push([ch, msg]);
      }
      return;
    }
    this.#handOver(ch, msg);
  }

  /** Gives a message to channel 0's state machine or a profile channel's handler. */
  #handOver(ch: ChannelState, msg: Message): void {
    if (ch.number === 0) {
      this.mgmt.onMessage(msg);
      return;
    }
    // A tuning channel's answer (<proceed/>, <ok />): what follows belongs to the next session.
    if (ch.tuning && msg.type === 'RPY') this.holdInput();
    if (ch.onMessage === undefined && ch.early !== undefined) {
      ch.early.push(msg);
      return;
    }
    ch.onMessage?.(msg);
    if (ch.state === 'closing') this.checkIdle(ch); // may complete a pending close
  }

  /** A SEQ frame updated a send window (codec event). */
  onSeq(): void {
    /* the codec tracks the window; flush() runs after this receive pass */
  }

  /** Half a receive window consumed (codec event); SEQ is decided per pass in #acknowledge. */
  onSeqHint(): void {
    /* see #acknowledge: SEQ follows consumption, not receipt */
  }

  /** Poorly formed input (codec event). */
  onError(status: number, channel: number, streamOffset: number): void {
    this.abort(new BeepFramingError(`poorly formed frame: ${statusText(status)}`, status, channel, streamOffset));
  }
}

/** A copy of bytes [from, to): Uint8Array's slice, since a Buffer's slice() is only a view. */
export function copyOf(buf: Uint8Array, from = 0, to = buf.length): Uint8Array {
  return Uint8Array.prototype.slice.call(buf, from, to);
}

/** Joins pieces into one array (no copy for a single piece). */
function concat(parts: Uint8Array[], size: number): Uint8Array {
  if (parts.length === 1) return parts[0]!;
  const out = new Uint8Array(size);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}
