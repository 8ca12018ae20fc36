// BEEP over WebSocket on Node: the initiator's client, the listener's accepted connections, and
// the in-place TLS upgrade (the BEEP TLS profile inside a ws:// session: node:tls over a Duplex
// made of the WebSocket's payloads). The `ws` package does the opening handshake (ws-package.ts),
// then hands the socket over: ws-link.ts reads and writes the frames (WsSocketLink). Where `ws`
// keeps its socket (not a node:net one: Bun's built-in `ws`), or `frameReader: 'ws'` is asked,
// `ws` reads (WsPackageLink). `ws`, node:tls and node:stream are loaded by loadWsNode() only,
// through computed specifiers, so bundles for a browser or workerd never include them.
//
// ws is used, and not Node 22's WHATWG WebSocket, because TEXT messages must stay raw octets
// (LibVortex sends BEEP in TEXT frames whatever the octets) and reading must really stop.
import type { WebSocket as WsSocket } from 'ws';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { TLSSocket } from 'node:tls';
import { BeepError } from '../errors.js';
import { MessageTransport } from './message.js';
import { tlsOver, nodeTlsInfo } from './node.js';
import { jsMask, type MaskFn } from './ws-frame.js';
import { WsSocketLink, type WsLink } from './ws-link.js';
import { WsPackageLink, handshakeOnly, takenSocket } from './ws-package.js';
import { jsUnmask, type UnmaskFn } from './ws-read.js';
import { runtimeName } from './select.js';
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
  /** bufferutil's native in-place unmask, else a JS loop. */
  unmask: UnmaskFn;
  /** ws's WebSocket class, doing the opening handshake only on Node (ws-package.ts); ws's own on Bun. */
  Handshake: typeof WsSocket;
}

let mods: WsNodeModules | undefined;

/** Loads `ws` and the node: modules it works with (computed specifiers: see the file comment). */
export async function loadWsNode(): Promise<WsNodeModules> {
  if (mods === undefined) {
    const load = (m: string): Promise<unknown> => import(m);
    const [ws, tls, stream, http, https, net] = await Promise.all(
      ['ws', 'node:tls', 'node:stream', 'node:http', 'node:https', 'node:net'].map(load),
    );
    const w = ws as typeof import('ws');
    const n = net as typeof import('node:net');
    const native = await nativeMasking();
    // Bun replaces `ws` with its own: given a subclass of its WebSocket, its server answers the
    // upgrade with 500. There `ws` keeps the socket and reads (WsPackageLink).
    const Handshake = runtimeName() === 'node' ? handshakeOnly(w.WebSocket, n.Socket) : w.WebSocket;
    mods = { ws: w, tls, stream, http, https, net: n, ...native, Handshake } as WsNodeModules;
  }
  return mods;
}

/**
 * bufferutil's mask and unmask when it loads (short runs stay in JS: a native call costs more
 * than it saves, as in ws).
 */
async function nativeMasking(): Promise<{ mask: MaskFn; unmask: UnmaskFn }> {
  try {
    const load = (m: string): Promise<{ default?: { mask?: MaskFn; unmask?: UnmaskFn } }> => import(m);
    const b = (await load('bufferutil')).default;
    const mask = b?.mask;
    const unmask = b?.unmask;
    if (typeof mask !== 'function' || typeof unmask !== 'function') return { mask: jsMask, unmask: jsUnmask };
    return {
      mask: (source, key, output, offset, length) => {
        if (length < 48) jsMask(source, key, output, offset, length);
        else mask(source, key, output, offset, length);
      },
      unmask: (buf, key) => {
        if (buf.length < 32) jsUnmask(buf, key);
        else unmask(buf, key);
      },
    };
  } catch {
    return { mask: jsMask, unmask: jsUnmask };
  }
}

/** The loaded modules (only after loadWsNode resolved). */
export function wsNodeModules(): WsNodeModules | undefined {
  return mods;
}

function addressOf(host: string | undefined, port: number | undefined): TransportAddress | undefined {
  return host === undefined ? undefined : { host, port: port ?? 0 };
}

/** Options of a WsNodeTransport. */
export interface WsNodeTransportOptions {
  /** The TCP socket of an accepted WebSocket (the listener's side; its addresses). */
  raw?: Socket;
  /** What the initiator asked for. */
  remote?: TransportAddress;
  /** Largest message accepted when beepwire reads the frames (default 16 MiB; `ws` has its own option). */
  maxPayload?: number;
}

/**
 * A Transport over a WebSocket whose opening handshake `ws` did: a client being made (a promise
 * of one) or an accepted one. Once open, frames go through a WsLink: ours on the socket `ws`
 * handed over (WsSocketLink), else `ws` itself (WsPackageLink). Input stops with the socket's
 * pause() and pieces already read wait in the base class's queue. After an in-place TLS upgrade
 * the byte stream is a TLSSocket over the WebSocket's payloads.
 */
export class WsNodeTransport extends MessageTransport {
  /** Adapter name. */
  readonly kind = 'websocket';
  #ws: WsSocket | undefined; // until open (and the fallback link's)
  #link: WsLink | undefined;
  #tls: TLSSocket | undefined;
  #duplex: Duplex | undefined;
  #opened: Promise<void>;
  #inflight = 0;
  #upgrading = false;
  #endWhenOpen = false;
  #error: Error | undefined; // a failure before the WebSocket opened
  readonly #server: boolean;
  readonly #maxPayload: number;

  /**
   * Wraps a WebSocket (or a promise of one: a client being made). `raw` is the TCP socket of an
   * accepted one (for its addresses); `remote` is what the initiator asked for.
   */
  constructor(ws: WsSocket | Promise<WsSocket>, opts: WsNodeTransportOptions = {}) {
    super();
    this.remote = opts.remote;
    // An accepted WebSocket (its raw socket given) is the listener's side, whose frames go
    // unmasked; the initiator's are masked (RFC 6455 §5.1).
    this.#server = opts.raw !== undefined;
    this.#maxPayload = opts.maxPayload ?? 16 << 20;
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

  /** Who parses the incoming frames once open: 'beepwire' (ws-link.ts) or 'ws' (the fallback). */
  get frameReader(): 'beepwire' | 'ws' | undefined {
    return this.#link?.reader;
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
    w.on('error', (e: Error) => {
      this.#error ??= e;
    });
    if (takenSocket(w) !== undefined || w.readyState === w.OPEN) {
      this.#start(w);
      return Promise.resolve();
    }
    w.on('upgrade', (res) => this.#addresses(res.socket));
    return new Promise<void>((resolve) => {
      w.once('open', () => {
        if (this.closed) w.terminate();
        else this.#start(w);
        resolve();
      });
      w.once('close', (code: number) => {
        // Before it opened (after, the link reports the end).
        if (this.#link === undefined) this.gone(this.#error ?? new BeepError(`WebSocket closed with code ${code}`, 'BEEP_ERR_WEBSOCKET'));
        resolve();
      });
    });
  }

  #start(w: WsSocket): void {
    const m = mods!; // loaded: the WebSocket came from it
    const taken = takenSocket(w);
    let link: WsLink;
    if (taken !== undefined) {
      this.#ws = undefined; // ws is done with this connection
      link = new WsSocketLink(taken.socket, taken.head, {
        server: this.#server,
        maxPayload: this.#maxPayload,
        mask: m.mask,
        unmask: m.unmask,
      });
      this.#addresses(taken.socket);
    } else link = new WsPackageLink(w, !this.#server, m.net.Socket, m.mask);
    this.#link = link;
    link.onData = (chunk, more) => this.received(chunk, more);
    link.onGone = (err) => this.#linkGone(err);
    link.start();
    this.pauseSource(this.paused); // ws ignores pause() while connecting
    this.flush();
    if (this.#endWhenOpen) this.closeSource();
  }

  #linkGone(err: Error | undefined): void {
    const d = this.#duplex;
    if (d !== undefined) {
      if (!d.destroyed) d.push(null); // the TLS socket over it reports the end
      return;
    }
    this.gone(err);
  }

  /** Resolves once the WebSocket is open, or failed. */
  opened(): Promise<void> {
    return this.#opened;
  }

  protected override get ready(): boolean {
    return !this.#upgrading && (this.#tls !== undefined || this.#link?.open === true);
  }

  protected override take(n: number, a: Uint8Array, b?: Uint8Array, c?: Uint8Array, d?: Uint8Array): boolean {
    const w = this.#link?.writer;
    if (w === undefined || this.#tls !== undefined) return false;
    w.put(n, a, b, c, d);
    return true;
  }

  protected override sendTaken(): void {
    const link = this.#link;
    const w = link?.writer;
    if (w === undefined || w.queued === 0) return;
    if (!link!.open) {
      w.discard(); // closing: nothing more may be sent
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
    else this.#link!.send(m, done);
  }

  protected get buffered(): number {
    return this.#inflight + (this.#link?.writer?.queued ?? 0);
  }

  /** Over TLS the frames of one flush are corked into as few records (and messages) as TLS makes. */
  protected override batch(begin: boolean): void {
    // Each BEEP frame stays its own WebSocket message; corking the socket under them makes the
    // messages of one flush one write (one syscall) instead of one each.
    const target = this.#tls ?? this.#link?.socket;
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
    } else if (this.#duplex === undefined && this.#link !== undefined) {
      if (paused) this.#link.pause();
      else this.#link.resume();
    }
  }

  protected closeSource(): void {
    if (this.#tls !== undefined) {
      this.#tls.end();
      return;
    }
    if (this.#link === undefined) this.#endWhenOpen = true;
    else this.#link.close();
  }

  protected destroySource(): void {
    this.#tls?.destroy();
    if (this.#link !== undefined) this.#link.terminate();
    else this.#ws?.terminate();
  }

  /**
   * Replaces the message stream with TLS over it, in place (see Transport.upgradeTls): the
   * queued frames (<proceed/>) go out as messages first, kept in order before the TLS records;
   * octets that arrived while input was held are the first TLS octets.
   */
  async upgradeTls(side: TlsClientUpgrade | (TlsServerUpgrade & { server: true }), secured: (info: TlsInfo) => void): Promise<TlsInfo> {
    this.hold(true);
    const link = this.#link;
    if (link === undefined || this.#tls !== undefined || this.closed) throw new BeepError('no WebSocket to start TLS on', 'BEEP_ERR_TLS');
    this.flush();
    const { tls, stream } = await loadWsNode();
    this.#upgrading = true;
    const duplex = (this.#duplex = messageDuplex(stream, link, this.takeInput()));
    return new Promise<TlsInfo>((resolve, reject) => {
      let s: TLSSocket | undefined;
      const fail = (e: Error): void => {
        s?.destroy();
        link.terminate();
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
 * A Duplex over a WebSocket link: each write is one BINARY message, every data payload is read
 * in order (TEXT ones too, as octets); `pending` goes first (octets that came while input was
 * held). Reading follows the Duplex's own backpressure through the link's pause()/resume(); the
 * link's end ends it (WsNodeTransport pushes null).
 */
function messageDuplex(stream: typeof import('node:stream'), link: WsLink, pending: Uint8Array[]): Duplex {
  const d = new stream.Duplex({
    read: () => {
      link.resume();
    },
    write: (chunk: Uint8Array, _enc, cb) => {
      link.send(chunk, (e) => cb(e ?? null));
    },
    final: (cb) => {
      link.close();
      cb();
    },
    destroy: (err, cb) => {
      link.terminate();
      cb(err);
    },
  });
  for (const p of pending) d.push(p);
  link.onData = (data) => {
    if (!d.push(data)) link.pause();
  };
  return d;
}
