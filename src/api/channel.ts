// Channel (PyVortex vortex.Channel): send and receive on one channel running a profile.
import { BeepError, BeepReplyError } from '../errors.js';
import type { ChannelState } from '../session/channel-state.js';
import { Message, TYPE_NAMES } from '../session/message.js';
import { mimeHeaderBytes } from '../session/mime.js';
import { errorXml } from '../session/mgmt.js';
import { T_ANS, T_ERR, T_MSG } from '../codec/layout.js';
import { within } from '../util/within.js';
import type { Frame } from './frame.js';
import type { FrameType } from '../session/message.js';
import type { FrameReceived, RawReceived } from './ctx.js';
import type { Connection } from './connection.js';
import { AsyncQueue } from './async-queue.js';
import { channelRefused } from './diagnostics.js';
import { MsgnoTable } from '../session/msgno-table.js';
import { Pieces, type Body } from '../session/pieces.js';

const enc = new TextEncoder();
const EMPTY = new Uint8Array(0);
/** Octets charged per frame held for the application (requestAll answers, the iterator queue). */
const HELD_COST = 128;

/** Payload argument: text (UTF-8) or bytes. */
export type Payload = string | Uint8Array;

/** Options of one outgoing message. */
export interface SendOptions {
  /** MIME headers to send (RFC 3080 §2.2); default none (an empty header block). */
  headers?: Record<string, string>;
  /** Replies only: body sizes of the frames to send it in (the last frame takes the rest). */
  fragments?: number[];
  /** request()/requestAll() only: reject with BEEP_ERR_TIMEOUT after this many ms without the reply (a late reply is dropped). */
  timeout?: number;
  /** Called once the message's last frame is handed to the transport (a tuning profile switches transports right after its reply). */
  onSent?: () => void;
  /**
   * Sends the message in pieces (LibVortex fixed_more, PyVortex send_*_more): every frame of
   * this piece carries `*`, and the next send of the same kind to the same message continues
   * it (MIME headers go with the first piece only); the send without `more` completes it.
   * Nothing else is framed on the channel in between. Not for request()/requestAll().
   */
  more?: boolean;
}

/** A request awaiting its reply; requestAll collects answers up to the message limit. */
interface Request {
  resolve(f: Frame): void;
  reject(e: Error): void;
  answers?: Frame[];
  /** Octets of the answers collected so far. */
  octets: number;
  /** Over the limit: the promise is rejected, remaining answers are dropped until the NUL. */
  dropping: boolean;
  /** The request's timer, if it has one. */
  timer?: ReturnType<typeof setTimeout>;
}

/** Set by Channel's static block: queueReply's way to the channel's budget. */
let lend: (ch: Channel, queue: AsyncQueue<Frame>, f: Frame) => void;

/**
 * Frame-received handler that queues every frame in the AsyncQueue given as its data (PyVortex
 * vortex.queue_reply): `channel.setFrameReceived(queueReply, queue)`, then
 * `await channel.getReply(queue)`. Queued frames count against the session's inbound budget
 * and, past the channel's highWaterMark, hold its window shut until they are taken.
 */
export function queueReply(_conn: Connection, channel: Channel, frame: Frame, queue?: unknown): void {
  if (!(queue instanceof AsyncQueue)) throw new TypeError('queueReply needs an AsyncQueue: channel.setFrameReceived(queueReply, queue)');
  lend(channel, queue as AsyncQueue<Frame>, frame);
}

/** A channel of a connection. */
export class Channel {
  /** The connection. */
  readonly conn: Connection;
  readonly #st: ChannelState;
  // By msgno in a MsgnoTable: a Map churned by one new key per request rebuilt its table every
  // few requests (~100 ns per round trip).
  readonly #requests = new MsgnoTable<Request>();
  #handler: FrameReceived | undefined;
  #handlerData: unknown;
  #raw: RawReceived | undefined;
  // Frames handed to AsyncQueues by queueReply and not yet taken: counted against the budget.
  #lent = 0;
  #lentOctets = 0;
  #replyWaits: Set<AbortController> | undefined; // getReply() calls waiting, ended when the channel goes
  readonly #queue: Frame[] = [];
  #wake: Array<() => void> | undefined; // iterators waiting for a frame (one per concurrent loop)
  #counted = true; // frames in #queue are reserved against the session's budget
  #closed = false;
  /** Frames buffered for the async iterator before the window is held shut. */
  highWaterMark = 64;
  /** Piggybacked content of the peer's start reply, if any. */
  startReply: string | undefined;

  /** Wraps session channel state (created by Connection). */
  constructor(conn: Connection, st: ChannelState, handler?: FrameReceived, raw?: RawReceived) {
    this.conn = conn;
    this.#st = st;
    this.#handler = handler;
    if (raw !== undefined) this.setRawReceived(raw);
    st.onMessage = (m) => this.#onMessage(m);
    const early = st.early;
    st.early = undefined;
    if (early !== undefined) for (const m of early) this.#onMessage(m);
  }

  /** Channel number. */
  get number(): number {
    return this.#st.number;
  }
  /** Profile URI. */
  get profile(): string {
    return this.#st.profile;
  }
  /** True while the channel is open. */
  isOk(): boolean {
    return this.#st.state === 'open' && this.conn.isOk();
  }
  /** Peer MSGs awaiting our reply. */
  get pendingReplies(): number {
    return this.#st.inbound.size;
  }
  /** Our MSGs awaiting replies. */
  get outstanding(): number {
    return this.#st.awaiting.size;
  }
  /** True when no MSG of ours awaits its reply (PyVortex channel.is_ready, LibVortex vortex_channel_is_ready). */
  isReady(): boolean {
    return this.#st.awaiting.size === 0;
  }
  /**
   * False while the connection's outbound queue is at its budget (maxQueued): sends are still
   * queued, but a producer should `await channel.whenWritable()` before the next one.
   */
  get writable(): boolean {
    return this.conn.writable;
  }
  /** Resolves once the outbound queue has room (at once when it has). */
  whenWritable(): Promise<void> {
    return this.conn.whenWritable();
  }
  /** Session-layer state (advanced use and tests). */
  get state(): ChannelState {
    return this.#st;
  }

  /**
   * Sets the frame-received handler (PyVortex channel.set_frame_received); `data` is passed to
   * it as its fourth argument (PyVortex's frame_received_data). No handler: frames go to the
   * async iterator.
   */
  setFrameReceived(handler: FrameReceived | undefined, data?: unknown): void {
    this.#handler = handler;
    this.#handlerData = data;
  }

  /**
   * Sets the zero-allocation receive handler (see RawReceived); while set, it gets every
   * message that arrives whole in one frame and one read, and, when no frame-received handler
   * is set, every other message too (as one joined range). undefined goes back to the
   * frame-received handler alone.
   */
  setRawReceived(handler: RawReceived | undefined): void {
    this.#raw = handler;
    // A tuning channel's messages go through the session's own handling (Messages) first.
    this.#st.onRaw =
      handler === undefined || this.#st.tuning
        ? undefined
        : (t, msgno, ansno, seqno, bytes, offset, length) => this.#onRaw(t, msgno, ansno, seqno, bytes, offset, length);
  }

  /** A whole message from the session's raw path (ChannelState.onRaw). */
  #onRaw(t: number, msgno: number, ansno: number, seqno: number, bytes: Uint8Array, offset: number, length: number): void {
    // A reply to request() resolves its promise with a Frame, as always.
    if (t !== T_MSG && this.#requests.size > 0 && this.#requests.has(msgno)) {
      this.#onMessage(new Message(TYPE_NAMES[t]!, this.#st.number, msgno, ansno, seqno, false, bytes, this.#st.mime, offset, length));
      return;
    }
    this.#runRaw(this.#raw!, TYPE_NAMES[t]!, msgno, ansno, bytes, offset, length);
  }

  /** Runs the raw handler; faults as in #run. */
  #runRaw(h: RawReceived, type: FrameType, msgno: number, ansno: number, bytes: Uint8Array, offset: number, length: number): void {
    try {
      const r = h(this, type, msgno, ansno, bytes, offset, length) as unknown;
      if (r !== undefined && typeof (r as Promise<void>).then === 'function')
        (r as Promise<void>).then(undefined, (e: unknown) => this.#handlerFault(e, type, msgno));
    } catch (e) {
      this.#handlerFault(e, type, msgno);
    }
  }

  /**
   * The next frame queued by queueReply in `queue` (PyVortex channel.get_reply); null after
   * `timeout` ms (0 or undefined: no limit) or once the channel is gone with nothing queued.
   */
  async getReply(queue: AsyncQueue<Frame>, timeout?: number): Promise<Frame | null> {
    if (!(queue instanceof AsyncQueue)) throw new TypeError('getReply needs the AsyncQueue given to setFrameReceived(queueReply, queue)');
    const ready = queue.tryPop();
    if (ready !== null || this.#closed) return ready;
    const stop = new AbortController();
    (this.#replyWaits ??= new Set()).add(stop);
    try {
      return await queue.pop(timeout, stop.signal);
    } finally {
      this.#replyWaits.delete(stop);
    }
  }

  /** What queueReply does: holds `f` in `queue`, counted against the inbound budget until taken. */
  #lend(queue: AsyncQueue<Frame>, f: Frame): void {
    const n = f.content.length + HELD_COST;
    if (!this.conn.session.reserve(n)) {
      this.conn.shutdown(
        new BeepError(`channel ${this.number}: queued replies exceed the inbound budget (maxBuffered)`, 'BEEP_ERR_BUDGET'),
      );
      return;
    }
    f.compact(); // held until taken: must not pin its socket chunk
    this.#lent++;
    this.#lentOctets += n;
    if (this.#lent >= this.highWaterMark) this.conn.session.setPaused(this.#st, true);
    queue.push(f, () => {
      if (this.#closed) return; // closed() gave everything back
      this.conn.session.unreserve(n);
      this.#lent--;
      this.#lentOctets -= n;
      if (this.#lent < this.highWaterMark / 2 && this.#queue.length < this.highWaterMark / 2) this.conn.session.setPaused(this.#st, false);
    });
  }

  static {
    lend = (ch, queue, f) => ch.#lend(queue, f);
  }

  #body(data: Payload, size: number | undefined): Uint8Array {
    let body = typeof data === 'string' ? enc.encode(data) : data;
    if (!(body instanceof Uint8Array)) throw new TypeError('payload must be a string or Uint8Array');
    if (size !== undefined) {
      if (!Number.isInteger(size) || size < 0 || size > body.length) throw new RangeError(`size ${size} out of range 0..${body.length}`);
      if (size < body.length) body = body.subarray(0, size);
    }
    return body;
  }

  /** MIME header block for a message (RFC 3080 §2.2), unless the channel runs without MIME. */
  #head(opts?: SendOptions): Uint8Array | undefined {
    return this.#st.mime ? mimeHeaderBytes(opts?.headers) : undefined;
  }

  #fail(e: unknown): null {
    this.conn.pushError(e);
    return null;
  }

  /**
   * Sends a MSG; returns its msgno, or null with the reason in conn.popChannelError(). After
   * sendMsgMore it completes that MSG (same msgno), as LibVortex's send_msg does.
   */
  sendMsg(data: Payload, size?: number, opts?: SendOptions): number | null {
    const body = this.#body(data, size);
    try {
      return this.conn.session.sendMsg(this.#st, body, opts?.onSent, this.#head(opts), opts?.more ?? false);
    } catch (e) {
      return this.#fail(e);
    }
  }

  /**
   * Sends a piece of a MSG with every frame flagged `*` (PyVortex send_msg_more); further
   * sendMsgMore calls continue it and sendMsg (or request) completes it. Returns the msgno.
   */
  sendMsgMore(data: Payload, size?: number, opts?: SendOptions): number | null {
    return this.sendMsg(data, size, { ...opts, more: true });
  }

  /** True while a MSG begun with sendMsgMore waits for its last piece. */
  get msgOpen(): boolean {
    return this.#st.openMsg !== undefined;
  }

  #reply(type: 'RPY' | 'ERR' | 'ANS' | 'NUL', data: Payload, size: number | undefined, msgNo: number, opts?: SendOptions): boolean {
    if (!Number.isInteger(msgNo) || msgNo < 0) throw new RangeError('msgNo must be a non-negative integer');
    const body = type === 'NUL' ? EMPTY : this.#body(data, size);
    const head = type === 'NUL' && opts?.headers === undefined ? undefined : this.#head(opts);
    let cuts: number[] | undefined;
    if (opts?.fragments !== undefined) {
      let at = head?.length ?? 0;
      cuts = opts.fragments.map((n) => (at += n));
    }
    try {
      this.conn.session.sendReply(this.#st, type, msgNo, body, opts?.onSent, head, cuts, opts?.more ?? false);
      return true;
    } catch (e) {
      if (e instanceof RangeError) throw e;
      this.#fail(e);
      return false;
    }
  }

  /** Replies RPY to MSG msgNo (sent in MSG order, RFC 3080 §2.6.1). */
  sendRpy(data: Payload, size: number | undefined, msgNo: number, opts?: SendOptions): boolean {
    return this.#reply('RPY', data, size, msgNo, opts);
  }
  /** Replies ERR to MSG msgNo. */
  sendErr(data: Payload, size: number | undefined, msgNo: number, opts?: SendOptions): boolean {
    return this.#reply('ERR', data, size, msgNo, opts);
  }
  /** Sends one ANS to MSG msgNo (one-to-many, RFC 3080 §2.6.2). */
  sendAns(data: Payload, size: number | undefined, msgNo: number, opts?: SendOptions): boolean {
    return this.#reply('ANS', data, size, msgNo, opts);
  }
  /** Sends a piece of the RPY to MSG msgNo, every frame flagged `*` (PyVortex send_rpy_more); sendRpy completes it. */
  sendRpyMore(data: Payload, size: number | undefined, msgNo: number, opts?: SendOptions): boolean {
    return this.#reply('RPY', data, size, msgNo, { ...opts, more: true });
  }
  /** Sends a piece of the ERR to MSG msgNo, every frame flagged `*` (PyVortex send_err_more); sendErr completes it. */
  sendErrMore(data: Payload, size: number | undefined, msgNo: number, opts?: SendOptions): boolean {
    return this.#reply('ERR', data, size, msgNo, { ...opts, more: true });
  }
  /** Sends a piece of one ANS to MSG msgNo, every frame flagged `*` (no PyVortex twin); the next sendAns completes that ANS. */
  sendAnsMore(data: Payload, size: number | undefined, msgNo: number, opts?: SendOptions): boolean {
    return this.#reply('ANS', data, size, msgNo, { ...opts, more: true });
  }

  /** Replies RPY to MSG msgNo (TypeScript form of sendRpy; `{ more: true }` sends a piece). */
  reply(msgNo: number, data: Payload, opts?: SendOptions): boolean {
    return this.#reply('RPY', data, undefined, msgNo, opts);
  }
  /**
   * Replies RPY to MSG msgNo with octets [offset, offset + length) of `bytes` as its whole
   * payload: no MIME header block is added, the content carries its own (the reply of a raw
   * handler, see RawReceived; on a MIME channel an empty block is CRLF). `bytes` may also be
   * pieces in order (a large message's `frame.contentParts`): they are framed and written as
   * they are, never joined, and no range may be given.
   */
  replyRaw(msgNo: number, bytes: Uint8Array | readonly Uint8Array[], offset?: number, length?: number): boolean {
    if (!Number.isInteger(msgNo) || msgNo < 0) throw new RangeError('msgNo must be a non-negative integer');
    let body: Body;
    if (Array.isArray(bytes)) {
      if (offset !== undefined || length !== undefined) throw new RangeError('no range with pieces');
      if (!bytes.every((p) => p instanceof Uint8Array)) throw new TypeError('content pieces must be Uint8Arrays');
      body = bytes.length === 1 ? bytes[0]! : new Pieces(bytes);
    } else {
      if (!(bytes instanceof Uint8Array)) throw new TypeError('content must be a Uint8Array or an array of them');
      const o = offset ?? 0;
      const n = length ?? bytes.length - o;
      if (!Number.isInteger(o) || !Number.isInteger(n) || o < 0 || n < 0 || o + n > bytes.length)
        throw new RangeError(`range ${o}+${n} out of 0..${bytes.length}`);
      body = o === 0 && n === bytes.length ? bytes : bytes.subarray(o, o + n);
    }
    try {
      this.conn.session.sendReply(this.#st, 'RPY', msgNo, body);
      return true;
    } catch (e) {
      if (e instanceof RangeError) throw e;
      this.#fail(e);
      return false;
    }
  }
  /** Replies ERR to MSG msgNo (TypeScript form of sendErr; `{ more: true }` sends a piece). */
  error(msgNo: number, data: Payload, opts?: SendOptions): boolean {
    return this.#reply('ERR', data, undefined, msgNo, opts);
  }
  /** Sends one ANS to MSG msgNo (TypeScript form of sendAns; `{ more: true }` sends a piece); end the series with finalizeAns. */
  answer(msgNo: number, data: Payload, opts?: SendOptions): boolean {
    return this.#reply('ANS', data, undefined, msgNo, opts);
  }

  /**
   * Ends an ANS series with NUL. On a MIME channel the NUL carries the empty MIME header block
   * (2 octets) like every other message, as LibVortex sends it: a zero-size NUL shares its seqno
   * with the next frame, and LibVortex's serialized delivery keys frames by seqno and loses one
   * (regression test_03c). `{ bare: true }` sends the zero-size form.
   */
  finalizeAns(msgNo: number, opts: { bare?: boolean } = {}): boolean {
    return this.#reply('NUL', '', 0, msgNo, opts.bare ? undefined : { headers: {} });
  }

  /**
   * Sends a MSG (or the last piece of one begun with sendMsgMore) and resolves with its RPY or
   * ERR frame (ANS...NUL: resolves with the NUL; see requestAll). Waits for room first while
   * the outbound queue is at its budget.
   */
  request(data: Payload, opts?: SendOptions): Promise<Frame> {
    // Not an async function: the promise returned is the one the reply settles, where an async
    // function's own promise would follow it two microtask turns later (round-trip latency).
    // Misuse still rejects rather than throws, as from an async function.
    let body: Uint8Array;
    try {
      if (opts?.more) throw new RangeError('request() sends a whole MSG: use sendMsgMore for pieces, then request() for the last one');
      body = this.#body(data, undefined);
    } catch (e) {
      return Promise.reject(e);
    }
    // With room, no wait: requests made in one run go out in call order, in that run.
    if (!this.conn.writable) return this.#room(opts?.timeout).then((timeout) => this.#request(body, opts, timeout));
    return this.#request(body, opts, opts?.timeout);
  }

  /** Sends the MSG of request() and tracks its reply. */
  #request(body: Uint8Array, opts: SendOptions | undefined, timeout: number | undefined): Promise<Frame> {
    return new Promise<Frame>((resolve, reject) => {
      let msgno: number;
      try {
        msgno = this.conn.session.sendMsg(this.#st, body, undefined, this.#head(opts));
      } catch (e) {
        reject(e);
        return;
      }
      this.#track(msgno, { resolve, reject, octets: 0, dropping: false }, timeout);
    });
  }

  /**
   * Sends a MSG and resolves with every reply frame: one RPY/ERR, or the ANS frames then NUL.
   * Answers are held up to the channel's message limit (setMessageLimit, else maxMessage):
   * past it the promise rejects (BEEP_ERR_MESSAGE_TOO_LARGE) and further answers are dropped,
   * so a peer sending endless ANS cannot grow us without bound.
   */
  async requestAll(data: Payload, opts?: SendOptions): Promise<Frame[]> {
    if (opts?.more) throw new RangeError('requestAll() sends a whole MSG: use sendMsgMore for pieces, then requestAll() for the last one');
    const body = this.#body(data, undefined);
    const timeout = this.conn.writable ? opts?.timeout : await this.#room(opts?.timeout);
    return new Promise<Frame[]>((resolve, reject) => {
      let msgno: number;
      try {
        msgno = this.conn.session.sendMsg(this.#st, body, undefined, this.#head(opts));
      } catch (e) {
        reject(e);
        return;
      }
      const answers: Frame[] = [];
      this.#track(
        msgno,
        {
          resolve: (f) => {
            answers.push(f);
            resolve(answers);
          },
          reject,
          answers,
          octets: 0,
          dropping: false,
        },
        timeout,
      );
    });
  }

  /**
   * Waits for room in the outbound queue; the request's timeout covers this wait too. Returns
   * what is left of the timeout (rejects BEEP_ERR_TIMEOUT when nothing is).
   */
  async #room(timeout: number | undefined): Promise<number | undefined> {
    const bounded = timeout !== undefined && timeout > 0;
    const t0 = Date.now();
    await within(bounded ? timeout : 0, `waiting for room to send on channel ${this.number}`, this.conn.whenWritable());
    if (!bounded) return timeout;
    const left = timeout - (Date.now() - t0);
    if (left <= 0)
      throw new BeepError(`waiting for room to send on channel ${this.number} timed out after ${timeout} ms`, 'BEEP_ERR_TIMEOUT');
    return left;
  }

  /** Records a request; with a timeout, it rejects BEEP_ERR_TIMEOUT and later replies are dropped. */
  #track(msgno: number, r: Request, timeout: number | undefined): void {
    this.#requests.set(msgno, r);
    if (timeout === undefined || timeout <= 0) return;
    r.timer = setTimeout(() => {
      if (this.#requests.get(msgno) !== r || r.dropping) return;
      this.#drop(r);
      r.reject(new BeepError(`no reply on channel ${this.number} within ${timeout} ms`, 'BEEP_ERR_TIMEOUT'));
    }, timeout);
  }

  /**
   * Collects an ANS (or a per-frame piece) of a requestAll: held answers count against the
   * session's inbound budget (maxBuffered) and the channel's message limit.
   */
  #collect(r: Request, f: Frame): void {
    if (r.dropping || r.answers === undefined) return;
    const n = f.content.length + HELD_COST;
    const limit = this.#st.maxMessage ?? this.conn.session.limits.maxMessage;
    const over =
      r.octets + n > limit
        ? `exceed the ${limit}-octet message limit`
        : !this.conn.session.reserve(n)
          ? 'exceed the inbound budget (maxBuffered)'
          : undefined;
    if (over !== undefined) {
      this.#drop(r);
      r.reject(
        new BeepError(`answers on channel ${this.number} ${over}`, r.octets + n > limit ? 'BEEP_ERR_MESSAGE_TOO_LARGE' : 'BEEP_ERR_BUDGET'),
      );
      return;
    }
    r.octets += n;
    f.compact();
    r.answers.push(f);
  }

  /** Gives a request's held answers back to the budget; later answers are dropped. */
  #drop(r: Request): void {
    clearTimeout(r.timer);
    this.conn.session.unreserve(r.octets);
    r.octets = 0;
    r.dropping = true;
    r.answers = [];
  }

  #onMessage(m: Message): void {
    const f = m;
    if (m.type !== 'MSG') {
      const r = this.#requests.get(m.msgno);
      if (r !== undefined) {
        if (m.type === 'ANS' || m.more) {
          this.#collect(r, f);
          return;
        }
        this.#requests.delete(m.msgno);
        clearTimeout(r.timer);
        if (!r.dropping) {
          this.conn.session.unreserve(r.octets);
          r.resolve(f);
        }
        return;
      }
    }
    // A message the raw path did not take (several frames or reads, parked, early) goes to the
    // frame handler when there is one (it may keep a large message in pieces), else to the raw
    // handler as one range.
    if (this.#raw !== undefined && this.#handler === undefined) {
      const c = f.content;
      this.#runRaw(this.#raw, f.type, f.msgno, f.ansno, c, 0, c.length);
      return;
    }
    if (this.#handler !== undefined) {
      this.#run(this.#handler, f);
      return;
    }
    // Frames nobody has read yet count against the session's inbound budget (maxBuffered).
    if (!this.conn.session.reserve(f.content.length + HELD_COST)) {
      this.conn.shutdown(
        new BeepError(`channel ${this.number}: unread messages exceed the inbound budget (maxBuffered)`, 'BEEP_ERR_BUDGET'),
      );
      return;
    }
    f.compact(); // held until read: must not pin its socket chunk
    this.#queue.push(f);
    if (this.#queue.length >= this.highWaterMark) this.conn.session.setPaused(this.#st, true);
    this.#wakeAll();
  }

  /**
   * Runs the frame-received handler: a throw or a rejected promise is reported (ctx.setOnError)
   * and, when the MSG is still owed its final reply, answered with ERR 451 (RFC 3080 §8: local
   * error in processing). The session carries on, as PyVortex does.
   */
  #run(handler: FrameReceived, f: Frame): void {
    try {
      const r = handler(this.conn, this, f, this.#handlerData) as unknown;
      if (r !== undefined && typeof (r as Promise<void>).then === 'function')
        (r as Promise<void>).then(undefined, (e: unknown) => this.#handlerFault(e, f.type, f.msgno));
    } catch (e) {
      this.#handlerFault(e, f.type, f.msgno);
    }
  }

  #handlerFault(e: unknown, type: FrameType, msgno: number): void {
    this.conn.ctx.reportError(e, { conn: this.conn, channel: this });
    if (type !== 'MSG' || this.conn.session.ended || this.#st.state === 'closed') return;
    const owed = this.#st.inbound.get(msgno);
    if (owed === undefined || owed.done) return;
    try {
      // A reply left in pieces can only be ended by its own kind: an empty last piece.
      if (owed.open !== undefined)
        this.conn.session.sendReply(this.#st, owed.open.type === T_ANS ? 'ANS' : owed.open.type === T_ERR ? 'ERR' : 'RPY', msgno, EMPTY);
      if (owed.done) return;
      // After ANS only NUL may end the exchange (RFC 3080 §2.6.2).
      if (owed.nextAnsno > 0) this.conn.session.sendReply(this.#st, 'NUL', msgno, EMPTY, undefined, this.#head());
      else
        this.conn.session.sendReply(
          this.#st,
          'ERR',
          msgno,
          enc.encode(errorXml({ code: 451, text: 'the message could not be processed' })),
          undefined,
          this.#head(),
        );
    } catch {
      // the session ended meanwhile: nothing is owed any more
    }
  }

  /** Incoming frames not claimed by request() or a handler; a slow loop holds the window shut. */
  async *[Symbol.asyncIterator](): AsyncGenerator<Frame> {
    for (;;) {
      const f = this.#queue.shift();
      if (f !== undefined) {
        if (this.#counted) this.conn.session.unreserve(f.content.length + HELD_COST);
        if (this.#queue.length < this.highWaterMark / 2) this.conn.session.setPaused(this.#st, false);
        // A loop that answers what it reads waits while its replies cannot go out.
        if (!this.conn.writable) await this.conn.whenWritable();
        yield f;
        continue;
      }
      if (this.#closed || this.#st.state === 'closed') return;
      await new Promise<void>((res) => {
        (this.#wake ??= []).push(res);
      });
    }
  }

  #wakeAll(): void {
    const ws = this.#wake;
    this.#wake = undefined;
    if (ws !== undefined) for (const w of ws) w();
  }

  /** Caps messages received on this channel (exceeding it ends the session, like maxMessage). */
  setMessageLimit(octets: number): void {
    if (!Number.isInteger(octets) || octets < 1) throw new RangeError('message limit must be a positive integer');
    this.#st.maxMessage = octets;
  }

  /**
   * PyVortex channel.set_complete_flag: true (the default) delivers whole messages, false each
   * frame as it arrives (`frame.more` set on all but the last), for this channel only; overrides
   * the context's `perFrame`.
   */
  setCompleteFlag(flag: boolean): void {
    this.#st.perFrame = !flag;
  }

  /** PyVortex channel.get_complete_flag: true when whole messages are delivered on this channel. */
  getCompleteFlag(): boolean {
    return !(this.#st.perFrame ?? this.conn.ctx.options.perFrame ?? false);
  }

  /** Sets (and pins: no auto-raise) the receive window granted on this channel from now on. */
  setWindowSize(window: number): void {
    this.conn.session.setWindow(this.#st, window);
  }

  /** Channel gone: pending requests fail, iterators end. */
  closed(err?: Error): void {
    this.#closed = true;
    // Unread frames stay readable but no longer count: the session is gone or reset, and a
    // reset has already given the budget back (counting them down later would go negative).
    for (const f of this.#queue) this.conn.session.unreserve(f.content.length + HELD_COST);
    this.#counted = false;
    this.conn.session.unreserve(this.#lentOctets);
    this.#lent = this.#lentOctets = 0;
    if (this.#replyWaits !== undefined) for (const w of this.#replyWaits) w.abort();
    for (const r of this.#requests.values()) this.#drop(r);
    for (const r of this.#requests.values()) r.reject(err ?? new BeepError(`channel ${this.number} closed`, 'BEEP_ERR_CHANNEL_CLOSED'));
    this.#requests.clear();
    this.#wakeAll();
  }

  /** Closes the channel (RFC 3080 §2.3.1.3); false with the reason in popChannelError(). */
  /**
   * Closes the channel (RFC 3080 §2.3.1.3); false with the reason in popChannelError(). The
   * close waits for replies we owe and are owed; past closeTimeout it gives up (the channel
   * stays open, BEEP_ERR_TIMEOUT) instead of waiting on a peer that never answers.
   */
  close(code = 200): Promise<boolean> {
    // Concurrent calls share one attempt: a second <close> for the same channel helps nobody.
    return (this.#closing ??= this.#close(code).finally(() => {
      this.#closing = undefined;
    }));
  }

  #closing: Promise<boolean> | undefined;

  async #close(code: number): Promise<boolean> {
    try {
      await within(
        this.conn.ctx.options.closeTimeout ?? 10_000,
        `close of channel ${this.number}`,
        this.conn.session.mgmt.closeChannel(this.#st, code),
      );
      return true;
    } catch (e) {
      if ((e as BeepError)?.code === 'BEEP_ERR_TIMEOUT') this.conn.session.mgmt.cancelClose(this.#st);
      if (e instanceof BeepReplyError) channelRefused(this.conn, this.number, 'close', e.replyCode, e.text, 'peer');
      this.#fail(e);
      return false;
    }
  }
}
