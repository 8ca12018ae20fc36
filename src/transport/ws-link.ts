// One WebSocket connection under a BEEP transport (ws-node.ts), after the opening handshake: the
// WsLink interface, and WsSocketLink, which owns the TCP (or TLS) socket `ws` did the handshake
// on and speaks RFC 6455 on it itself: frames read by WsFrameReader (ws-read.ts), written by
// WsFrameWriter (ws-frame.ts), pings answered, the closing handshake, failing the connection on a
// violation. `ws` is not used for that socket any more (ws-node.ts makes its setSocket() hand the
// socket over instead of attaching its Receiver and Sender). Why not `ws`'s reading: see ws-read.ts.
import type { Socket } from 'node:net';
import { BeepWebSocketError } from '../errors.js';
import { WsFrameReader, CLOSE_NORMAL, CLOSE_NO_STATUS, CLOSE_ABNORMAL, CLOSE_POLICY, Opcode, type UnmaskFn } from './ws-read.js';
import { WsFrameWriter, controlFrame, type MaskFn } from './ws-frame.js';

/** What a WebSocket transport needs of an open WebSocket connection. */
export interface WsLink {
  /** Who parses incoming frames: 'beepwire' (WsSocketLink) or 'ws' (the `ws` package's Receiver). */
  readonly reader: 'beepwire' | 'ws';
  /** Data frames may be sent (open, and no close frame sent). */
  readonly open: boolean;
  /** Writes BINARY frames from parts straight to the socket, where there is a Node socket. */
  readonly writer: WsFrameWriter | undefined;
  /** The socket under the frames (corked around a flush), where there is a Node socket. */
  readonly socket: Socket | undefined;
  /** Payload octets of data frames, in order; `more`: another piece of the same read follows. */
  onData: (chunk: Uint8Array, more: boolean) => void;
  /** The connection is gone (`err` when it ended abnormally); called once. */
  onGone: (err: Error | undefined) => void;
  /** Sends one BINARY message (`cb` once the socket took it). */
  send(m: Uint8Array, cb: (err?: Error | null) => void): void;
  /** Stops reading the socket. */
  pause(): void;
  /** Reads the socket again. */
  resume(): void;
  /** Starts the closing handshake (code 1000) after everything written. */
  close(): void;
  /** Drops the connection at once. */
  terminate(): void;
  /** Starts delivering (once onData and onGone are set). */
  start(): void;
}

/** Milliseconds a closing connection waits for the peer's close frame and FIN before the socket is destroyed. */
export const CLOSE_LINGER_MS = 2000;
/** Pongs written and not yet taken by the socket beyond which a pinging peer is dropped (as `ws`'s maxPendingAutoPongs). */
export const MAX_PENDING_PONGS = 60;

const OPEN = 1;
const CLOSING = 2;
const CLOSED = 3;

/** Options of a WsSocketLink. */
export interface WsSocketLinkOptions {
  /** The listener's side (frames read masked, written unmasked); else the client's. */
  server: boolean;
  /** Largest message accepted, in octets (larger: closed with 1009). */
  maxPayload: number;
  /** Masks the client's frames. */
  mask: MaskFn;
  /** Unmasks the client's frames on the listener, in place. */
  unmask: UnmaskFn;
  /** See CLOSE_LINGER_MS. */
  lingerMs?: number;
}

/**
 * RFC 6455 on a socket we own. Reading really stops with socket.pause(). A close frame from the
 * peer is answered with one echoing its code, then the socket is ended (closed() follows the
 * socket's close, at most lingerMs later); a violation sends 1002 (1009: a message over
 * maxPayload), ends the socket, and reports the error at once. The socket's end without a close
 * frame is 1006.
 */
export class WsSocketLink implements WsLink {
  /** Who parses frames. */
  readonly reader = 'beepwire';
  /** Frame writer on the socket. */
  readonly writer: WsFrameWriter;
  /** The socket. */
  readonly socket: Socket;
  /** Payload receiver (set by the transport). */
  onData: (chunk: Uint8Array, more: boolean) => void = () => {};
  /** End receiver (set by the transport). */
  onGone: (err: Error | undefined) => void = () => {};
  readonly #frames: WsFrameReader;
  readonly #masked: boolean;
  readonly #linger: number;
  #state = OPEN;
  #closeSent = false;
  #closeReceived = false;
  #peerCode = CLOSE_ABNORMAL;
  #peerReason = '';
  #error: Error | undefined;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #pongs = 0;
  #reported = false;
  #head: Uint8Array;

  /** Takes `socket` (with `head`, octets read past the handshake); start() reads it. */
  constructor(socket: Socket, head: Uint8Array, opts: WsSocketLinkOptions) {
    this.socket = socket;
    this.#masked = !opts.server;
    this.#linger = opts.lingerMs ?? CLOSE_LINGER_MS;
    this.writer = new WsFrameWriter(socket, this.#masked, opts.mask);
    this.#frames = new WsFrameReader(
      {
        data: (piece, more) => this.onData(piece, more),
        ping: (p) => this.#ping(p),
        close: (code, reason) => this.#peerClosed(code, reason),
        fail: (err) => this.#fail(err),
      },
      { server: opts.server, maxPayload: opts.maxPayload, unmask: opts.unmask },
    );
    this.#head = head;
    // Errors before start() must not go unhandled.
    socket.on('error', (e: Error) => {
      this.#error ??= new BeepWebSocketError(`WebSocket connection failed: ${e.message}`, CLOSE_ABNORMAL, { cause: e });
    });
  }

  /** Starts reading (once onData and onGone are set: a 'data' listener may be called at once). */
  start(): void {
    const socket = this.socket;
    if (this.#head.length > 0) socket.unshift(this.#head); // first, as ws does: read before anything newer
    this.#head = new Uint8Array(0);
    socket.on('data', (chunk: Uint8Array) => this.#frames.push(chunk));
    socket.on('end', () => this.#ended());
    socket.on('close', () => this.#closed());
    if (socket.destroyed) this.#closed(); // gone before we listened
  }

  /** Data frames may be sent. */
  get open(): boolean {
    return this.#state === OPEN && !this.#closeSent;
  }

  /** Sends one BINARY message. */
  send(m: Uint8Array, cb: (err?: Error | null) => void): void {
    this.writer.put(m.length, m);
    this.writer.flush(cb);
  }

  /** Stops reading. */
  pause(): void {
    this.socket.pause();
  }

  /** Reads again. */
  resume(): void {
    if (this.#state !== CLOSED) this.socket.resume();
  }

  /** Our closing handshake: a close frame (1000), then the peer's, then the end of TCP, within lingerMs. */
  close(): void {
    if (this.#state === CLOSED || this.#closeSent) return;
    this.#sendClose(CLOSE_NORMAL);
    this.#state = CLOSING;
    if (this.#closeReceived) this.socket.end();
    this.#lingerThenDestroy();
  }

  /** Drops the connection. */
  terminate(): void {
    this.#frames.stop();
    this.socket.destroy();
  }

  #sendClose(code: number): void {
    this.#closeSent = true;
    this.writer.discard(); // frames not yet handed to the socket would follow the close frame
    const body = code === CLOSE_NO_STATUS ? new Uint8Array(0) : Uint8Array.of(code >>> 8, code & 0xff);
    if (!this.socket.destroyed) this.socket.write(controlFrame(Opcode.Close, body, this.#masked));
  }

  #ping(payload: Uint8Array): void {
    if (this.#state !== OPEN || this.#closeSent) return;
    if (this.#pongs >= MAX_PENDING_PONGS) {
      this.#fail(
        new BeepWebSocketError(`WebSocket peer sent pings faster than ${MAX_PENDING_PONGS} pongs could be written`, CLOSE_POLICY),
        false,
      );
      return;
    }
    this.#pongs++;
    this.socket.write(controlFrame(Opcode.Pong, payload, this.#masked), () => {
      this.#pongs--;
    });
  }

  /** The peer's close frame (RFC 6455 §5.5.1): answered with its code, unless we sent ours; then TCP ends. */
  #peerClosed(code: number, reason: Uint8Array): void {
    this.#closeReceived = true;
    this.#peerCode = code;
    this.#peerReason = new TextDecoder().decode(reason); // for the error text only (never checked as UTF-8)
    if (!this.#closeSent) this.#sendClose(code);
    this.#state = CLOSING;
    this.socket.end();
    this.#lingerThenDestroy();
  }

  /**
   * Fails the connection (RFC 6455 §7.1.7): our close frame with the error's code (when `say`),
   * the end of TCP, and the error reported now; what the peer sends after is not read.
   */
  #fail(err: BeepWebSocketError, say = true): void {
    this.#error ??= err;
    this.#frames.stop();
    if (say && !this.#closeSent) this.#sendClose(err.closeCode);
    this.#state = CLOSING;
    if (say) {
      this.socket.end();
      this.#lingerThenDestroy();
    } else this.socket.destroy();
    this.#report();
  }

  /** The peer's FIN: without a close frame first, an abnormal closure (1006). */
  #ended(): void {
    if (!this.#closeReceived) {
      this.#error ??= new BeepWebSocketError(
        'WebSocket closed with code 1006 (the connection ended without a close frame)',
        CLOSE_ABNORMAL,
      );
      this.#frames.stop();
    }
    this.#state = CLOSING;
    this.socket.end();
    this.#lingerThenDestroy();
  }

  #lingerThenDestroy(): void {
    if (this.#timer !== undefined) return;
    this.#timer = setTimeout(() => this.socket.destroy(), this.#linger);
    this.#timer.unref?.();
  }

  #closed(): void {
    clearTimeout(this.#timer);
    this.#state = CLOSED;
    this.#frames.stop();
    if (this.#error === undefined && this.#closeReceived && this.#peerCode !== CLOSE_NORMAL && this.#peerCode !== CLOSE_NO_STATUS) {
      const why = this.#peerReason === '' ? '' : ` (${this.#peerReason})`;
      this.#error = new BeepWebSocketError(`WebSocket closed with code ${this.#peerCode}${why}`, this.#peerCode);
    }
    if (this.#error === undefined && !this.#closeReceived && !this.#closeSent)
      this.#error = new BeepWebSocketError('WebSocket closed with code 1006 (the connection ended without a close frame)', CLOSE_ABNORMAL);
    this.#report();
  }

  #report(): void {
    if (this.#reported) return;
    this.#reported = true;
    this.onGone(this.#error);
  }
}
