// BEEP over WebSocket (issue 11), as LibVortex (noPoll) and vortice speak it: the WebSocket is
// a pure tunnel (message.ts), no subprotocol, any path. This file holds the client over the
// WHATWG WebSocket API (browsers, Deno, Bun, workerd, Node >= 22's global) and
// websocketTransport(), the factory that picks an implementation per runtime: on Node the `ws`
// package (ws-node.ts: TEXT messages as raw octets, reading that really stops, in-place TLS),
// elsewhere the global WebSocket. Listeners (Node, Bun) are in ws-listen.ts.
import { BeepError, BeepWebSocketError } from '../errors.js';
import { MessageTransport } from './message.js';
import { runtimeName } from './select.js';
import { WsNodeTransport, loadWsNode } from './ws-node.js';
import { listenWebSocket, type WebSocketListenOptions } from './ws-listen.js';
import type { Transport, TransportAddress, TransportFactory } from './transport.js';

/** The part of a WHATWG WebSocket we use. */
export interface WebSocketLike {
  /** How binary messages arrive; the transport sets 'arraybuffer'. */
  binaryType: string;
  /** Octets passed to send() and not yet transmitted (polled while the session waits to write). */
  readonly bufferedAmount: number;
  /** 0 connecting, 1 open, 2 closing, 3 closed (WHATWG WebSocket). */
  readonly readyState: number;
  /** Sends one binary message. */
  send(data: Uint8Array): void;
  /** Starts the closing handshake with an optional close code and reason. */
  close(code?: number, reason?: string): void;
  /** Subscribes to 'open', 'message', 'error' and 'close' events. */
  addEventListener(type: string, listener: (ev: never) => void): void;
}

/** A WHATWG WebSocket constructor (the global one, or any with its shape). */
export type WebSocketConstructor = new (url: string, protocols?: string | string[]) => WebSocketLike;

const CONNECTING = 0;
const OPEN = 1;

/** Milliseconds between two looks at bufferedAmount while the session waits to write. */
const DRAIN_POLL_MS = 4;

/** Largest message accepted by default, in octets (ws on Node; see WebSocketClientOptions.maxPayload). */
export const WS_MAX_PAYLOAD = 16 << 20;

/**
 * A Transport over a WHATWG WebSocket. What the API allows and does not:
 * - Backpressure: the API has no drain event. After each flush bufferedAmount is compared with
 *   the mark; only while it is above it a timer looks again every 4 ms (DRAIN_POLL_MS) and
 *   resumes the session once it fell below half. No timer runs otherwise.
 * - Reading cannot be paused: input that arrives while the session holds or blocks it waits
 *   in memory, up to maxPausedInput (32 MiB), then the transport fails (BEEP_ERR_BUDGET).
 * - TEXT messages arrive as strings, decoded by the runtime as UTF-8 (RFC 6455 §8.1 requires
 *   it to fail the connection on invalid UTF-8, close code 1007): BEEP in TEXT frames whose
 *   octets are not valid UTF-8, as LibVortex may send, cannot be received this way. Valid UTF-8
 *   is re-encoded to the same octets (but the spec's UTF-8 decode drops a BOM that starts a
 *   message). Use the `ws` implementation (Node) for such peers.
 * - No in-place TLS (upgradeTls is absent; the BEEP TLS profile is refused with 421): use
 *   wss:// instead, where the runtime does TLS.
 */
export class WebSocketTransport extends MessageTransport {
  /** Adapter name. */
  readonly kind = 'websocket';
  #ws: WebSocketLike | undefined;
  #opened: Promise<void>;
  #polling = false;
  #endWhenOpen = false;
  #failure: Error | undefined;
  static #encoder: InstanceType<typeof TextEncoder> | undefined;

  /** Wraps a WebSocket being opened (binaryType is set to 'arraybuffer'), or the error that kept it from being made. */
  constructor(ws: WebSocketLike | Error, remote?: TransportAddress) {
    super();
    this.remote = remote;
    if (ws instanceof Error) {
      this.#opened = Promise.resolve();
      this.gone(ws);
      return;
    }
    this.#ws = ws;
    ws.binaryType = 'arraybuffer';
    ws.addEventListener('message', (ev: { data: unknown }) => this.#message(ev.data));
    ws.addEventListener('error', () => {
      this.#failure ??= new BeepError('WebSocket failed', 'BEEP_ERR_WEBSOCKET');
    });
    ws.addEventListener('close', (ev: { code: number; reason: string }) => this.#closed(ev.code, ev.reason));
    this.#opened =
      ws.readyState === CONNECTING
        ? new Promise<void>((resolve) => {
            ws.addEventListener('open', () => {
              this.#open();
              resolve();
            });
            ws.addEventListener('close', () => resolve());
          })
        : Promise.resolve();
  }

  #open(): void {
    this.flush();
    if (this.#endWhenOpen) this.closeSource();
  }

  #message(data: unknown): void {
    if (data instanceof ArrayBuffer) this.received(new Uint8Array(data));
    else if (typeof data === 'string') this.received((WebSocketTransport.#encoder ??= new TextEncoder()).encode(data));
    else this.abortWith(new BeepError('WebSocket message of an unexpected type (binaryType is not arraybuffer)', 'BEEP_ERR_WEBSOCKET'));
  }

  #closed(code: number, reason: string): void {
    let err = this.#failure;
    if (code !== 1000 && code !== 1005)
      err = new BeepWebSocketError(`WebSocket closed with code ${code}${reason ? ` (${reason})` : ''}`, code);
    this.gone(err);
  }

  /** Fails the transport with `err`. */
  abortWith(err: Error): void {
    this.destroySource();
    this.gone(err);
  }

  /** Resolves once open, or failed. */
  opened(): Promise<void> {
    return this.#opened;
  }

  protected override get ready(): boolean {
    return this.#ws?.readyState === OPEN;
  }

  protected sendMessage(m: Uint8Array): void {
    this.#ws!.send(m);
  }

  protected get buffered(): number {
    return this.#ws?.bufferedAmount ?? 0;
  }

  protected watchDrain(): void {
    if (this.#polling) return;
    this.#polling = true;
    const look = (): void => {
      this.checkDrain();
      if (this.full && !this.closed) setTimeout(look, DRAIN_POLL_MS);
      else this.#polling = false;
    };
    setTimeout(look, DRAIN_POLL_MS);
  }

  protected pauseSource(): void {
    /* the WHATWG API cannot stop reading: see the class comment */
  }

  protected closeSource(): void {
    const w = this.#ws;
    if (w === undefined) return;
    if (w.readyState === CONNECTING) this.#endWhenOpen = true;
    else if (w.readyState === OPEN) w.close(1000);
  }

  protected destroySource(): void {
    const w = this.#ws;
    if (w !== undefined && w.readyState <= OPEN) w.close(1000);
  }
}

/** Options of a WebSocket client. */
export interface WebSocketClientOptions {
  /** Path (and query) of the URL asked for (default '/'; a LibVortex listener answers any). */
  path?: string;
  /** wss:// (the WebSocket does TLS with the runtime's trust store) instead of ws:// (default false). */
  secure?: boolean;
  /** Subprotocols offered (default none: BEEP over WebSocket needs none). */
  protocols?: string | string[];
  /**
   * A WHATWG WebSocket constructor to use (default: the `ws` package on Node, the global
   * WebSocket elsewhere). Passing the global one on Node >= 22 gives the WHATWG behaviour there.
   */
  WebSocket?: WebSocketConstructor;
  /** wss:// with `ws` (Node): trusted CA certificates (PEM; default: Node's store). */
  ca?: string | string[];
  /** wss:// with `ws` (Node): verify the server's certificate (default true). */
  rejectUnauthorized?: boolean;
  /** Largest message accepted, in octets (default 16 MiB; Node's client only, a WHATWG WebSocket has no such option). */
  maxPayload?: number;
  /**
   * Node's client: who reads the frames after `ws` did the handshake: 'beepwire' (default; its
   * own reader, ws-link.ts) or 'ws' (the `ws` package, as before 0.1: for comparison).
   */
  frameReader?: 'beepwire' | 'ws';
  /**
   * `ws` (Node): the Origin header of the upgrade request (default `http://host:port`, or
   * `https://` for wss://). noPoll, LibVortex's WebSocket listener, closes a handshake without
   * one; a browser sends its page's origin and a WHATWG WebSocket cannot set it.
   */
  origin?: string;
}

/** Options of websocketTransport(): a client's, and a listener's (ws-listen.ts). */
export type WebSocketOptions = WebSocketClientOptions & WebSocketListenOptions;

/** Parts of a ws:// or wss:// URL. */
export interface WebSocketUrl {
  /** Host name or IP address (no brackets). */
  host: string;
  /** Port (80 or 443 when the URL has none). */
  port: number;
  /** Path and query. */
  path: string;
  /** wss:// */
  secure: boolean;
}

/** Parses `u` when it is a ws:// or wss:// URL (a string of another form: undefined; a URL object of another scheme, or a malformed URL: TypeError). */
export function webSocketUrl(u: string | URL): WebSocketUrl | undefined {
  if (typeof u === 'string' && !/^wss?:\/\//i.test(u)) return undefined;
  const url = typeof u === 'string' ? new URL(u) : u;
  if (url.protocol !== 'ws:' && url.protocol !== 'wss:') throw new TypeError(`not a ws:// or wss:// URL: ${url.href}`);
  const secure = url.protocol === 'wss:';
  return {
    host: url.hostname.replace(/^\[(.*)\]$/, '$1'),
    port: url.port === '' ? (secure ? 443 : 80) : Number(url.port),
    path: (url.pathname === '' ? '/' : url.pathname) + url.search,
    secure,
  };
}

/**
 * BEEP over WebSocket as a TransportFactory: connect(host, port) opens
 * ws[s]://host:port/path with the runtime's WebSocket (see WebSocketClientOptions.WebSocket);
 * listen() (Node, Bun) accepts WebSocket upgrades, or with `share` plain BEEP and WebSocket on one
 * port (ws-listen.ts). Connection.connect(ctx, 'ws://…') and createListener(…, { websocket })
 * build one for you.
 */
export function websocketTransport(opts: WebSocketOptions = {}): TransportFactory {
  const path = opts.path ?? '/';
  if (!path.startsWith('/')) throw new TypeError(`WebSocket path must start with '/': ${path}`);
  const scheme = opts.secure === true ? 'wss' : 'ws';
  return {
    kind: 'websocket',
    serverTls: runtimeName() === 'node',
    connect(host: string, port: number): Transport {
      const remote = { host, port };
      const authority = `${host.includes(':') ? `[${host}]` : host}:${port}`;
      const url = `${scheme}://${authority}${path}`;
      const ctor =
        opts.WebSocket ?? (runtimeName() === 'node' ? undefined : (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket);
      if (ctor === undefined && runtimeName() === 'node') {
        const maxPayload = opts.maxPayload ?? WS_MAX_PAYLOAD;
        return new WsNodeTransport(
          loadWsNode().then(
            ({ ws, Handshake }) =>
              new (opts.frameReader === 'ws' ? ws.WebSocket : Handshake)(url, opts.protocols ?? [], {
                perMessageDeflate: false,
                skipUTF8Validation: true,
                maxPayload,
                ca: opts.ca,
                rejectUnauthorized: opts.rejectUnauthorized ?? true,
                origin: opts.origin ?? `${opts.secure === true ? 'https' : 'http'}://${authority}`,
              }),
          ),
          { remote, maxPayload },
        );
      }
      if (ctor === undefined)
        return new WebSocketTransport(
          new BeepError('this runtime has no WebSocket: pass one (option `WebSocket`)', 'BEEP_ERR_NO_TRANSPORT'),
          remote,
        );
      try {
        return new WebSocketTransport(new ctor(url, opts.protocols ?? []), remote);
      } catch (e) {
        return new WebSocketTransport(e instanceof Error ? e : new Error(String(e)), remote);
      }
    },
    listen: (host, port, accepted, onError) => listenWebSocket(opts, host, port, accepted, onError),
  };
}
