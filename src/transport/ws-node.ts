// BEEP over WebSocket on Node with the `ws` package: the initiator's client, the listener's
// accepted sockets, and the in-place TLS upgrade (the BEEP TLS profile inside a ws:// session:
// node:tls over a Duplex made of the WebSocket's messages). `ws`, node:tls and node:stream are
// loaded by loadWsNode() only, through computed specifiers, so bundles for a browser or workerd
// never include them.
//
// ws is used, and not Node 22's WHATWG WebSocket, because it hands TEXT messages over as raw
// octets (skipUTF8Validation): LibVortex sends BEEP in TEXT frames whatever the octets.
import type { WebSocket as WsSocket, RawData } from 'ws';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { TLSSocket } from 'node:tls';
import { BeepError } from '../errors.js';
import { MessageTransport } from './message.js';
import { tlsOver, nodeTlsInfo } from './node.js';
import { WsFrameWriter, jsMask, type MaskFn } from './ws-frame.js';
import type { TransportAddress, TlsClientUpgrade, TlsServerUpgrade, TlsInfo } from './transport.js';

/** The modules the Node WebSocket adapter needs, once loaded. */
export interface WsNodeModules {
  ws: typeof import('ws');
  tls: typeof import('node:tls');
  stream: typeof import('node:stream');
  http: typeof import('node:http');
  https: typeof import('node:https');
  net: typeof import('node:net');
  /** bufferutil's native mask (an optional dependency, as for `ws`), else a JS loop. */
  mask: MaskFn;
}

let mods: WsNodeModules | undefined;

/** Loads `ws` and the node: modules it works with (computed specifiers: see the file comment). */
export async function loadWsNode(): Promise<WsNodeModules> {
  if (mods === undefined) {
    const load = (m: string): Promise<unknown> => import(m);
    const [ws, tls, stream, http, https, net] = await Promise.all(
      ['ws', 'node:tls', 'node:stream', 'node:http', 'node:https', 'node:net'].map(load),
    );
    mods = { ws, tls, stream, http, https, net, mask: await nativeMask() } as WsNodeModules;
  }
  return mods;
}

/** bufferutil's mask when it loads (short runs stay in JS: a native call costs more than it saves, as in ws). */
async function nativeMask(): Promise<MaskFn> {
  try {
    const load = (m: string): Promise<{ default?: { mask?: MaskFn } }> => import(m);
    const native = (await load('bufferutil')).default?.mask;
    if (typeof native !== 'function') return jsMask;
    return (source, mask, output, offset, length) => {
      if (length < 48) jsMask(source, mask, output, offset, length);
      else native(source, mask, output, offset, length);
    };
  } catch {
    return jsMask;
  }
}

/** The loaded modules (only after loadWsNode resolved). */
export function wsNodeModules(): WsNodeModules | undefined {
  return mods;
}

/** WebSocket close codes that are an orderly end (RFC 6455 §7.4.1: 1000 normal, 1005 none given). */
const ORDERLY = new Set([1000, 1005]);

function addressOf(host: string | undefined, port: number | undefined): TransportAddress | undefined {
  return host === undefined ? undefined : { host, port: port ?? 0 };
}

/** A message's octets as a Uint8Array (binaryType 'nodebuffer' gives a Buffer; the rest for safety). */
function octets(data: RawData): Uint8Array {
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

/**
 * A Transport over a `ws` WebSocket (client or accepted). Input stops with ws.pause() (the TCP
 * socket stops being read) and messages already parsed wait in the base class's queue.
 * Frames go out through a WsFrameWriter on ws's socket (ws-frame.ts), or, where ws has no Node
 * socket under it, one joined message per ws.send(). After an in-place TLS upgrade the byte
 * stream is a TLSSocket over the WebSocket.
 */
export class WsNodeTransport extends MessageTransport {
  /** Adapter name. */
  readonly kind = 'websocket';
  #ws: WsSocket | undefined;
  #tls: TLSSocket | undefined;
  #duplex: Duplex | undefined;
  #opened: Promise<void>;
  #inflight = 0;
  #upgrading = false;
  #endWhenOpen = false;
  #error: Error | undefined;
  #writer: WsFrameWriter | undefined;
  readonly #masked: boolean;

  /**
   * Wraps a WebSocket (or a promise of one: a client being made). `raw` is the TCP socket of an
   * accepted one (for its addresses); `remote` is what the initiator asked for.
   */
  constructor(ws: WsSocket | Promise<WsSocket>, opts: { raw?: Socket; remote?: TransportAddress } = {}) {
    super();
    this.remote = opts.remote;
    // An accepted WebSocket (its raw socket given) is the listener's side, whose frames go
    // unmasked; the initiator's are masked (RFC 6455 §5.1).
    this.#masked = opts.raw === undefined;
    if (opts.raw !== undefined) this.#addresses(opts.raw);
    this.#opened = Promise.resolve(ws).then(
      (w) => this.#use(w),
      (e: unknown) => {
        this.gone(e instanceof Error ? e : new Error(String(e)));
      },
    );
  }

  /** A TLS upgrade can take either side (node:tls over the WebSocket's octets). */
  override get canAcceptTls(): boolean {
    return true;
  }

  #addresses(s: Socket): void {
    this.remote = addressOf(s.remoteAddress, s.remotePort) ?? this.remote;
    this.local = addressOf(s.localAddress, s.localPort);
  }

  #use(w: WsSocket): Promise<void> {
    if (this.closed) {
      w.terminate();
      return Promise.resolve();
    }
    this.#ws = w;
    w.binaryType = 'nodebuffer';
    w.on('message', (data: RawData) => this.received(octets(data)));
    w.on('error', (e: Error) => {
      this.#error ??= e;
    });
    w.on('close', (code: number, reason: Buffer) => this.#wsClosed(code, reason));
    // Pings are answered by ws itself (autoPong); pongs and pings never reach the session.
    if (w.readyState === w.OPEN) {
      this.#start();
      return Promise.resolve();
    }
    w.on('upgrade', (res) => this.#addresses(res.socket));
    return new Promise<void>((resolve) => {
      w.once('open', () => {
        this.#start();
        resolve();
      });
      w.once('close', () => resolve());
    });
  }

  #start(): void {
    // `_socket` is the socket ws 8 frames onto (absent or not a node:net socket elsewhere, e.g.
    // Bun's client: then every frame goes through ws.send()).
    const sock = (this.#ws as unknown as { _socket?: unknown })._socket;
    const m = mods;
    if (m !== undefined && sock instanceof m.net.Socket) this.#writer = new WsFrameWriter(sock, this.#masked, m.mask);
    this.pauseSource(this.paused); // ws ignores pause() while connecting
    this.flush();
    if (this.#endWhenOpen) this.closeSource();
  }

  #wsClosed(code: number, reason: Uint8Array): void {
    if (this.#tls !== undefined) return; // the TLS socket reports the end
    let err = this.#error;
    if (err === undefined && !ORDERLY.has(code)) {
      const text = new TextDecoder().decode(reason);
      err = new BeepError(`WebSocket closed with code ${code}${text === '' ? '' : ` (${text})`}`, 'BEEP_ERR_WEBSOCKET');
    }
    this.gone(err);
  }

  /** Resolves once the WebSocket is open, or failed. */
  opened(): Promise<void> {
    return this.#opened;
  }

  protected override get ready(): boolean {
    return !this.#upgrading && (this.#tls !== undefined || this.#ws?.readyState === 1);
  }

  protected override take(n: number, a: Uint8Array, b?: Uint8Array, c?: Uint8Array, d?: Uint8Array): boolean {
    const w = this.#writer;
    if (w === undefined || this.#tls !== undefined) return false;
    w.put(n, a, b, c, d);
    return true;
  }

  protected override sendTaken(): void {
    const w = this.#writer;
    if (w === undefined || w.queued === 0) return;
    if (this.#ws?.readyState !== 1) {
      w.discard(); // closing: ws.send() would drop them too
      return;
    }
    const n = w.queued;
    this.#inflight += n;
    w.flush(() => {
      this.#inflight -= n;
      this.checkDrain();
    });
  }

  protected sendMessage(m: Uint8Array): void {
    this.#inflight += m.length;
    const done = (): void => {
      this.#inflight -= m.length;
      this.checkDrain();
    };
    if (this.#tls !== undefined) this.#tls.write(m, done);
    else this.#ws!.send(m, { binary: true, compress: false, fin: true }, done);
  }

  protected get buffered(): number {
    return this.#inflight + (this.#writer?.queued ?? 0);
  }

  /** Over TLS the frames of one flush are corked into as few records (and messages) as TLS makes. */
  protected override batch(begin: boolean): void {
    // Each BEEP frame stays its own WebSocket message; corking the socket under them makes the
    // messages of one flush one write (one syscall) instead of one each. `_socket` is the
    // net.Socket ws keeps (ws 8; absent in its WHATWG-style class: then nothing is corked).
    const target = this.#tls ?? (this.#ws as unknown as { _socket?: { cork(): void; uncork(): void } } | undefined)?._socket;
    if (target === undefined) return;
    if (begin) target.cork();
    else target.uncork();
  }

  protected watchDrain(): void {
    /* send callbacks call checkDrain() */
  }

  protected pauseSource(paused: boolean): void {
    if (this.#tls !== undefined) {
      if (paused) this.#tls.pause();
      else this.#tls.resume();
    } else if (this.#duplex === undefined && this.#ws !== undefined) {
      if (paused) this.#ws.pause();
      else this.#ws.resume();
    }
  }

  protected closeSource(): void {
    if (this.#tls !== undefined) {
      this.#tls.end();
      return;
    }
    const w = this.#ws;
    if (w === undefined || w.readyState === w.CONNECTING) {
      this.#endWhenOpen = true;
      return;
    }
    if (w.readyState === w.OPEN) w.close(1000);
  }

  protected destroySource(): void {
    this.#tls?.destroy();
    this.#ws?.terminate();
  }

  /**
   * Replaces the message stream with TLS over it, in place (see Transport.upgradeTls): the
   * queued frames (<proceed/>) go out as messages first, ws keeps them in order before the
   * TLS records; octets that arrived while input was held are the first TLS octets.
   */
  async upgradeTls(side: TlsClientUpgrade | (TlsServerUpgrade & { server: true }), secured: (info: TlsInfo) => void): Promise<TlsInfo> {
    this.hold(true);
    const w = this.#ws;
    if (w === undefined || this.#tls !== undefined || this.closed) throw new BeepError('no WebSocket to start TLS on', 'BEEP_ERR_TLS');
    this.flush();
    const { tls, stream } = await loadWsNode();
    this.#upgrading = true;
    w.removeAllListeners('message');
    const duplex = (this.#duplex = messageDuplex(stream, w, this.takeInput()));
    return new Promise<TlsInfo>((resolve, reject) => {
      let s: TLSSocket | undefined;
      const fail = (e: Error): void => {
        s?.destroy();
        w.terminate();
        this.gone(e);
        reject(e);
      };
      const early = (): void => fail(new Error('connection closed during the TLS handshake'));
      try {
        const [sock, done] = tlsOver(tls, duplex, side);
        s = sock;
        s.pause(); // held until the caller's reset (hold(false))
        s.once('error', fail);
        s.once('close', early);
        s.once(done, () => {
          const t = sock;
          t.off('error', fail);
          t.off('close', early);
          this.#tls = t;
          this.#upgrading = false;
          t.on('data', (chunk: Uint8Array) => this.received(chunk));
          t.on('error', (e: Error) => {
            this.#error ??= e;
          });
          t.on('close', () => this.gone(this.#error));
          const info = nodeTlsInfo(t);
          // The session is reset before the TLS socket's first 'data' can be delivered.
          try {
            secured(info);
          } finally {
            resolve(info);
          }
          this.flush();
        });
      } catch (e) {
        fail(e as Error);
      }
    });
  }
}

/**
 * A Duplex over a WebSocket: each write is one binary message, every message's payload is read
 * in order (TEXT ones too, as octets); `pending` goes first (octets that came while input was
 * held). Reading follows the Duplex's own backpressure through ws.pause()/resume().
 */
function messageDuplex(stream: typeof import('node:stream'), w: WsSocket, pending: Uint8Array[]): Duplex {
  const d = new stream.Duplex({
    read: () => {
      w.resume();
    },
    write: (chunk: Uint8Array, _enc, cb) => {
      w.send(chunk, { binary: true, compress: false }, (e) => cb(e ?? null));
    },
    final: (cb) => {
      if (w.readyState === w.OPEN) w.close(1000);
      cb();
    },
    destroy: (err, cb) => {
      if (w.readyState !== w.CLOSED) w.terminate();
      cb(err);
    },
  });
  for (const p of pending) d.push(p);
  w.on('message', (data: RawData) => {
    if (!d.push(octets(data))) w.pause();
  });
  w.once('close', () => {
    d.push(null);
  });
  return d;
}
