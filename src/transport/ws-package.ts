// The `ws` package's part in BEEP over WebSocket on Node: the opening handshake, client and
// listener, through a WebSocket subclass whose setSocket() (the private method ws 8 calls once
// the handshake succeeded, to attach its Receiver and Sender to the socket) hands the socket to
// us instead: `ws` then never touches it again, and ws-link.ts speaks RFC 6455 on it. Where the
// socket is not a node:net one (Bun's built-in `ws`), setSocket() is ws's own, and WsPackageLink
// lets `ws` read as before. ws is pinned (8.23.0): test/transport/websocket-reader.test.ts checks
// that the socket is taken, so a `ws` that stops calling setSocket() fails a test instead of
// falling back unseen.
import type { WebSocket as WsSocket, RawData } from 'ws';
import type { Socket } from 'node:net';
import { BeepWebSocketError } from '../errors.js';
import { WsFrameWriter, type MaskFn } from './ws-frame.js';
import type { WsLink } from './ws-link.js';

const kTaken = Symbol('beepwire.ws.taken');

/** The socket and the octets read past the handshake, once a handshake-only WebSocket opened. */
export interface TakenSocket {
  /** The TCP (or TLS) socket. */
  socket: Socket;
  /** Octets that came with the end of the handshake (the first frames). */
  head: Uint8Array;
}

/** The socket a handshake-only WebSocket handed over, if it did. */
export function takenSocket(w: WsSocket): TakenSocket | undefined {
  return (w as unknown as { [kTaken]?: TakenSocket })[kTaken];
}

type SetSocket = (this: WsSocket, socket: unknown, head: Uint8Array, options: object) => void;

/**
 * A subclass of ws's WebSocket that does the opening handshake only: once ws validated it, the
 * socket is kept (takenSocket()) and 'open' is emitted, with no Receiver or Sender attached;
 * terminate() destroys the taken socket. A socket that is not `SocketClass` goes to ws's own
 * setSocket().
 */
export function handshakeOnly(Base: typeof WsSocket, SocketClass: typeof Socket): typeof WsSocket {
  const own = (Base.prototype as unknown as { setSocket?: SetSocket }).setSocket;
  class HandshakeOnly extends Base {
    // ws calls this (lib/websocket.js: the client's 'upgrade' handler, the server's completeUpgrade).
    setSocket(socket: unknown, head: Uint8Array, options: object): void {
      if (!(socket instanceof SocketClass) || own === undefined) {
        own?.call(this, socket, head, options);
        return;
      }
      // As ws's setSocket: no idle timeout from the HTTP side, no Nagle delay.
      socket.setTimeout(0);
      socket.setNoDelay(true);
      (this as unknown as { [kTaken]?: TakenSocket })[kTaken] = { socket, head };
      this.emit('open');
    }

    override terminate(): void {
      const t = takenSocket(this);
      if (t !== undefined) t.socket.destroy();
      else super.terminate();
    }
  }
  return HandshakeOnly;
}

/** A message's octets as a Uint8Array (binaryType 'nodebuffer' gives a Buffer; the rest for safety). */
export function octets(data: RawData): Uint8Array {
  if (data instanceof Uint8Array) return data;
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  const parts = data as Uint8Array[];
  const n = parts.reduce((s, p) => s + p.length, 0);
  const all = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    all.set(p, o);
    o += p.length;
  }
  return all;
}

/** WebSocket close codes that are an orderly end (RFC 6455 §7.4.1: 1000 normal, 1005 none given). */
const ORDERLY = new Set([1000, 1005]);

/**
 * The fallback: `ws` reads (its Receiver joins each message; pings, the closing handshake and
 * violations are its own), and frames go out through a WsFrameWriter on its socket where it is
 * a node:net one, else ws.send() (Bun's built-in `ws`).
 */
export class WsPackageLink implements WsLink {
  /** Who parses frames. */
  readonly reader = 'ws';
  /** Frame writer on ws's socket, when it is a node:net one. */
  readonly writer: WsFrameWriter | undefined;
  /** ws's socket, when it is a node:net one. */
  readonly socket: Socket | undefined;
  /** Payload receiver (set by the transport). */
  onData: (chunk: Uint8Array, more: boolean) => void = () => {};
  /** End receiver (set by the transport). */
  onGone: (err: Error | undefined) => void = () => {};
  readonly #ws: WsSocket;
  #error: Error | undefined;

  /** Wraps an open `ws` WebSocket; `masked`: the client's side. */
  constructor(w: WsSocket, masked: boolean, SocketClass: typeof Socket, mask: MaskFn) {
    this.#ws = w;
    // `_socket` is the socket ws 8 frames onto (absent or not a node:net socket elsewhere, e.g.
    // Bun's: then every frame goes through ws.send()).
    const sock = (w as unknown as { _socket?: unknown })._socket;
    if (sock instanceof SocketClass) {
      this.socket = sock;
      this.writer = new WsFrameWriter(sock, masked, mask);
    }
    w.binaryType = 'nodebuffer';
    w.on('message', (data: RawData) => this.onData(octets(data), true));
    w.on('error', (e: Error) => {
      this.#error ??= e;
    });
    // Pings are answered by ws itself (autoPong); pongs and pings never reach the session.
    w.on('close', (code: number, reason: Buffer) => {
      let err = this.#error;
      if (err === undefined && !ORDERLY.has(code)) {
        const text = new TextDecoder().decode(reason);
        err = new BeepWebSocketError(`WebSocket closed with code ${code}${text === '' ? '' : ` (${text})`}`, code);
      }
      this.onGone(err);
    });
  }

  /** ws is open. */
  get open(): boolean {
    return this.#ws.readyState === 1;
  }

  /** One BINARY message through ws. */
  send(m: Uint8Array, cb: (err?: Error | null) => void): void {
    this.#ws.send(m, { binary: true, compress: false, fin: true }, cb);
  }

  /** ws.pause(): its socket stops being read. */
  pause(): void {
    this.#ws.pause();
  }

  /** ws.resume(). */
  resume(): void {
    this.#ws.resume();
  }

  /** ws.close(1000). */
  close(): void {
    if (this.#ws.readyState === 1) this.#ws.close(1000);
  }

  /** Nothing: ws delivers once it has listeners. */
  start(): void {
    /* the listeners are on ws since the constructor */
  }

  /** ws.terminate(). */
  terminate(): void {
    this.#ws.terminate();
  }
}
