// Ctx and profile registration (PyVortex vortex.Ctx, vortex.register_profile).
import type { SessionLimits } from '../session/limits.js';
import type { CodecImpl } from '../codec/index.js';
import type { Connection } from './connection.js';
import type { Channel } from './channel.js';
import type { Frame } from './frame.js';

/** Data a start handler receives. */
export interface StartInfo {
  /** Channel number asked for. */
  channelNum: number;
  /** The connection. */
  conn: Connection;
  /** serverName of the start request, if any. */
  serverName?: string;
  /** Piggybacked start content, if any (decoded when base64). */
  content?: string;
  /** The piggyback as received, before any base64 decoding. */
  rawContent?: string;
  /** Encoding the peer declared for the piggyback. */
  encoding?: 'none' | 'base64';
}

/** What a start handler may return: accept (optionally with piggybacked reply content) or not. */
export type StartAnswer = boolean | { content: string } | { code: number; text: string };

/** Frame-received handler, as in PyVortex: (conn, channel, frame). */
export type FrameReceived = (conn: Connection, channel: Channel, frame: Frame) => void;

/** Handlers of a registered profile. */
export interface ProfileHandlers {
  /** Accept or refuse a channel start; default accept. */
  start?: (info: StartInfo) => StartAnswer | Promise<StartAnswer>;
  /** Accept or refuse a channel close; default accept. */
  close?: (channelNum: number, conn: Connection) => boolean | Promise<boolean>;
  /** Called for every message received on channels running the profile. */
  frameReceived?: FrameReceived;
  /** Interpret MIME headers (default true); false delivers content untouched. */
  mime?: boolean;
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
  /** Deliver frames one by one instead of whole messages. */
  perFrame?: boolean;
}

/** A beepwire context: registered profiles, listeners, options (PyVortex vortex.Ctx). */
export class Ctx {
  /** Registered profiles by URI. */
  readonly profiles = new Map<string, ProfileHandlers>();
  /** Options for new connections. */
  readonly options: CtxOptions;
  /** Open connections. */
  readonly connections = new Set<Connection>();
  /** Listeners started on this context. */
  readonly listeners = new Set<{ close(): Promise<void> }>();
  /** Waiters of waitListeners(). */
  readonly waiters = new Set<() => void>();
  /** Hooks the TLS and SASL modules install (tuning profiles). */
  readonly tuning = new Map<string, unknown>();
  #initialized = false;

  /** Creates a context. */
  constructor(options: CtxOptions = {}) { this.options = options; }

  /** Initializes the context; returns true (PyVortex ctx.init()). */
  init(): boolean {
    this.#initialized = true;
    return true;
  }

  /** True after init() and before exit(). */
  get initialized(): boolean { return this.#initialized; }

  /** Shuts down every connection and listener. */
  async exit(): Promise<void> {
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
