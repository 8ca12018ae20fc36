// Listeners for BEEP over WebSocket (Node and Bun: the `ws` package in noServer mode behind
// node:http, for the handshake; refused on Deno, see listenWebSocket), and port sharing: plain BEEP and WebSocket (and, with `tls`, WebSocket over TLS) on one
// port, told apart per connection by its first octets, as LibVortex's port sharing does
// (vortex_listener.c __vortex_listener_check_port_sharing, vortex_websocket.c
// __vortex_websocket_detect_and_prepare_transport).
import type { IncomingMessage, Server as HttpServer } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { TLSSocket } from 'node:tls';
import { BeepError } from '../errors.js';
import { runtimeName } from './select.js';
import { adoptSocket, serve } from './node.js';
import { WsNodeTransport, loadWsNode, type WsNodeModules } from './ws-node.js';
import type { Transport, TransportServer } from './transport.js';

/** Options of a WebSocket listener. */
export interface WebSocketListenOptions {
  /**
   * Port sharing: plain BEEP and WebSocket on the same port (default false: WebSocket only).
   * A connection whose first octets are "GET " is an HTTP upgrade; with `tls`, a TLS
   * ClientHello (0x16 0x03) is WebSocket over TLS; anything else is BEEP. See detectDelay.
   */
  share?: boolean;
  /**
   * Port sharing: milliseconds to wait for a client's first octets (default 500). A BEEP
   * listener greets first, and a BEEP client may wait for that greeting and send nothing: past
   * this delay a silent client is taken for BEEP and greeted. WebSocket and TLS clients speak
   * first, at once (their request follows the TCP handshake), so the delay only costs a silent
   * BEEP client that much latency; beepwire and LibVortex clients greet at once and are
   * detected from their greeting ("RPY ").
   */
  detectDelay?: number;
  /** Largest WebSocket message accepted, in octets (default 16 MiB; a larger one closes the connection with 1009). */
  maxPayload?: number;
  /**
   * Who reads the frames after `ws` did the handshake: 'beepwire' (default; its own reader,
   * ws-link.ts; Bun's built-in `ws` keeps its socket, so `ws` reads there) or 'ws' (the `ws`
   * package, as before 0.1: for comparison).
   */
  frameReader?: 'beepwire' | 'ws';
  /** Largest HTTP request head accepted, in octets (default 8192; a larger one is answered 431). */
  maxHeaderSize?: number;
  /** Milliseconds for a client's whole upgrade request, and its TLS handshake (default 10,000; then 408 or a close). */
  handshakeTimeout?: number;
  /** Certificate and key (PEM): the listener speaks wss:// (and, sharing, takes TLS clients for WebSocket over TLS). */
  tls?: {
    /** Certificate, PEM. */
    cert: string;
    /** Private key, PEM. */
    key: string;
  };
}

/** Default detectDelay in ms. */
export const DETECT_DELAY = 500;
/** Default maxHeaderSize. */
export const MAX_HEADER_SIZE = 8192;
/** Default handshakeTimeout in ms. */
export const HANDSHAKE_TIMEOUT = 10_000;

/** What the first octets of a connection on a shared port say. */
export type FirstOctets = 'websocket' | 'tls' | 'beep' | 'more';

const GET = [0x47, 0x45, 0x54, 0x20]; // "GET "

/**
 * Classifies a connection by its first octets: "GET " is an HTTP request (a WebSocket
 * upgrade), 0x16 0x03 a TLS handshake record (RFC 8446 §5.1: handshake(22), legacy version
 * 3.x), anything else BEEP; 'more' while the octets are a proper prefix of either. With
 * `final` (no more octets will be waited for) a prefix of "GET " is HTTP, anything else BEEP.
 */
export function classifyFirstOctets(head: Uint8Array, final = false): FirstOctets {
  const n = Math.min(head.length, 4);
  let get = true;
  for (let i = 0; i < n; i++)
    if (head[i] !== GET[i]) {
      get = false;
      break;
    }
  if (get) return n === 4 || final ? (n === 0 ? 'beep' : 'websocket') : 'more';
  if (head[0] === 0x16) {
    if (head.length >= 2) return head[1] === 0x03 ? 'tls' : 'beep';
    return final ? 'beep' : 'more';
  }
  return 'beep';
}

/** Answers a plain HTTP request: this endpoint only speaks WebSocket. */
function upgradeRequired(_req: IncomingMessage, res: import('node:http').ServerResponse): void {
  res.writeHead(426, { Connection: 'close', Upgrade: 'websocket', 'Content-Type': 'text/plain' });
  res.end('BEEP over WebSocket: upgrade required\n');
}

/** A request node:http could not parse (oversized head, garbage, timeout): answered and closed, never thrown. */
function clientError(err: Error & { code?: string }, socket: Duplex): void {
  if (!socket.writable || err.code === 'ECONNRESET') {
    socket.destroy();
    return;
  }
  const status =
    err.code === 'HPE_HEADER_OVERFLOW'
      ? '431 Request Header Fields Too Large'
      : err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? '408 Request Timeout'
        : '400 Bad Request';
  socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
  const cut = setTimeout(() => socket.destroy(), 1000); // a client that keeps its end open
  cut.unref?.();
  socket.once('close', () => clearTimeout(cut));
}

type Accepted = (t: Transport) => void;

/** The HTTP side: node:http parsing requests, ws completing upgrades on any path. */
function httpSide(
  m: WsNodeModules,
  o: WebSocketListenOptions,
  accepted: Accepted,
  tls: boolean,
  upgrading?: (s: Duplex) => void,
): HttpServer {
  const maxPayload = o.maxPayload ?? 16 << 20;
  const wss = new m.ws.WebSocketServer({
    noServer: true,
    clientTracking: false,
    perMessageDeflate: false,
    skipUTF8Validation: true,
    maxPayload,
    WebSocket: o.frameReader === 'ws' ? m.ws.WebSocket : m.Handshake,
  });
  const limit = o.handshakeTimeout ?? HANDSHAKE_TIMEOUT;
  const httpOpts = {
    maxHeaderSize: o.maxHeaderSize ?? MAX_HEADER_SIZE,
    headersTimeout: limit,
    requestTimeout: limit,
    connectionsCheckingInterval: Math.max(100, Math.min(1000, limit / 4)),
    keepAliveTimeout: 1000,
    noDelay: true,
  };
  const server: HttpServer =
    tls && o.share !== true
      ? m.https.createServer({ ...httpOpts, cert: o.tls!.cert, key: o.tls!.key, handshakeTimeout: limit })
      : m.http.createServer(httpOpts);
  server.on('request', upgradeRequired);
  server.on('clientError', clientError);
  server.on('tlsClientError', (_e: Error, s: Duplex) => s.destroy());
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Uint8Array) => {
    upgrading?.(socket);
    // ws answers a bad upgrade (no or malformed Sec-WebSocket-Key, wrong version, not GET) with 400.
    wss.handleUpgrade(req, socket, head as Buffer, (w) => accepted(new WsNodeTransport(w, { raw: req.socket, maxPayload })));
  });
  return server;
}

/**
 * Listens for BEEP over WebSocket on host:port (Node, Bun: node:http and `ws`); see
 * WebSocketListenOptions. Refused on Deno: under Deno 2.9's node:http, upgraded connections were
 * dropped soon after the handshake (1 to 3 of the 4 ws:// scenarios of the runtime matrix failed,
 * with Node's client too), and elsewhere (workerd, browsers) there is no node:http.
 */
export async function listenWebSocket(
  o: WebSocketListenOptions,
  host: string,
  port: number,
  accepted: Accepted,
  onError: (e: Error) => void,
): Promise<TransportServer> {
  const rt = runtimeName();
  if (rt !== 'node' && rt !== 'bun')
    throw new BeepError('WebSocket listeners need Node or Bun (the ws package and node:http)', 'BEEP_ERR_NO_TRANSPORT');
  const m = await loadWsNode();
  const secure = o.tls !== undefined;
  const limit = o.handshakeTimeout ?? HANDSHAKE_TIMEOUT;
  if (!Number.isFinite(limit) || limit <= 0) throw new RangeError('handshakeTimeout must be a number of ms > 0');
  if (o.share !== true) {
    const http = httpSide(m, o, accepted, secure);
    return serve(http, host, port, onError, () => http.closeAllConnections());
  }
  const delay = o.detectDelay ?? DETECT_DELAY;
  if (!Number.isFinite(delay) || delay < 0) throw new RangeError('detectDelay must be a number of ms >= 0');
  // node:http enforces headersTimeout only on servers that listen themselves: this one is fed
  // sockets, so each gets its own deadline for its upgrade request.
  const deadlines = new Map<Duplex, ReturnType<typeof setTimeout>>();
  const http = httpSide(m, o, accepted, secure, (s) => {
    clearTimeout(deadlines.get(s));
    deadlines.delete(s);
  });
  const secureContext = secure ? m.tls.createSecureContext({ cert: o.tls!.cert, key: o.tls!.key }) : undefined;
  const pending = new Set<Duplex>(); // being sorted, or in a TLS handshake
  const toHttp = (s: Duplex): void => {
    deadlines.set(
      s,
      setTimeout(() => {
        deadlines.delete(s);
        s.destroy();
      }, limit),
    );
    s.once('close', () => {
      clearTimeout(deadlines.get(s));
      deadlines.delete(s);
    });
    http.emit('connection', s);
  };
  const toTls = (raw: Socket): void => {
    const t: TLSSocket = new m.tls.TLSSocket(raw, { isServer: true, secureContext });
    const cut = setTimeout(() => t.destroy(), limit);
    pending.add(t);
    t.on('error', () => t.destroy());
    t.once('close', () => {
      clearTimeout(cut);
      pending.delete(t);
    });
    t.once('secure', () => {
      clearTimeout(cut);
      pending.delete(t);
      toHttp(t);
    });
  };
  const server = m.net.createServer({ noDelay: true }, (socket) => {
    pending.add(socket);
    socket.once('close', () => pending.delete(socket));
    sortConnection(socket, delay, (kind, head) => {
      pending.delete(socket);
      if (head !== undefined) socket.unshift(head);
      if (kind === 'websocket') {
        toHttp(socket);
        socket.resume();
      } else if (kind === 'tls' && secure)
        toTls(socket); // TLSSocket takes the unshifted octets first
      else adoptSocket(socket, undefined, accepted); // BEEP (TLS without a certificate too: BEEP's framing refuses it)
    });
  });
  return serve(server, host, port, onError, () => {
    for (const s of pending) s.destroy();
    pending.clear();
    for (const s of deadlines.keys()) s.destroy();
    http.closeAllConnections();
  });
}

/**
 * Reads a new connection's first octets (up to four) for `delay` ms, then says what it is and
 * gives back what was read; the socket is paused. A connection that ends or fails meanwhile is
 * destroyed without a word.
 */
function sortConnection(
  socket: Socket,
  delay: number,
  decided: (kind: Exclude<FirstOctets, 'more'>, head: Uint8Array | undefined) => void,
): void {
  let head: Uint8Array | undefined;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let done = false;
  const finish = (kind: Exclude<FirstOctets, 'more'>): void => {
    if (done) return;
    done = true;
    clearTimeout(timer);
    socket.pause();
    socket.off('data', onData);
    socket.off('end', gone);
    socket.off('close', gone);
    socket.off('error', gone);
    decided(kind, head);
  };
  const onData = (chunk: Uint8Array): void => {
    head = head === undefined ? chunk : concat(head, chunk);
    const k = classifyFirstOctets(head);
    if (k !== 'more') finish(k);
  };
  const gone = (): void => {
    if (done) return;
    done = true;
    clearTimeout(timer);
    socket.destroy();
  };
  socket.on('data', onData);
  socket.once('end', gone);
  socket.once('close', gone);
  socket.on('error', gone);
  // The timer runs in the timers phase, before this loop turn reads sockets: if the loop was
  // late, octets may be waiting. One more turn lets them be read before silence is concluded.
  timer = setTimeout(() => {
    timer = setTimeout(() => finish(head === undefined ? 'beep' : (classifyFirstOctets(head, true) as Exclude<FirstOctets, 'more'>)), 0);
  }, delay);
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const c = new Uint8Array(a.length + b.length);
  c.set(a, 0);
  c.set(b, a.length);
  return c;
}
