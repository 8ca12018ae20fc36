// Ctx and profile registration (PyVortex vortex.Ctx, vortex.register_profile).
import type { SessionLimits } from '../session/limits.js';
import type { CodecImpl } from '../codec/index.js';
import type { Connection } from './connection.js';
import type { Channel } from './channel.js';
import type { Frame } from './frame.js';
import type { FrameType } from '../session/message.js';
import type { StartDecision, StartRequest } from '../session/management.js';
import type { ProfileOffer } from '../session/mgmt.js';
import { BeepError, thrownText } from '../errors.js';
import { Watchdog } from './watchdog.js';
import type { TransportFactory } from '../transport/transport.js';
import type { Logger } from './events.js';
import { wants, emit } from './diagnostics.js';

/** Data a start handler receives. */
export interface StartInfo {
  /** Channel number asked for. */
  channelNum: number;
  /** The connection. */
  conn: Connection;
  /** serverName of the start request, if any. */
  serverName?: string | undefined;
  /** Piggybacked start content, if any (decoded when base64). */
  content?: string | undefined;
  /** The piggyback as received, before any base64 decoding. */
  rawContent?: string | undefined;
  /** Encoding the peer declared for the piggyback. */
  encoding?: 'none' | 'base64';
}

/**
 * What a start handler may return: accept (optionally with piggybacked reply content and a cap
 * on the channel's messages, set before any of its frames is read) or refuse with a reply code.
 */
export type StartAnswer =
  | boolean
  | {
      /** Content piggybacked on the <profile> of the reply. */
      content?: string;
      /** Cap on a reassembled message on this channel, in octets. */
      maxMessage?: number;
    }
  | {
      /** Reply code of the <error> refusing the start (RFC 3080 §8, e.g. 550). */
      code: number;
      /** Diagnostic text of the <error>. */
      text: string;
    };

/**
 * Frame-received handler, as in PyVortex: (conn, channel, frame, data), `data` being what was
 * given to channel.setFrameReceived. A throw or a rejected promise is reported through
 * ctx.setOnError and answered with ERR 451 when the MSG is still owed a reply.
 */
export type FrameReceived = (conn: Connection, channel: Channel, frame: Frame, data?: unknown) => void | Promise<void>;

/**
 * Zero-allocation receive handler for hot profiles (ProfileHandlers.rawReceived,
 * Channel.setRawReceived): every message on the channel as its keyword, msgno, ansno and
 * content, the content being octets [offset, offset + length) of `bytes` — the whole payload as
 * the peer sent it, MIME header block included, with no Frame object and no view made. `bytes`
 * is usually the socket chunk the message arrived in, shared with other messages: a view kept
 * past the call keeps the whole chunk alive, so copy what is kept. Faults are handled as for
 * FrameReceived. Replies to request() still resolve with a Frame. With a frameReceived beside
 * it, messages of several frames or reads go there instead (see ProfileHandlers.rawReceived).
 */
export type RawReceived = (
  channel: Channel,
  type: FrameType,
  msgno: number,
  ansno: number,
  bytes: Uint8Array,
  offset: number,
  length: number,
) => void | Promise<void>;

/** Where a reported fault happened. */
export interface FaultSite {
  /** The connection, if the fault belongs to one. */
  conn?: Connection;
  /** The channel, if the fault belongs to one. */
  channel?: Channel;
}

/** Error hook: application handler faults (code BEEP_ERR_HANDLER, the thrown value as `cause`). */
export type OnError = (err: BeepError, where: FaultSite) => void;

/**
 * Start decision of a tuning profile (TLS, SASL, TUNNEL): it answers the `<start>` itself,
 * with the reply content and an onReplySent action, because it acts on the session.
 */
export type TuningStart = (conn: Connection, req: StartRequest, offer: ProfileOffer) => StartDecision | Promise<StartDecision>;

/** Handlers of a registered profile. */
export interface ProfileHandlers {
  /** Accept or refuse a channel start; default accept. */
  start?: (info: StartInfo) => StartAnswer | Promise<StartAnswer>;
  /** Accept or refuse a channel close; default accept. */
  close?: (channelNum: number, conn: Connection) => boolean | Promise<boolean>;
  /** The channel is gone, however it went (closed by either side, a tuning reset, the session's end): drop its state. */
  closed?: (channelNum: number, conn: Connection) => void;
  /** Called for every message received on channels running the profile. */
  frameReceived?: FrameReceived;
  /**
   * The zero-allocation form of frameReceived (see RawReceived): it gets the messages that
   * arrive whole in one frame and one read; the others go to frameReceived when the profile
   * has one (a large message can stay in pieces there), else to rawReceived joined.
   */
  rawReceived?: RawReceived;
  /** Interpret MIME headers (default true); false delivers content untouched. */
  mime?: boolean;
  /** A tuning profile's own start decision; when set, `start` is not consulted. */
  tuningStart?: TuningStart;
}

/** Options applied to every connection of a context. */
export interface CtxOptions extends SessionLimits {
  /** Codec implementation (default 'wasm'). */
  codec?: CodecImpl;
  /** Connect timeout in ms (default 10,000). */
  connectTimeout?: number;
  /** Greeting timeout in ms (default 10,000). */
  greetingTimeout?: number;
  /** Close/release timeout in ms (default 10,000). */
  closeTimeout?: number;
  /** A greeted session with no octet in or out for this long is dropped, in ms (default: listener 600,000, initiator 0 = never). */
  idleTimeout?: number;
  /** A frame or message partly received with no further data for this long (SEQ frames do not count) drops the session, in ms (default 30,000; 0 = never). */
  stallTimeout?: number;
  /** Our <start> or <close> unanswered for this long drops the session (its channel 0 is stuck), in ms (default 30,000). */
  startTimeout?: number;
  /** After channel 0's <ok/>, a peer that keeps TCP open this long is disconnected, in ms (default 5,000). */
  teardownTimeout?: number;
  /** TLS handshake limit in ms (default 10,000), used by the TLS profile. */
  tlsHandshakeTimeout?: number;
  /** Refuse (550) a peer's session release while its channels are open (default: close them and release). */
  refuseReleaseWithOpenChannels?: boolean;
  /** Error hook, as setOnError. */
  onError?: OnError;
  /** Deliver frames one by one instead of whole messages. */
  perFrame?: boolean;
  /** Transport for connections and listeners of this context (default: the runtime's, see setTransport). */
  transport?: TransportFactory;
  /** Receives this context's diagnostic events, as setLogger (docs/diagnostics.md). */
  logger?: Logger;
}

/** A periodic handler of Ctx.newEvent: true (or a promise of true) removes it. */
export type CtxEvent = (ctx: Ctx, data?: unknown, data2?: unknown) => boolean | void | Promise<boolean | void>;

/** A beepwire context: registered profiles, listeners, options (PyVortex vortex.Ctx). */
export class Ctx {
  /** Registered profiles by URI. */
  readonly profiles = new Map<string, ProfileHandlers>();
  /** Options for new connections. */
  readonly options: CtxOptions;
  /** Open connections. */
  readonly connections = new Set<Connection>();
  /** Listeners started on this context. */
  readonly listeners = new Set<{
    /** Stops accepting and shuts down the listener's sessions. */
    close(): Promise<void>;
  }>();
  /** Waiters of waitListeners(). */
  readonly waiters = new Set<() => void>();
  #initialized = false;
  #onError: OnError | undefined;
  #logger: Logger | undefined;
  #watchdog: Watchdog | undefined;
  #events: Map<number, ReturnType<typeof setInterval>> | undefined;
  #nextEvent = 1;

  /** Creates a context. */
  constructor(options: CtxOptions = {}) {
    this.options = options;
    this.#onError = options.onError;
    this.#logger = options.logger;
  }

  /**
   * Sets the function that receives this context's diagnostic events (connections opened and
   * closed, channels started, refused and closed, session errors, TLS and SASL outcomes, handler
   * faults; docs/diagnostics.md); undefined stops it. A logger that throws is ignored.
   * consoleLogger() prints them as lines (PyVortex ctx.log, ctx.color_log).
   */
  setLogger(logger: Logger | undefined): void {
    if (logger !== undefined && typeof logger !== 'function') throw new TypeError('setLogger needs a function');
    this.#logger = logger;
  }

  /** The logger of setLogger / CtxOptions.logger, if any. */
  get logger(): Logger | undefined {
    return this.#logger;
  }

  /** Sets the hook that receives application handler faults (default: console.error). */
  setOnError(handler: OnError | undefined): void {
    this.#onError = handler;
  }

  /**
   * Reports a fault of an application handler (or a profile module): wrapped as BeepError code
   * BEEP_ERR_HANDLER unless it already is a BeepError. A throwing hook is ignored: reporting
   * must never become the fault.
   */
  reportError(err: unknown, where: FaultSite = {}): void {
    try {
      let isBeep = false;
      try {
        isBeep = err instanceof BeepError;
      } catch {
        /* a Proxy's traps threw */
      }
      const e = isBeep ? (err as BeepError) : new BeepError(`handler failed: ${thrownText(err)}`, 'BEEP_ERR_HANDLER', { cause: err });
      if (wants(this, 'handler:error')) emit({ type: 'handler:error', ctx: this, conn: where.conn, channel: where.channel, error: e });
      if (this.#onError !== undefined) this.#onError(e, where);
      else console.error('beepwire:', e);
    } catch {
      // ignored: see above
    }
  }

  /** The sweep that enforces this context's session timers (created on first use). */
  get watchdog(): Watchdog {
    const o = this.options;
    this.#watchdog ??= new Watchdog(
      Watchdog.periodFor([
        o.greetingTimeout ?? 10_000,
        o.idleTimeout,
        o.stallTimeout ?? 30_000,
        o.startTimeout ?? 30_000,
        o.teardownTimeout ?? 5_000,
      ]),
    );
    return this.#watchdog;
  }

  /**
   * Calls `handler(ctx, data, data2)` every `ms` until it returns true or removeEvent(id)
   * (PyVortex ctx.new_event, which counts microseconds); returns the id. A handler still
   * running (a pending promise) is not called again; a fault is reported (setOnError) and the
   * event goes on. exit() stops every event.
   */
  newEvent(ms: number, handler: CtxEvent, data?: unknown, data2?: unknown): number {
    if (!Number.isFinite(ms) || ms <= 0) throw new RangeError('newEvent needs a period in ms > 0');
    if (typeof handler !== 'function') throw new TypeError('newEvent needs a handler');
    const id = this.#nextEvent++;
    let running = false;
    const settled = (done: unknown): void => {
      running = false;
      if (done === true) this.removeEvent(id);
    };
    const failed = (e: unknown): void => {
      running = false;
      this.reportError(e);
    };
    const timer = setInterval(() => {
      if (running) return;
      running = true;
      let r: unknown;
      try {
        r = handler(this, data, data2);
      } catch (e) {
        failed(e);
        return;
      }
      if (r !== null && typeof r === 'object' && typeof (r as Promise<unknown>).then === 'function')
        (r as Promise<unknown>).then(settled, failed);
      else settled(r);
    }, ms);
    (this.#events ??= new Map()).set(id, timer);
    return id;
  }

  /** Stops an event of newEvent (PyVortex ctx.remove_event); false when there is no such event. */
  removeEvent(id: number): boolean {
    const t = this.#events?.get(id);
    if (t === undefined) return false;
    clearInterval(t);
    this.#events!.delete(id);
    return true;
  }

  /** Initializes the context; returns true (PyVortex ctx.init()). */
  init(): boolean {
    this.#initialized = true;
    return true;
  }

  /** True after init() and before exit(). */
  get initialized(): boolean {
    return this.#initialized;
  }

  /** Shuts down every connection and listener and stops every event (PyVortex ctx.exit()). */
  async exit(): Promise<void> {
    if (this.#events !== undefined) for (const id of [...this.#events.keys()]) this.removeEvent(id);
    for (const c of this.connections) c.shutdown();
    await Promise.all([...this.listeners].map((l) => l.close()));
    for (const w of this.waiters) w();
    this.#initialized = false;
  }
}

/** Registers a profile URI with its handlers (PyVortex vortex.register_profile). */
export function registerProfile(ctx: Ctx, uri: string, handlers: ProfileHandlers = {}): boolean {
  if (typeof uri !== 'string' || uri.length === 0) throw new TypeError('profile URI must be a non-empty string');
  ctx.profiles.set(uri, handlers);
  return true;
}

/** Removes a registered profile. */
export function unregisterProfile(ctx: Ctx, uri: string): boolean {
  return ctx.profiles.delete(uri);
}
