// Channel 0 (RFC 3080 §2.3): greetings, <start>, <close>, session release. Replies on channel
// 0 use the same in-order machinery as any channel, so async start decisions stay ordered.
import { BeepError, BeepReplyError, asError, thrownText } from '../errors.js';
import { NONE, type ChannelState } from './channel-state.js';
import type { Message } from './message.js';
import type { Session } from './session.js';
import {
  parseMgmt,
  greetingXml,
  startXml,
  profileXml,
  closeXml,
  errorXml,
  OK_XML,
  MGMT_CONTENT_TYPE,
  MgmtSyntaxError,
  type ProfileOffer,
  type Mgmt,
} from './mgmt.js';

/** What a peer advertised in its greeting (RFC 3080 §2.3.1.1). */
export interface Greeting {
  /** Profile URIs. */
  profiles: string[];
  /** Optional features attribute. */
  features?: string | undefined;
  /** Optional localize attribute. */
  localize?: string | undefined;
}

/** A peer's request to start a channel. */
export interface StartRequest {
  /** Channel number asked for. */
  number: number;
  /** serverName attribute, if any. */
  serverName?: string;
  /** Profiles offered, in the peer's order of preference. */
  profiles: ProfileOffer[];
}

/** The application's answer to a StartRequest. */
export type StartDecision =
  | {
      /** Start the channel. */
      accept: true;
      /** The profile chosen, one of the URIs offered. */
      uri: string;
      /** Content piggybacked on the <profile> of the reply. */
      content?: string;
      /** `content` is sent as is ('none', the default) or base64-encoded. */
      encoding?: 'none' | 'base64';
      /** Interpret MIME headers of the channel's messages (default true). */
      mime?: boolean;
      /** Called once the reply is written, in place of handing the channel over (tuning profiles switch the transport there). */
      onReplySent?: () => void;
      /** Cap on a reassembled message on this channel, in effect before its first frame is read. */
      maxMessage?: number;
    }
  | {
      /** Refuse the start. */
      accept: false;
      /** Reply code of the <error> (RFC 3080 §8, e.g. 550). */
      code: number;
      /** Diagnostic text of the <error>. */
      text: string;
    };

/** Hooks through which the session asks and tells the application layer. */
export interface SessionHooks {
  /** The peer's greeting arrived. */
  greeting?(g: Greeting): void;
  /** Decide a peer's start request (RFC 3080 §2.3.1.2). Default: refuse 554. */
  start?(req: StartRequest): StartDecision | Promise<StartDecision>;
  /** A channel the peer asked for is open (after our RPY went out). */
  channelOpened?(ch: ChannelState, req: StartRequest, decision: StartDecision & { accept: true }): void;
  /** Decide a peer's close request; default accept. */
  closeRequested?(ch: ChannelState, code: number): boolean | Promise<boolean>;
  /** A channel is gone (either side closed it, or a tuning reset). */
  channelClosed?(ch: ChannelState): void;
  /** The session ended; `err` when abnormally. */
  closed?(err?: Error): void;
  /** The outbound queue drained below half its budget after being full. */
  writable?(): void;
  /**
   * We answered a peer's channel-0 MSG with an error (RFC 3080 §2.3.1): a start or a close
   * refused (`req` set for a start), or a malformed element (`number` -1). For diagnostics.
   */
  refused?(request: 'start' | 'close' | 'malformed', number: number, code: number, text: string, req?: StartRequest): void;
}

/** Result of a successful start we asked for. */
export interface Started {
  /** The channel. */
  channel: ChannelState;
  /** Profile the peer chose. */
  uri: string;
  /** Piggybacked reply content, if any. */
  content?: string | undefined;
  /** Its encoding. */
  encoding: 'none' | 'base64';
}

interface Pending {
  resolve(m: Message): void;
  reject(e: Error): void;
  /** Runs synchronously as the RPY is processed, before any later frame of the same read. */
  onRpy: ((m: Message) => void) | undefined;
}

const enc = new TextEncoder();
const SETTLED = (): void => {
  /* ready already settled */
};
const MGMT_PREFIX = `Content-Type: ${MGMT_CONTENT_TYPE}\r\n\r\n`;

/** Channel 0 state machine of one session. */
export class Management {
  /** The peer's greeting arrived. */
  greeted = false;
  /** The peer's greeting. */
  peer: Greeting | undefined;
  /** serverName fixed by the first successful start (RFC 3080 §2.3.1.2). */
  serverName: string | undefined;
  /** A release (close of channel 0) was asked for or accepted: the transport close is expected. */
  releasing = false;
  /** The release is agreed (<ok/> for channel 0 sent or received): only the TCP close remains. */
  released = false;
  /** Resolves with the peer's greeting; rejects if the session ends first. */
  ready!: Promise<Greeting>;
  readonly #s: Session;
  #pending: Map<number, Pending> = NONE;
  #starting = 0; // peer starts accepted for decision but not yet answered
  /** Bumped by every tuning reset: work begun under an older epoch belongs to a session that is gone. */
  epoch = 0;
  /** Channel-0 replies received so far (a watchdog sees progress without timestamps here). */
  repliesReceived = 0;
  #readyResolve!: (g: Greeting) => void;
  #readyReject!: (e: Error) => void;

  /** Binds channel 0 handling to a session. */
  constructor(session: Session) {
    this.#s = session;
    this.#newReady();
  }

  #newReady(): void {
    this.ready = new Promise<Greeting>((res, rej) => {
      this.#readyResolve = res;
      this.#readyReject = rej;
    });
    this.ready.catch(() => {
      /* observed through the session's closed hook */
    });
  }

  /** Tuning reset (RFC 3080 §3): pending requests fail, a new greeting is awaited. */
  reset(err: Error): void {
    this.epoch++;
    for (const p of this.#pending.values()) p.reject(err);
    this.#pending.clear();
    this.greeted = false;
    this.peer = undefined;
    this.releasing = false;
    this.released = false;
    this.#newReady();
  }

  get #ch0(): ChannelState {
    return this.#s.channels.get(0)!;
  }

  /** Sends our greeting, or an ERR 421 refusal (RFC 3080 §2.3.1.1) followed by a close. */
  sendGreeting(g: Greeting, refuse?: { code: number; text: string }): void {
    const ch0 = this.#ch0;
    ch0.addInbound(0); // the greeting is reply 0 to an implicit MSG 0
    if (refuse !== undefined) {
      this.#s.sendReply(ch0, 'ERR', 0, mgmtBytes(errorXml({ code: refuse.code, text: refuse.text })), () => this.#s.endTransport());
      return;
    }
    const { profiles, features, localize } = g; // an absent attribute is written as none
    this.#s.sendReply(
      ch0,
      'RPY',
      0,
      mgmtBytes(
        greetingXml({ profiles, ...(features !== undefined ? { features } : {}), ...(localize !== undefined ? { localize } : {}) }),
      ),
    );
  }

  /** Our channel-0 requests (start, close) awaiting the peer's reply. */
  get pendingRequests(): number {
    return this.#pending.size;
  }

  /** Fails every pending channel-0 request (session ended). */
  failAll(err: Error): void {
    this.#readyReject(err);
    this.#readyResolve = this.#readyReject = SETTLED;
    for (const p of this.#pending.values()) p.reject(err);
    this.#pending.clear();
  }

  /** A complete message on channel 0. */
  onMessage(m: Message): void {
    let x: ReturnType<typeof parseMgmt>;
    try {
      x = parseMgmt(new TextDecoder().decode(m.payload), { maxLength: this.#s.limits.maxMgmtMessage });
    } catch (e) {
      if (!(e instanceof MgmtSyntaxError)) throw e;
      // A malformed <start> or <close> is answered (500/501) and the session goes on: the frame
      // was well formed, only its content is wrong. A malformed greeting or reply cannot be.
      if (this.greeted && m.type === 'MSG') return this.#refuse(m.msgno, e.replyCode, e.message, 'malformed', -1);
      return this.#s.protocolError(`channel 0: ${(e as Error).message}`, 0, 0);
    }
    if (!this.greeted) {
      if (m.type === 'RPY' && x.kind === 'greeting') {
        this.greeted = true;
        this.#s.greeted(); // the greeting's octets were held from the window; give them back
        this.peer = { profiles: x.profiles, features: x.features, localize: x.localize };
        this.#s.hooks.greeting?.(this.peer);
        this.#readyResolve(this.peer);
        this.#readyResolve = this.#readyReject = SETTLED; // the resolvers (and their context) go
        return;
      }
      if (m.type === 'ERR' && x.kind === 'error') return this.#s.abort(new BeepReplyError(x.code, x.text));
      return this.#s.protocolError('channel 0: expected a greeting', 0, 0);
    }
    if (m.type === 'MSG') {
      // Both run handlers and may finish after awaits: a fault there ends this session only.
      const fault = (e: unknown): void => this.#s.abort(asError(e));
      if (x.kind === 'start')
        return void this.#onStart(m.msgno, {
          number: x.number,
          profiles: x.profiles,
          ...(x.serverName !== undefined ? { serverName: x.serverName } : {}),
        }).catch(fault);
      if (x.kind === 'close') return void this.#onClose(m.msgno, x.number, x.code).catch(fault);
      return this.#s.protocolError(`channel 0: unexpected <${x.kind}> in a MSG`, 0, 0);
    }
    this.repliesReceived++;
    const p = this.#pending.get(m.msgno);
    if (p === undefined) return;
    this.#pending.delete(m.msgno);
    if (m.type === 'ERR') {
      p.reject(x.kind === 'error' ? new BeepReplyError(x.code, x.text) : new BeepReplyError(550, 'malformed error reply'));
    } else {
      p.onRpy?.(m);
      p.resolve(m);
    }
  }

  #reply(msgno: number, xml: string, type: 'RPY' | 'ERR' = 'RPY', onSent?: () => void): void {
    if (!this.#s.ended) this.#s.sendReply(this.#ch0, type, msgno, mgmtBytes(xml), onSent);
  }

  #refuse(msgno: number, code: number, text: string, request: 'start' | 'close' | 'malformed', number: number, req?: StartRequest): void {
    // Texts may quote the peer's own input: bounded, and escaped by errorXml.
    const t = text.length > 256 ? `${text.slice(0, 256)}...` : text;
    if (this.#s.ended) return;
    this.#reply(msgno, errorXml({ code, text: t }), 'ERR');
    this.#s.hooks.refused?.(request, number, code, t, req);
  }

  async #onStart(msgno: number, req: StartRequest): Promise<void> {
    const s = this.#s;
    const refuse = (code: number, text: string): void => this.#refuse(msgno, code, text, 'start', req.number, req);
    // RFC 3080 §2.3.1.2: the initiator uses odd channel numbers, the listener even ones.
    const peerOdd = s.role === 'listener';
    if ((req.number % 2 === 1) !== peerOdd) return refuse(501, `channel ${req.number} has the wrong parity for the peer's role`);
    if (s.channels.has(req.number)) return refuse(550, `channel ${req.number} is already in use`);
    // Starts still being decided count: an async start handler must not let more through.
    if (s.channels.size - 1 + this.#starting >= s.limits.maxChannels) return refuse(550, 'too many channels');
    if (this.releasing) return refuse(550, 'session is being released');
    let d: StartDecision;
    const epoch = this.epoch;
    this.#starting++;
    try {
      d = s.hooks.start ? await s.hooks.start(req) : { accept: false, code: 554, text: 'no profile available' };
    } catch (e) {
      d = { accept: false, code: 550, text: `start handler failed: ${thrownText(e)}` };
    } finally {
      if (this.epoch === epoch) this.#starting--;
    }
    // A tuning reset happened meanwhile: this MSG belonged to the session before it (no reply).
    if (s.ended || this.epoch !== epoch) return;
    if (!d.accept) return refuse(d.code, d.text);
    if (this.releasing) return refuse(550, 'session is being released'); // agreed while deciding
    if (s.channels.has(req.number)) return refuse(550, `channel ${req.number} is already in use`);
    const accepted = d;
    // Register with the codec now (frames follow our RPY at once), expose after the RPY is out.
    let ch: ChannelState;
    try {
      ch = s.addChannel(req.number, accepted.uri, accepted.mime ?? true);
    } catch (e) {
      // The codec's capacity (a process limit) is reached: refuse this channel, keep the session.
      if ((e as BeepError)?.code === 'BEEP_ERR_CAPACITY') return refuse(550, 'no capacity for another channel');
      throw e;
    }
    if (this.serverName === undefined && req.serverName !== undefined) this.serverName = req.serverName;
    ch.state = 'starting';
    // A per-channel cap applies before the peer's first frame on it can be read.
    if (accepted.maxMessage !== undefined) ch.maxMessage = accepted.maxMessage;
    this.#reply(msgno, profileXml(accepted /* reads uri, content, encoding only */), 'RPY', () => {
      if (ch.state !== 'starting') return;
      ch.state = 'open';
      // Tuning profiles (TLS) switch the transport right after their reply: nothing more may
      // be written on the old layer, so no window raise and no channel hand-over.
      if (accepted.onReplySent !== undefined) return accepted.onReplySent();
      s.raiseWindow(ch, s.limits.window);
      s.hooks.channelOpened?.(ch, req, accepted);
      s.flush();
    });
  }

  async #onClose(msgno: number, number: number, code: number): Promise<void> {
    const s = this.#s;
    const refuse = (text: string): void => this.#refuse(msgno, 550, text, 'close', number);
    if (number === 0) {
      if (s.channels.size > 1) {
        // Several implementations release a session with channels still open and expect them
        // closed implicitly; refusing makes them fail. Accept unless told to refuse.
        if (s.refuseReleaseWithChannels) return refuse('channels are still open');
        for (const ch of [...s.channels.values()]) {
          if (ch.number !== 0) this.#forget(ch);
        }
      }
      this.releasing = true;
      // The peer that asked closes the transport on <ok/>; we end ours once it is written.
      return this.#reply(msgno, OK_XML, 'RPY', () => {
        this.released = true;
        s.endTransport();
      });
    }
    const ch = s.channels.get(number);
    if (ch === undefined || ch.state === 'starting') return refuse(`channel ${number} is not open`);
    let ok = true;
    try {
      if (s.hooks.closeRequested) ok = await s.hooks.closeRequested(ch, code);
    } catch {
      ok = false;
    }
    if (s.ended) return;
    if (!ok) return refuse(`close of channel ${number} refused`);
    ch.state = 'closing';
    const finish = (): void => {
      this.#forget(ch);
      this.#reply(msgno, OK_XML);
    };
    // RFC 3080 §2.3.1.3: our replies go out before <ok/>, and replies to our MSGs that the
    // peer sent before its <close> (possibly queued behind it on its side) are awaited.
    if (ch.idle) finish();
    else (ch.onIdle ??= []).push(finish); // our own close may be waiting too: both are answered
  }

  /** Sends a channel-0 MSG and resolves with the RPY (rejects with BeepReplyError on ERR). */
  #request(xml: string, onRpy?: (m: Message) => void): Promise<Message> {
    return new Promise<Message>((resolve, reject) => {
      const msgno = this.#s.sendMsg(this.#ch0, mgmtBytes(xml));
      (this.#pending === NONE ? (this.#pending = new Map()) : this.#pending).set(msgno, { resolve, reject, onRpy });
    });
  }

  /** Asks the peer to start a channel (RFC 3080 §2.3.1.2). */
  async startChannel(
    number: number,
    profiles: ProfileOffer[],
    serverName?: string,
    mime = true,
    tuning = false,
    maxMessage?: number,
  ): Promise<Started> {
    const s = this.#s;
    if (s.ended) throw new BeepError('session is closed', 'BEEP_ERR_SESSION_CLOSED');
    if (s.channels.has(number)) throw new RangeError(`channel ${number} is already in use`);
    // Reserved at once (concurrent opens pick other numbers) and known to the codec before
    // the RPY arrives: the peer may send on it in the same segment.
    const ch = s.addChannel(number, profiles[0]?.uri ?? '', mime);
    ch.state = 'starting';
    if (maxMessage !== undefined) ch.maxMessage = maxMessage;
    // The channel opens while the <profile/> RPY is processed, not in a later microtask: the
    // peer may send on it right behind that RPY, in the same read (LibVortex's fast-send does).
    // Such messages wait in `early` (bounded by the initial 4096-octet window) for the API.
    let reply = undefined as Mgmt | undefined;
    let bad: unknown;
    const opened = (r: Message): void => {
      try {
        reply = parseMgmt(new TextDecoder().decode(r.payload));
      } catch (e) {
        bad = e;
        return;
      }
      const uri = reply.kind === 'profile' ? reply.uri : undefined;
      if (uri === undefined || !profiles.some((p) => p.uri === uri)) return; // refused below
      ch.profile = uri;
      ch.state = 'open';
      ch.early = [];
      ch.tuning = tuning;
      // A piggybacked answer on a tuning channel (<proceed/>, <ok />) is followed by the next
      // session's octets: none may reach this one (the transport holds them until the reset).
      if (tuning && reply.kind === 'profile' && reply.content !== undefined) s.holdInput();
    };
    try {
      await this.ready;
      await this.#request(startXml({ number, ...(serverName !== undefined ? { serverName } : {}), profiles }), opened);
    } catch (e) {
      s.removeChannel(ch);
      throw e;
    }
    const x = reply;
    if (bad !== undefined || x === undefined || x.kind !== 'profile' || !profiles.some((p) => p.uri === x.uri)) {
      s.removeChannel(ch);
      throw bad ?? new BeepReplyError(550, 'start answered without an offered profile');
    }
    if (this.serverName === undefined && serverName !== undefined) this.serverName = serverName;
    if (!tuning) s.raiseWindow(ch, s.limits.window); // a tuning channel's transport changes next
    s.flush();
    return { channel: ch, uri: x.uri, content: x.content, encoding: x.encoding };
  }

  /** Removes a closed channel and tells the application, once however many paths close it. */
  #forget(ch: ChannelState): void {
    if (this.#s.removeChannel(ch)) this.#s.hooks.channelClosed?.(ch);
  }

  /** Closes a channel (RFC 3080 §2.3.1.3) once its queues drain and replies arrived. */
  async closeChannel(ch: ChannelState, code = 200): Promise<void> {
    const s = this.#s;
    if (ch.state === 'closed') return;
    ch.state = 'closing';
    if (!ch.idle) {
      const idle = await new Promise<boolean>((res) => {
        const w = (): void => {
          ch.cancelOwnClose = undefined;
          res(true);
        };
        (ch.onIdle ??= []).push(w);
        // cancelClose(): only our waiter goes; a close the peer asked for keeps waiting.
        ch.cancelOwnClose = (): void => {
          ch.onIdle = ch.onIdle?.filter((f) => f !== w);
          if (ch.onIdle?.length === 0) {
            ch.onIdle = undefined;
            if (ch.state === 'closing') ch.state = 'open';
          }
          ch.cancelOwnClose = undefined;
          res(false);
        };
        s.flush();
      });
      if (!idle) throw new BeepError(`close of channel ${ch.number} was given up`, 'BEEP_ERR_TIMEOUT');
    }
    if (s.ended) throw s.error ?? new BeepError('session closed', 'BEEP_ERR_SESSION_CLOSED');
    if ((ch.state as string) === 'closed') return; // the peer closed it meanwhile
    // The channel is forgotten while the <ok/> is processed, not in a later microtask: the
    // peer may send <close number='0'/> right behind its <ok/> (LibVortex does), both arrive in
    // one read, and that close must find this channel gone (LibVortex test_02d, test_02m).
    const closed = (): void => this.#forget(ch);
    try {
      await this.#request(closeXml({ number: ch.number, code }), closed);
    } catch (e) {
      // Close in transit: the peer closed the same channel first and now answers ours with an
      // error; the channel is gone either way, which is what was asked for.
      // A session that ended meanwhile did not close the channel: the caller learns why.
      if ((ch.state as string) === 'closed' && !s.ended) return;
      if (ch.state === 'closing') ch.state = 'open';
      throw e;
    }
  }

  /**
   * Gives up a close of ours still waiting for the channel to go idle (closeTimeout): the
   * channel is open again. A close already asked of the peer is left to startTimeout.
   */
  cancelClose(ch: ChannelState): void {
    ch.cancelOwnClose?.();
  }

  /** Releases the session: closes every channel, then channel 0, then the transport. */
  async release(): Promise<void> {
    const s = this.#s;
    await this.ready;
    await Promise.all([...s.channels.values()].filter((c) => c.number !== 0).map((c) => this.closeChannel(c)));
    this.releasing = true;
    try {
      await this.#request(closeXml({ number: 0, code: 200 }));
    } catch (e) {
      this.releasing = false;
      throw e;
    }
    this.released = true;
    s.endTransport();
  }
}

/** A channel-0 payload: MIME header then XML. */
function mgmtBytes(xml: string): Uint8Array {
  return enc.encode(MGMT_PREFIX + xml);
}
