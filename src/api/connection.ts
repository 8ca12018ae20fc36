// Connection (PyVortex vortex.Connection): one BEEP session over a transport (TCP, TLS, a
// stream pair), initiator or listener side.
import { BeepError, BeepReplyError, MgmtSyntaxError, thrownText } from '../errors.js';
import { base64Text } from '../util/base64.js';
import { within } from '../util/within.js';
import { Session } from '../session/session.js';
import type { StartDecision, StartRequest, SessionHooks } from '../session/management.js';
import { NONE, type ChannelState } from '../session/channel-state.js';
import type { Transport, TransportFactory, TlsClientUpgrade, TlsServerUpgrade, TlsInfo, TransportAddress } from '../transport/transport.js';
import { runtimeTransport } from '../transport/select.js';
import { endWithin } from '../transport/linger.js';
import { webSocketUrl, websocketTransport, type WebSocketClientOptions } from '../transport/websocket.js';
import { Channel } from './channel.js';
import type { Ctx, FrameReceived, RawReceived, StartAnswer } from './ctx.js';
import { ConnectionSlot } from './slot.js';
import { channelPoolNew, poolOf, type ChannelPool, type ChannelPoolOptions } from './channel-pool.js';
import type { Watched } from './watchdog.js';
import * as diag from './diagnostics.js';

/** Options of openChannel. */
export interface OpenChannelOptions {
  /** serverName attribute of the start (RFC 3080 §2.3.1.2). */
  serverName?: string | undefined;
  /** Piggybacked content for the profile element. */
  content?: string | undefined;
  /** Encoding of `content` ('none' or 'base64'). */
  encoding?: 'none' | 'base64';
  /** Frame-received handler for the new channel. */
  frameReceived?: FrameReceived;
  /** Interpret MIME headers on this channel (default: the registered profile's choice, else true). */
  mime?: boolean;
  /** A tuning channel (TLS): no window raise, since the transport changes right after the reply. */
  tuning?: boolean;
  /** Caps messages received on the channel from its first frame (see Channel.setMessageLimit). */
  maxMessage?: number | undefined;
}

/** Options of Connection.connect. */
export interface ConnectOptions {
  /** Milliseconds to establish the transport (default: the context's connectTimeout, else 10,000). */
  connectTimeout?: number;
  /** Milliseconds for the listener's greeting (default: the context's greetingTimeout, else 10,000). */
  greetingTimeout?: number;
  /** The transport to connect with (default: the context's, else the runtime's, see select.ts). */
  transport?: TransportFactory;
  /** With a ws:// or wss:// URL: options of the WebSocket client (the URL gives path and scheme). */
  websocket?: Omit<WebSocketClientOptions, 'path' | 'secure'>;
}

/** Called once when a connection ends: `err` unset for an orderly release. */
export type OnClose = (conn: Connection, err?: Error) => void;

let nextId = 1;

/** Application data of setData/getData, kept in a slot like any other per-connection value. */
const APP_DATA = new ConnectionSlot<Map<string, unknown>>('application data (setData)');

/**
 * RFC 3080 §8 reply code for a failure that is not a peer's reply, so popChannelError() never
 * gives 0 (PyVortex's `while err_code` loop stops at 0): poorly formed input 500 (a malformed
 * element: its MgmtSyntaxError's 500 or 501), a budget or size limit 550, anything else
 * (network, timeouts, a closed session) 421 service not available.
 */
export function replyCodeOf(e: unknown): number {
  const code = (e as BeepError)?.code;
  if (e instanceof MgmtSyntaxError) return e.replyCode; // the peer's element was malformed: 500/501
  if (code === 'BEEP_ERR_FRAMING') return 500;
  if (code === 'BEEP_ERR_BUDGET' || code === 'BEEP_ERR_MESSAGE_TOO_LARGE' || code === 'BEEP_ERR_CAPACITY') return 550;
  return 421;
}

/** A BEEP session with a peer. */
export class Connection implements Watched {
  /** Context it belongs to. */
  readonly ctx: Ctx;
  /** Process-unique id. */
  readonly id = nextId++;
  /** 'initiator' or 'listener'. */
  readonly role: 'initiator' | 'listener';
  /** Remote host. */
  readonly host: string;
  /** Remote port. */
  readonly port: number;
  /** The sans-I/O session. */
  readonly session: Session;
  /** The transport the session runs over (TLS replaces its byte stream in place). */
  readonly transport: Transport;
  /** What TLS established, once the session runs over it (PyVortex vortex.tls.is_enabled). */
  tls: TlsInfo | undefined;
  // Collections are made on first use: an idle session should cost a few KiB (issue 9).
  #channels: Map<number, Channel> = NONE;
  #errors: Array<[number, string]> | undefined;
  #onClose: OnClose[] | undefined;
  #slots: Map<ConnectionSlot<unknown>, unknown> | undefined;
  /** Open channels by number (channel 0 excluded). */
  get channels(): Map<number, Channel> {
    return this.#channels;
  }
  /** Value a profile module keeps in `slot` on this connection (kept across tuning resets). */
  get<T>(slot: ConnectionSlot<T>): T | undefined {
    return this.#slots?.get(slot as ConnectionSlot<unknown>) as T | undefined;
  }
  /** Stores (or, with undefined, removes) a value in `slot`. */
  set<T>(slot: ConnectionSlot<T>, value: T | undefined): void {
    if (value === undefined) this.#slots?.delete(slot as ConnectionSlot<unknown>);
    else (this.#slots ??= new Map()).set(slot as ConnectionSlot<unknown>, value);
  }
  /** True when `slot` holds a value. */
  has(slot: ConnectionSlot<unknown>): boolean {
    return this.#slots?.has(slot) ?? false;
  }
  /** The listener that accepted this connection (it forgets the connection when it ends). */
  listener:
    | {
        /** The listener's open connections (this one among them until it ends). */
        connections: Set<Connection>;
      }
    | undefined;

  /** Session hooks as one small object (methods on a prototype, not closures per connection). */
  static readonly #Hooks = class implements SessionHooks {
    readonly c: Connection;
    constructor(c: Connection) {
      this.c = c;
    }
    start(req: StartRequest): Promise<StartDecision> {
      return this.c.#decided(this.c.#decideStart(req), `start of channel ${req.number}`, {
        accept: false,
        code: 451,
        text: 'start decision timed out',
      });
    }
    channelOpened(ch: ChannelState, _req: StartRequest, d: StartDecision & { accept: true }): void {
      const h = this.c.ctx.profiles.get(d.uri);
      this.c.#adopt(ch, h?.frameReceived, undefined, h?.rawReceived);
      diag.channelStarted(this.c, ch.number, ch.profile, 'peer');
    }
    greeting(): void {
      diag.connectionReady(this.c);
    }
    refused(request: 'start' | 'close' | 'malformed', number: number, code: number, text: string, req?: StartRequest): void {
      if (diag.wants(this.c.ctx, 'channel:refused'))
        diag.channelRefused(
          this.c,
          number,
          request,
          code,
          text,
          'local',
          req?.profiles.map((p) => p.uri),
        );
    }
    closeRequested(ch: ChannelState): Promise<boolean> {
      return this.c.#decided(this.c.#closeRequested(ch), `close of channel ${ch.number}`, false);
    }
    channelClosed(ch: ChannelState): void {
      this.c.#channelGone(ch);
    }
    closed(err?: Error): void {
      this.c.#closed(err);
    }
    writable(): void {
      this.c.#wakeWritable();
    }
  };
  #writableWaiters: Array<() => void> | undefined;
  // Watchdog state (see sweep): counters seen at the last sweep and when things last moved.
  #seenIn = 0;
  #seenOut = 0;
  #seenReplies = 0;
  #seenProgress = 0;
  #wasReceiving = false;
  #rxAt: number;
  #activeAt: number;
  #greetSince: number;
  #requestSince = 0;
  #releasedAt = 0;
  #endRecorded = false;

  /**
   * Runs a session over a transport; use Connection.connect() or a listener instead. `peer` is
   * the host and port the initiator asked for (a transport knows its remote address only once
   * connected, and TLS must check the certificate against the host the user named).
   */
  constructor(ctx: Ctx, role: 'initiator' | 'listener', transport: Transport, peer?: TransportAddress) {
    this.ctx = ctx;
    this.role = role;
    const remote = peer ?? transport.remote;
    this.host = remote?.host ?? '';
    this.port = remote?.port ?? 0;
    this.transport = transport;
    const o = ctx.options;
    this.session = new Session(transport, new Connection.#Hooks(this), { ...o, role, ownedChunks: true });
    transport.attach(this.session);
    ctx.connections.add(this);
    this.#rxAt = this.#activeAt = this.#greetSince = Date.now();
    ctx.watchdog.add(this);
    diag.connectionOpened(this);
  }

  /**
   * Enforces the session timers (CtxOptions): greeting, idle, stall, channel-0 replies and
   * teardown after release. Called by the context's watchdog about four times per shortest
   * timeout; compares counters instead of stamping every octet.
   */
  sweep(now: number): void {
    const s = this.session;
    if (s.ended) {
      this.ctx.watchdog.delete(this);
      return;
    }
    const o = this.ctx.options;
    const inN = s.octetsIn,
      outN = s.octetsOut;
    if (inN !== this.#seenIn) {
      this.#seenIn = inN;
      this.#activeAt = now;
    }
    // The stall clock runs on data progress, not on any octet: SEQs trickled by a peer that
    // leaves a message half sent do not keep it alive. It starts when receiving starts.
    const receiving = s.receiving;
    if (s.progress !== this.#seenProgress || (receiving && !this.#wasReceiving)) {
      this.#seenProgress = s.progress;
      this.#rxAt = now;
    }
    this.#wasReceiving = receiving;
    if (outN !== this.#seenOut) {
      this.#seenOut = outN;
      this.#activeAt = now;
    } else if (inN === this.#seenIn && now - this.#activeAt > 1000) s.compact(); // quiet for a while
    const m = s.mgmt;
    if (m.released) {
      // RFC 3081 §2.1: the peer closes TCP after <ok/>; one that does not is cut off.
      if (this.#releasedAt === 0) this.#releasedAt = now;
      else if (now - this.#releasedAt > (o.teardownTimeout ?? 5_000)) this.transport.reset();
      return;
    }
    if (!m.greeted) {
      if (this.#greetSince === 0) this.#greetSince = now;
      else if (now - this.#greetSince > (o.greetingTimeout ?? 10_000)) return this.#timeout('greeting timed out');
    } else this.#greetSince = 0;
    if (m.pendingRequests > 0) {
      if (this.#requestSince === 0 || m.repliesReceived !== this.#seenReplies) {
        this.#requestSince = now;
        this.#seenReplies = m.repliesReceived;
      }
      const t = o.startTimeout ?? 30_000;
      if (t > 0 && now - this.#requestSince > t) return this.#timeout(`channel 0 request unanswered for ${t} ms`);
    } else this.#requestSince = 0;
    if (this.transport.blocked) return; // the application stopped reading: the peer is not at fault
    const stall = o.stallTimeout ?? 30_000;
    if (stall > 0 && receiving && now - this.#rxAt > stall) return this.#timeout(`peer stalled in the middle of a frame for ${stall} ms`);
    const idle = o.idleTimeout ?? (this.role === 'listener' ? 600_000 : 0);
    if (idle > 0 && m.greeted && now - this.#activeAt > idle) this.#timeout(`idle for ${idle} ms`);
  }

  #timeout(why: string): void {
    this.shutdown(new BeepError(why, 'BEEP_ERR_TIMEOUT'));
  }

  /** False while the session's outbound queue is at its budget (maxQueued): wait with whenWritable(). */
  get writable(): boolean {
    return this.session.writable;
  }

  /** Resolves once the outbound queue has room again (at once when it has; also when the session ends). */
  whenWritable(): Promise<void> {
    if (this.session.writable || this.session.ended) return Promise.resolve();
    return new Promise((res) => {
      (this.#writableWaiters ??= []).push(res);
    });
  }

  #wakeWritable(): void {
    const ws = this.#writableWaiters;
    this.#writableWaiters = undefined;
    if (ws !== undefined) for (const w of ws) w();
  }

  #channelGone(ch: ChannelState): void {
    this.channels.get(ch.number)?.closed();
    this.channels.delete(ch.number);
    this.#profileClosed(ch.number, ch.profile);
  }

  /** Tells the channel's profile it is gone (ProfileHandlers.closed); a fault there is reported. */
  #profileClosed(number: number, profile: string): void {
    diag.channelClosed(this, number, profile);
    try {
      this.ctx.profiles.get(profile)?.closed?.(number, this);
    } catch (e) {
      this.ctx.reportError(e, { conn: this });
    }
  }

  /** Changes at every tuning reset: a decision begun before one must not act on the new session. */
  get tuningEpoch(): number {
    return this.session.mgmt.epoch;
  }

  /**
   * A start or close decision within startTimeout: a handler that never settles would hold the
   * peer's channel-0 request, and every later one (replies go in order), for good. Past it the
   * fault is reported (BEEP_ERR_TIMEOUT) and `fallback` answers; a late result is ignored.
   */
  #decided<T>(p: Promise<T>, what: string, fallback: T): Promise<T> {
    const t = this.ctx.options.startTimeout ?? 30_000;
    if (t <= 0) return p;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const late = new Promise<T>((res) => {
      timer = setTimeout(() => {
        this.ctx.reportError(new BeepError(`${what}: the handler did not decide within ${t} ms`, 'BEEP_ERR_TIMEOUT'), { conn: this });
        res(fallback);
      }, t);
      (timer as { unref?: () => void }).unref?.();
    });
    return Promise.race([p.finally(() => clearTimeout(timer)), late]);
  }

  async #closeRequested(ch: ChannelState): Promise<boolean> {
    const h = this.ctx.profiles.get(ch.profile)?.close;
    if (h === undefined) return true;
    try {
      return await h(ch.number, this);
    } catch (e) {
      this.ctx.reportError(e, { conn: this, ...(this.channels.has(ch.number) ? { channel: this.channels.get(ch.number)! } : {}) });
      return false;
    }
  }

  /**
   * Connects to host:port and exchanges greetings, over the runtime's transport (select.ts) or
   * `opts.transport`; or, given a ws:// or wss:// URL instead of a host, over a WebSocket to
   * that URL (its port in the URL; the second argument may be the options). Never rejects for
   * network trouble: check isOk() and popChannelError(), as in PyVortex.
   */
  static async connect(ctx: Ctx, url: string | URL, opts?: ConnectOptions): Promise<Connection>;
  static async connect(ctx: Ctx, host: string, port: number | string, opts?: ConnectOptions): Promise<Connection>;
  static async connect(
    ctx: Ctx,
    target: string | URL,
    portOrOpts?: number | string | ConnectOptions,
    maybeOpts: ConnectOptions = {},
  ): Promise<Connection> {
    let host: string;
    let port: number | string | undefined;
    let opts = maybeOpts;
    let factory: TransportFactory | undefined;
    const ws = webSocketUrl(target);
    if (ws !== undefined) {
      if (typeof portOrOpts === 'object') opts = portOrOpts;
      else if (portOrOpts !== undefined && Number(portOrOpts) !== ws.port)
        throw new RangeError(`port ${portOrOpts} differs from the URL's (${ws.port})`);
      if (opts.transport !== undefined)
        throw new TypeError('a ws:// or wss:// URL chooses the WebSocket transport: pass host and port with `transport`');
      factory = websocketTransport({ ...opts.websocket, path: ws.path, secure: ws.secure });
      host = ws.host;
      port = ws.port;
    } else {
      if (typeof target !== 'string') throw new TypeError('host must be a string');
      if (typeof portOrOpts === 'object') throw new TypeError('a port is needed (or a ws:// URL)');
      host = target;
      port = portOrOpts;
    }
    const p = Number(port);
    if (!Number.isInteger(p) || p < 0 || p > 65535) throw new RangeError(`bad port ${port}`);
    factory ??= opts.transport ?? ctx.options.transport ?? (await runtimeTransport());
    const transport = factory.connect(host, p);
    const timeout = opts.connectTimeout ?? ctx.options.connectTimeout ?? 10_000;
    let conn: Connection;
    try {
      conn = new Connection(ctx, 'initiator', transport, { host, port: p });
    } catch (e) {
      transport.abort(); // no session could be made (process capacity): nothing may leak
      throw e;
    }
    conn.session.start({ profiles: [...ctx.profiles.keys()] });
    const timer = setTimeout(
      () => conn.#abort(new BeepError(`connect to ${host}:${p} timed out after ${timeout} ms`, 'BEEP_ERR_TIMEOUT')),
      timeout,
    );
    const gt = opts.greetingTimeout ?? ctx.options.greetingTimeout ?? 10_000;
    const gTimer = setTimeout(() => conn.#abort(new BeepError('greeting timed out', 'BEEP_ERR_TIMEOUT')), gt);
    void transport.opened().then(() => clearTimeout(timer));
    try {
      await conn.session.mgmt.ready;
    } catch {
      // recorded by #closed (popChannelError); isOk() is false
    } finally {
      clearTimeout(timer);
      clearTimeout(gTimer);
    }
    return conn;
  }

  /** Starts the listener side on an accepted transport. */
  static accept(ctx: Ctx, transport: Transport, refuse?: { code: number; text: string }): Connection {
    const conn = new Connection(ctx, 'listener', transport);
    conn.session.start({ profiles: [...ctx.profiles.keys()] }, refuse);
    return conn; // the greeting deadline is enforced by the context's watchdog (sweep)
  }

  #abort(err: Error): void {
    this.shutdown(err);
  }

  /** Resolves when greetings were exchanged (again after a tuning reset); rejects if the session ends first. */
  get ready(): Promise<void> {
    return this.session.mgmt.ready.then(() => undefined);
  }

  /** True once the session ended. */
  get closed(): boolean {
    return this.session.ended;
  }

  /** Octets received and sent over the session (ALIVE watches the first). */
  get octets(): {
    /** Octets received, headers and trailers included. */
    in: number;
    /** Octets written, headers and trailers included. */
    out: number;
  } {
    return this.session.octets;
  }

  /** Our end of the transport, when the runtime tells (PyVortex conn.get_local_addr/port). */
  get localAddress(): TransportAddress | undefined {
    return this.transport.local;
  }

  /**
   * Sends SEQ frames (default). A TUNNEL set-up turns them off: once the far side answers
   * <ok />, no octet of this session may follow. A tuning reset turns them on again.
   */
  get seqFrames(): boolean {
    return this.session.seqFrames;
  }
  /** Turns SEQ frames on or off (see the getter for when). */
  set seqFrames(on: boolean) {
    this.session.seqFrames = on;
  }

  /** Stops all writing until the next tuning reset (the transport is about to change hands). */
  suspendWrites(): void {
    this.session.suspendWrites();
  }

  /**
   * Tuning reset (RFC 3080 §3): every channel is gone and both peers greet again; our
   * greeting leaves out the profiles in `without` (TLS after TLS is up).
   */
  tuningReset(without: string[] = []): void {
    this.session.tuningReset(this.greeting(without));
  }

  /**
   * Runs the session over TLS from now on (RFC 3080 §3.1 tuning): pending frames go out, the
   * transport upgrades in place, and the session is reset before any octet over TLS reaches
   * it. Rejects when the handshake fails (the session then ends).
   */
  async upgradeTls(side: TlsClientUpgrade | (TlsServerUpgrade & { server: true }), without: string[]): Promise<TlsInfo> {
    const t = this.transport;
    if (t.upgradeTls === undefined) throw new BeepError(`the ${t.kind} transport cannot start TLS in place`, 'BEEP_ERR_TLS');
    this.session.flush();
    this.session.suspendWrites();
    return t.upgradeTls(side, (info) => {
      if (this.session.ended) return;
      this.tls = info;
      this.tuningReset(without);
    });
  }

  /**
   * Listener end of a TUNNEL: after our <ok /> the initiator greets first; its first octets
   * reset the session (our new greeting then follows theirs). A peer silent for `timeout` ms
   * is dropped.
   */
  resetOnPeerGreeting(timeout: number, onReset: () => void): void {
    const t = this.transport;
    this.session.flush();
    this.session.suspendWrites();
    t.flush();
    const session = this.session;
    const timer =
      timeout > 0
        ? setTimeout(() => this.shutdown(new BeepError(`no greeting through the TUNNEL within ${timeout} ms`, 'BEEP_ERR_TIMEOUT')), timeout)
        : undefined;
    t.attach({
      data: (chunk) => {
        clearTimeout(timer);
        t.attach(session);
        if (session.ended) return;
        onReset();
        this.tuningReset();
        session.receive(chunk);
      },
      drain: () => session.drain(),
      closed: (err) => {
        clearTimeout(timer);
        session.transportClosed(err);
      },
    });
  }

  /**
   * Takes the transport away from this connection, whose session ends with `err` (a TUNNEL
   * relay carries its octets from now on). Pending frames are flushed first.
   */
  releaseTransport(err: Error): Transport {
    this.session.flush();
    this.session.suspendWrites();
    this.transport.flush();
    this.transport.hold(true); // octets wait for the new owner (hold(false) there)
    this.transport.attach(undefined);
    this.session.transportClosed(err);
    return this.transport;
  }

  /**
   * Ends the session with `err` after its queued frames are handed to the transport (so the
   * reply that explains why reaches the peer), then closes it; a peer that does not read is
   * cut off after 2 s.
   */
  drop(err: Error): void {
    if (this.session.ended) return;
    this.session.flush();
    const t = this.transport;
    t.flush();
    t.attach(undefined);
    this.session.transportClosed(err); // ends the session with `err` (hooks, onClose) without aborting the transport
    endWithin(t, 2000);
  }

  /** Greeting this side sends (again after a tuning reset): registered profiles minus `without`. */
  greeting(without: string[] = []): {
    /** Profile URIs the greeting advertises. */
    profiles: string[];
  } {
    return { profiles: [...this.ctx.profiles.keys()].filter((p) => !without.includes(p)) };
  }

  /** True when greetings were exchanged and the session is running (false once its release is agreed). */
  isOk(): boolean {
    return this.session.mgmt.greeted && !this.session.ended && !this.session.mgmt.released;
  }
  /** serverName fixed by the first successful start. */
  get serverName(): string | undefined {
    return this.session.mgmt.serverName;
  }
  /** Profiles the peer advertised. */
  get remoteProfiles(): string[] {
    return this.session.mgmt.peer?.profiles ?? [];
  }
  /** Open channels, channel 0 excluded. */
  get channelCount(): number {
    return this.channels.size;
  }
  /** Why the session ended, if abnormally. */
  get error(): Error | undefined {
    return this.session.error;
  }
  /** Text of `error`, '' when there is none (PyVortex conn.error_msg). */
  get errorMsg(): string {
    return this.session.error?.message ?? '';
  }
  /** A channel by number. */
  getChannel(number: number): Channel | undefined {
    return this.channels.get(number);
  }

  /** Records an error for popChannelError(). */
  pushError(e: unknown): void {
    // Once the session's end is recorded, API calls that failed because of it add nothing new:
    // one failure, one entry.
    if (this.#endRecorded) return;
    let code = 421;
    try {
      if (e instanceof BeepReplyError) {
        this.pushChannelError(e.replyCode, e.text || e.message);
        return;
      }
      code = replyCodeOf(e);
    } catch {
      /* a thrown Proxy: its traps throw */
    }
    this.pushChannelError(code, thrownText(e));
  }

  /** Records a (code, message) pair for popChannelError(). */
  pushChannelError(code: number, message: string): void {
    (this.#errors ??= []).push([code, message]);
    if (this.#errors.length > 64) this.#errors.shift(); // bounded
  }

  /** Newest recorded error as [code, message], left in place, or null (the reason a call just gave false). */
  lastChannelError(): [number, string] | null {
    return this.#errors?.[this.#errors.length - 1] ?? null;
  }

  /** Oldest recorded error as [code, message], or null (PyVortex pop_channel_error). */
  popChannelError(): [number, string] | null {
    return this.#errors?.shift() ?? null;
  }

  /** Adds a handler called once when the connection ends; returns it, the handle removeOnClose takes (PyVortex set_on_close). */
  setOnClose(handler: OnClose): OnClose {
    (this.#onClose ??= []).push(handler);
    return handler;
  }

  /** Removes a handler added with setOnClose (PyVortex remove_on_close); false when it was not set. */
  removeOnClose(handler: OnClose): boolean {
    const i = this.#onClose?.indexOf(handler) ?? -1;
    if (i < 0) return false;
    this.#onClose!.splice(i, 1);
    return true;
  }

  /**
   * Stores application data under a string key (PyVortex conn.set_data); undefined or null
   * removes it. Profile modules keep typed state in ConnectionSlot values (get/set) instead.
   */
  setData(key: string, value: unknown): void {
    if (typeof key !== 'string') throw new TypeError('setData needs a string key');
    if (value === undefined || value === null) {
      this.get(APP_DATA)?.delete(key);
      return;
    }
    let m = this.get(APP_DATA);
    if (m === undefined) this.set(APP_DATA, (m = new Map()));
    m.set(key, value);
  }

  /** Application data stored with setData, or undefined (PyVortex conn.get_data). */
  getData(key: string): unknown {
    return this.get(APP_DATA)?.get(key);
  }

  /**
   * The peer's IP address as the transport reports it (PyVortex conn.host_ip): the resolved
   * address, where `host` is the name connected to; undefined before the transport knows it
   * (a WebSocket in a browser never does).
   */
  get hostIp(): string | undefined {
    return this.transport.remote?.host;
  }

  /** Our end's port, when the runtime tells (PyVortex conn.local_port). */
  get localPort(): number | undefined {
    return this.transport.local?.port;
  }

  /** True while reading is stopped with block(true) (PyVortex conn.is_blocked). */
  isBlocked(): boolean {
    return this.transport.blocked;
  }

  /** Open channels running `uri` (PyVortex conn.find_by_uri, LibVortex vortex_connection_get_channel_by_uri). */
  findByUri(uri: string): Channel[] {
    return [...this.channels.values()].filter((c) => c.profile === uri);
  }

  /** Creates a channel pool of `profile` with `initCount` channels opened (PyVortex conn.channel_pool_new). */
  channelPoolNew(profile: string, initCount: number, opts?: ChannelPoolOptions): Promise<ChannelPool> {
    return channelPoolNew(this, profile, initCount, opts);
  }

  /** A channel pool of this connection by id; pool 1 when none is given (PyVortex conn.pool). */
  pool(id?: number): ChannelPool | undefined {
    return poolOf(this, id);
  }

  /**
   * Opens a channel running `profile` (several: offered in order, the peer picks one); number 0
   * picks the next free one of our parity.
   * Resolves null on refusal, with the reason in popChannelError() (PyVortex open_channel).
   */
  async openChannel(number: number, profile: string | string[], opts: OpenChannelOptions = {}): Promise<Channel | null> {
    if (!Number.isInteger(number) || number < 0 || number > 0x7fffffff) throw new RangeError('channel number out of range');
    const uris = typeof profile === 'string' ? [profile] : profile;
    if (uris.length === 0) throw new RangeError('openChannel needs a profile');
    // An empty URI (PyVortex's manual opens `open_channel(0, "")`) is refused here, as the
    // listener would refuse it: null, with 501 in popChannelError().
    if (uris.some((u) => typeof u !== 'string' || u.length === 0)) {
      this.pushChannelError(501, 'a profile URI must be a non-empty string');
      return null;
    }
    const n = number === 0 ? this.#nextChannel() : number;
    const mime = opts.mime ?? this.ctx.profiles.get(uris[0]!)?.mime ?? true; // uris is not empty (checked above)
    try {
      const { content } = opts;
      const offers = uris.map((uri) => ({
        uri,
        ...(content === undefined ? {} : { content }),
        encoding: opts.encoding ?? ('none' as const),
      }));
      if (opts.maxMessage !== undefined && (!Number.isInteger(opts.maxMessage) || opts.maxMessage < 1))
        throw new RangeError('maxMessage must be a positive integer');
      const st = await this.session.mgmt.startChannel(n, offers, opts.serverName, mime, opts.tuning ?? false, opts.maxMessage);
      // A frameReceived given here wins over the profile's handlers, the raw one included.
      const h = opts.frameReceived === undefined ? this.ctx.profiles.get(st.channel.profile) : undefined;
      const ch = this.#adopt(st.channel, opts.frameReceived ?? h?.frameReceived, st.content, h?.rawReceived);
      diag.channelStarted(this, n, st.channel.profile, 'local');
      return ch;
    } catch (e) {
      if (e instanceof RangeError || e instanceof TypeError) throw e;
      if (e instanceof BeepReplyError) diag.channelRefused(this, n, 'start', e.replyCode, e.text, 'peer', uris);
      this.pushError(e);
      return null;
    }
  }

  #nextChannel(): number {
    // RFC 3080 §2.3.1.2: initiator odd, listener even.
    let n = this.role === 'initiator' ? 1 : 2;
    while (this.session.channels.has(n)) n += 2;
    return n;
  }

  #adopt(st: ChannelState, handler?: FrameReceived, piggyback?: string, raw?: RawReceived): Channel {
    const ch = new Channel(this, st, handler, raw);
    ch.startReply = piggyback;
    (this.#channels === NONE ? (this.#channels = new Map()) : this.#channels).set(st.number, ch);
    return ch;
  }

  async #decideStart(req: StartRequest): Promise<StartDecision> {
    // Tuning profiles (TLS, SASL) decide their own starts: they act on the session itself.
    for (const offer of req.profiles) {
      const tuning = this.ctx.profiles.get(offer.uri)?.tuningStart;
      if (tuning !== undefined) return tuning(this, req, offer);
    }
    for (const offer of req.profiles) {
      const h = this.ctx.profiles.get(offer.uri);
      if (h === undefined) continue;
      const content = offer.content === undefined ? undefined : offer.encoding === 'base64' ? base64Text(offer.content) : offer.content;
      let ans: StartAnswer;
      try {
        ans = h.start
          ? await h.start({
              channelNum: req.number,
              conn: this,
              serverName: req.serverName,
              content,
              rawContent: offer.content,
              encoding: offer.encoding,
            })
          : true;
      } catch (e) {
        this.ctx.reportError(e, { conn: this });
        return { accept: false, code: 550, text: 'start handler failed' };
      }
      const mime = h.mime === undefined ? {} : { mime: h.mime };
      if (ans === true) return { accept: true, uri: offer.uri, ...mime };
      if (ans === false) return { accept: false, code: 554, text: `start of ${offer.uri} refused` };
      if ('code' in ans) return { accept: false, code: ans.code, text: ans.text };
      return {
        accept: true,
        uri: offer.uri,
        ...mime,
        ...(ans.content === undefined ? {} : { content: ans.content }),
        ...(ans.maxMessage === undefined ? {} : { maxMessage: ans.maxMessage }),
      };
    }
    return { accept: false, code: 554, text: 'none of the requested profiles is supported' };
  }

  #closed(err?: Error): void {
    for (const ch of this.channels.values()) {
      ch.closed(err);
      this.#profileClosed(ch.number, ch.profile);
    }
    this.channels.clear();
    this.ctx.connections.delete(this);
    this.ctx.watchdog.delete(this);
    this.#wakeWritable();
    if (err !== undefined) {
      this.pushError(err);
      this.#endRecorded = true;
    }
    this.listener?.connections.delete(this);
    diag.connectionClosed(this, err);
    const hs = this.#onClose ?? [];
    this.#onClose = undefined;
    for (const h of hs) {
      try {
        h(this, err);
      } catch (e) {
        this.ctx.reportError(e, { conn: this });
      }
    }
  }

  /** Releases the session (closes every channel, then channel 0); false on refusal or timeout. */
  async close(): Promise<boolean> {
    if (this.session.ended) return false;
    try {
      await within(this.ctx.options.closeTimeout ?? 10_000, 'close', this.session.mgmt.release());
      return true;
    } catch (e) {
      // A release that timed out leaves nothing worth keeping: drop the connection.
      if ((e as BeepError)?.code === 'BEEP_ERR_TIMEOUT') this.shutdown(e as BeepError);
      else this.pushError(e);
      return false;
    }
  }

  /**
   * Stops (true) or resumes (false) reading from the peer, as vortex_connection_block: the
   * session keeps its state, the peer's octets wait in the kernel and TCP flow control.
   */
  block(on: boolean): void {
    this.transport.block(on);
  }

  /** Drops the connection at once (PyVortex conn.shutdown()); `err`, if given, is why (popChannelError, onClose). */
  shutdown(err?: Error): void {
    this.session.abort(err); // recorded once, by #closed
    this.transport.abort();
  }
}
