// Per-channel bookkeeping: msgno allocation, replies kept in MSG order (RFC 3080 §2.6.1),
// the outgoing queue, reassembly, and receive-window state. No I/O.
import type { Message } from './message.js';
import { Fifo } from './fifo.js';
import { MsgnoTable } from './msgno-table.js';
import type { Body } from './pieces.js';

/** A message queued for transmission; `offset` advances as frames go out. */
export interface OutMessage {
  /** Codec frame type (T_MSG..T_NUL). */
  type: number;
  /** Message number. */
  msgno: number;
  /** Answer number (ANS only). */
  ansno: number;
  /** MIME header block sent before `data` (kept apart so the body is never copied). */
  head: Uint8Array | undefined;
  /** Payload body (or the whole payload when `head` is unset): one array, or pieces framed without joining. */
  data: Body;
  /** Octets already framed and written, counting `head` then `data`. */
  offset: number;
  /** Called once the last frame is written. */
  onSent?: (() => void) | undefined;
  /** Offsets (counting `head` then `data`) where a frame must end, ascending. */
  cuts?: number[] | undefined;
  /**
   * A piece of a message sent in pieces (LibVortex fixed_more): every frame of it, the last
   * one included, carries `*`; a later piece of the same message completes it.
   */
  more?: boolean;
}

/** A peer MSG awaiting our reply. */
interface Inbound {
  /** Replies queued by the application but not yet released for sending (made when first needed). */
  replies: OutMessage[] | undefined;
  /** The final reply (RPY, ERR or NUL) is queued. */
  done: boolean;
  /** Next ansno for sendAns. */
  nextAnsno: number;
  /** A reply being sent in pieces: its keyword and ansno, until the piece without `more`. */
  open?: { type: number; ansno: number } | undefined;
}

/** Reassembly of one message from frames. */
export interface Partial {
  /** Codec frame type of its frames (T_MSG..T_NUL). */
  type: number;
  /** Message number. */
  msgno: number;
  /** Answer number (ANS only). */
  ansno: number;
  /** Pieces received so far (owned copies or owned views). */
  parts: Uint8Array[];
  /** Octets so far. */
  size: number;
  /** seqno of the first frame. */
  seqno: number;
  /** Delivered (or dropped): its parts are no longer this partial's to keep. */
  done?: boolean;
  /** Index of its first small view of the chunk being decoded, -1 for none (see Session #unpin). */
  pinFrom: number;
}

/** One of our MSGs awaiting its reply, no answer yet (a value in ChannelState.awaiting). */
export const AWAIT_REPLY = 1;
/** One of our MSGs that got an ANS: only ANS or NUL may follow (RFC 3080 §2.6.2). */
export const AWAIT_ANS = 2;

/**
 * The entry of a peer MSG nothing has been replied to yet, shared by all such MSGs (frozen: a
 * write to it is a bug and throws): most MSGs are answered by one final reply framed at once
 * (Session.sendReply), and need no entry of their own. #own() makes one when a reply is queued.
 */
const FRESH: Inbound = Object.freeze({ replies: undefined, done: false, nextAnsno: 0, open: undefined });

/** A shared map that is always empty: fields start with it and get their own Map on first write. */
class NoEntries<K, V> extends Map<K, V> {
  override set(): this {
    throw new Error('internal: write to the shared empty map');
  }
}
// biome-ignore lint/suspicious/noExplicitAny: one shared empty instance stands in for maps of every key and value type
export const NONE: Map<any, any> = new NoEntries();

/** A shared table that is always empty (see NONE). */
class NoMsgnos<V> extends MsgnoTable<V> {
  override set(): this {
    throw new Error('internal: write to the shared empty table');
  }
}
// biome-ignore lint/suspicious/noExplicitAny: one shared empty instance stands in for tables of every value type
const NO_MSGNOS: MsgnoTable<any> = new NoMsgnos();

/** State of one open channel. */
export class ChannelState {
  /** Channel number. */
  readonly number: number;
  /** Profile URI running on the channel ('' for channel 0). */
  profile: string;
  /** Interpret MIME headers of messages (RFC 3080 §2.2). */
  mime: boolean;
  /** 'starting' until the peer accepts our start; 'closing' once a close was asked for (no new MSGs). */
  state: 'starting' | 'open' | 'closing' | 'closed' = 'open';
  /** Next msgno for our MSGs. */
  nextMsgno: number;
  /** Our MSGs awaiting replies, by msgno: AWAIT_REPLY, or AWAIT_ANS once an ANS came. */
  awaiting: MsgnoTable<number> = NO_MSGNOS;
  /** Peer MSGs awaiting our replies, by msgno. */
  inbound: MsgnoTable<Inbound> = NO_MSGNOS;
  /** Their msgnos in arrival order (RFC 3080 §2.6.1 reply order). */
  readonly #order = new Fifo<number>();
  /** Messages ready to frame, strictly in order: frames of two messages never interleave. */
  readonly sendQueue = new Fifo<OutMessage>();
  /** Our MSG being sent in pieces (sendMsg with `more`) until its last piece is queued. */
  openMsg: number | undefined;
  /** The last piece queued, when it has `more`: only its continuation may follow it. */
  #openOut: OutMessage | undefined;
  /** Messages queued while a message sent in pieces waits for its next piece. */
  #deferred: OutMessage[] | undefined;
  // Messages being reassembled: the first in a slot (usually the only one: a Map emptied by
  // delete() reallocates its table every time, garbage per large message that V8 promoted),
  // further ones in a Map by "type msgno ansno".
  #partial: Partial | undefined;
  #partials: Map<string, Partial> = NONE;
  /** Number of messages being reassembled. */
  partialCount = 0;
  /** Deliver each frame as it arrives (true) or whole messages (false); undefined: the session's perFrame. */
  perFrame: boolean | undefined = undefined;
  /** Window we granted (RFC 3081 §3.1.3). */
  window = 4096;
  /** The application set the window: no auto-raise during large messages. */
  windowPinned = false;
  /** Octets received but held back from the window because the consumer is paused. */
  held = 0;
  /** Octets of the frame in progress announced by its header but not yet arrived. */
  inflight = 0;
  /** Consumer paused: received octets are not acknowledged. */
  paused = false;
  /** Octets received since the last SEQ decision (touched in this receive pass). */
  touched = false;
  /** Index in the session's list of channels with queued frames, -1 when not in it. */
  readyAt = -1;
  /** Called when every queue of the channel is empty (used by close). */
  onIdle: Array<() => void> | undefined;
  /** Gives up our own close while it waits for the channel to go idle (set while it waits). */
  cancelOwnClose: (() => void) | undefined;
  /** Per-channel cap on a reassembled message (below the session's maxMessage), if set. */
  maxMessage: number | undefined;
  /** A tuning channel we opened (TLS, TUNNEL): its answer holds input until the reset. */
  tuning = false;
  /** Application hook for delivered messages. */
  onMessage: ((m: Message) => void) | undefined;
  /**
   * Hook for whole messages that arrive in one frame, called instead of onMessage with the
   * content as octets [offset, offset + length) of the socket chunk (no Message made). Never
   * set on channel 0 or a tuning channel: the session's own handling needs Messages there.
   */
  onRaw:
    | ((type: number, msgno: number, ansno: number, seqno: number, bytes: Uint8Array, offset: number, length: number) => void)
    | undefined;
  /** Messages that arrived between our start's <profile/> RPY and the API adopting the channel. */
  early: Message[] | undefined;

  /** Creates channel state. Channel 0's first MSG is msgno 1 (the greeting is reply 0). */
  constructor(number: number, profile: string, mime = true) {
    this.number = number;
    this.profile = profile;
    this.mime = mime;
    this.nextMsgno = number === 0 ? 1 : 0;
  }

  /** Records one of our MSGs awaiting its reply. */
  addAwaiting(msgno: number): void {
    (this.awaiting === NO_MSGNOS ? (this.awaiting = new MsgnoTable()) : this.awaiting).set(msgno, AWAIT_REPLY);
  }

  /** The message being reassembled with this keyword, msgno and ansno, if any. */
  getPartial(type: number, msgno: number, ansno: number): Partial | undefined {
    const p = this.#partial;
    if (p !== undefined && p.msgno === msgno && p.type === type && p.ansno === ansno) return p;
    return this.#partials.size === 0 ? undefined : this.#partials.get(`${type} ${msgno} ${ansno}`);
  }

  /** Starts reassembling a message (none with its keyword, msgno and ansno is in progress). */
  addPartial(p: Partial): void {
    this.partialCount++;
    if (this.#partial === undefined) this.#partial = p;
    else (this.#partials === NONE ? (this.#partials = new Map()) : this.#partials).set(`${p.type} ${p.msgno} ${p.ansno}`, p);
  }

  /** Ends a message's reassembly. */
  removePartial(p: Partial): void {
    if (this.#partial === p) this.#partial = undefined;
    else if (!this.#partials.delete(`${p.type} ${p.msgno} ${p.ansno}`)) return;
    this.partialCount--;
  }

  /** Every message being reassembled. */
  partials(): Partial[] {
    const all = [...this.#partials.values()];
    if (this.#partial !== undefined) all.push(this.#partial);
    return all;
  }

  /** Drops every reassembly, marking each done (see Partial.done). */
  clearPartials(): void {
    for (const p of this.partials()) p.done = true;
    this.#partial = undefined;
    if (this.#partials !== NONE) this.#partials = NONE;
    this.partialCount = 0;
  }

  /** Allocates the next free msgno (RFC 3080 §2.2.1: 0..2147483647, wrapping). */
  allocMsgno(): number {
    for (let i = 0; i < 0x80000000; i++) {
      const n = this.nextMsgno;
      this.nextMsgno = (n + 1) & 0x7fffffff;
      if (!this.awaiting.has(n)) return n;
    }
    throw new RangeError('no free message number');
  }

  /** Records a complete peer MSG that now awaits our reply. */
  addInbound(msgno: number): void {
    (this.inbound === NO_MSGNOS ? (this.inbound = new MsgnoTable()) : this.inbound).set(msgno, FRESH);
    this.#order.push(msgno);
  }

  /** The entry of peer MSG `msgno` as its own object (FRESH is shared), or undefined. */
  #own(msgno: number): Inbound | undefined {
    const e = this.inbound.get(msgno);
    if (e !== FRESH) return e;
    const own: Inbound = { replies: undefined, done: false, nextAnsno: 0, open: undefined };
    this.inbound.set(msgno, own);
    return own;
  }

  /** True when nothing is queued on the channel or waits behind a message sent in pieces: a message may be framed at once. */
  canSendNow(): boolean {
    return this.sendQueue.length === 0 && this.#openOut === undefined && this.#deferred === undefined;
  }

  /**
   * True when a final reply to peer MSG `msgno` may be framed at once (then repliedNow()): it
   * is the oldest MSG owed a reply, nothing was replied to it yet, and nothing is queued on
   * the channel (RFC 3080 §2.6.1: no earlier reply can be pending).
   */
  canReplyNow(msgno: number): boolean {
    return this.#order.peek() === msgno && this.inbound.get(msgno) === FRESH && this.canSendNow();
  }

  /** The final reply to the oldest MSG went out (or heads the send queue): releases what waits behind it. */
  repliedNow(msgno: number): void {
    this.inbound.delete(msgno);
    this.#order.shift();
    this.releaseReplies();
  }

  /**
   * Queues a reply to peer MSG `msgno`; it is released for sending only once every earlier
   * MSG on the channel is completely answered (RFC 3080 §2.6.1). Returns the ansno for ANS.
   * With `more` the reply continues in the next call for the same MSG (same keyword, and the
   * same ansno for ANS); until then no other reply to that MSG is accepted.
   */
  queueReply(
    type: number,
    msgno: number,
    head: Uint8Array | undefined,
    data: Body,
    final: boolean,
    isAns: boolean,
    onSent?: () => void,
    cuts?: number[],
    more = false,
  ): number {
    const entry = this.#own(msgno);
    if (entry === undefined || entry.done) throw new RangeError(`no MSG ${msgno} awaiting a reply on channel ${this.number}`);
    const open = entry.open;
    if (open !== undefined && open.type !== type)
      throw new RangeError(`the reply to MSG ${msgno} on channel ${this.number} is being sent in pieces: finish it before another reply`);
    const ansno = open !== undefined ? open.ansno : isAns ? entry.nextAnsno++ : 0;
    entry.open = more ? { type, ansno } : undefined;
    const m: OutMessage = { type, msgno, ansno, head, data, offset: 0, onSent, cuts, more };
    if (final && !more) entry.done = true;
    if (this.#order.peek() === msgno && entry.replies === undefined) {
      // The oldest MSG (the usual case): its reply goes out now, without a stop in entry.replies.
      this.enqueue(m);
      if (entry.done) this.releaseReplies();
    } else {
      (entry.replies ??= []).push(m);
      this.releaseReplies();
    }
    return ansno;
  }

  /** True when a reply to peer MSG `msgno` was begun in pieces and awaits its next piece. */
  replyOpen(msgno: number): boolean {
    return this.inbound.get(msgno)?.open !== undefined;
  }

  /**
   * Appends a message to the send queue. While a message sent in pieces waits for its next
   * piece, anything else waits behind it: RFC 3080 §2.2.1.1 forbids frames of another message
   * on the channel between a `*` frame and the one that continues it.
   */
  enqueue(m: OutMessage): void {
    const open = this.#openOut;
    if (open !== undefined && (open.type !== m.type || open.msgno !== m.msgno || open.ansno !== m.ansno)) {
      (this.#deferred ??= []).push(m);
      return;
    }
    this.sendQueue.push(m);
    if (m.more) {
      this.#openOut = m;
      return;
    }
    this.#openOut = undefined;
    const waiting = this.#deferred;
    this.#deferred = undefined;
    if (waiting !== undefined) for (const w of waiting) this.enqueue(w);
  }

  /** Every message queued and not yet fully framed (the send queue, then what waits behind a piece). */
  *queued(): IterableIterator<OutMessage> {
    yield* this.sendQueue;
    if (this.#deferred !== undefined) yield* this.#deferred;
  }

  /** Drops every queued message. */
  clearQueue(): void {
    this.sendQueue.clear();
    this.#deferred = undefined;
    this.#openOut = undefined;
  }

  /** Moves replies of the oldest MSGs to the send queue, in MSG order. */
  releaseReplies(): void {
    const order = this.#order;
    for (let msgno = order.peek(); msgno !== undefined; msgno = order.peek()) {
      const entry = this.inbound.get(msgno)!;
      const replies = entry.replies;
      if (replies !== undefined) {
        for (let i = 0; i < replies.length; i++) this.enqueue(replies[i]!);
        entry.replies = undefined;
      }
      if (!entry.done) break;
      this.inbound.delete(msgno);
      order.shift();
    }
    // Channel 0 is quiet after the greeting: give its bookkeeping back (idle sessions stay small).
    if (this.number === 0 && order.length === 0) {
      this.inbound = NO_MSGNOS;
      order.clear();
    }
  }

  /** Replies queued behind an earlier MSG's and not yet released (dropped when the channel goes). */
  *heldReplies(): IterableIterator<OutMessage> {
    for (const e of this.inbound.values()) if (e.replies !== undefined) yield* e.replies;
  }

  /** True when nothing is queued, awaited or owed on this channel. */
  get idle(): boolean {
    return this.sendQueue.length === 0 && this.#deferred === undefined && this.inbound.size === 0 && this.awaiting.size === 0;
  }
}
