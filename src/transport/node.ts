// node:net / node:tls adapter (Node, Bun): the only code that touches Node sockets. Frames
// written in one synchronous run reach the socket together at the end of the run: small pieces
// coalesced in an arena, large payloads by reference under cork. node:net and node:tls are
// loaded by loadNodeTransport() only, so importing beepwire never pulls them into a bundle.
import type { Socket, Server } from 'node:net';
import type { TLSSocket } from 'node:tls';
import type { Duplex } from 'node:stream';
import type { Pieces, Body } from '../session/pieces.js';
import type {
  Transport,
  TransportAddress,
  TransportFactory,
  TransportServer,
  TransportSink,
  TlsClientUpgrade,
  TlsServerUpgrade,
  TlsInfo,
  PeerCertificateInfo,
} from './transport.js';

/** Pieces at least this large are written by reference; smaller ones are copied together. */
const COPY_BELOW = 16384;

/** Size of the arena small parts are copied into. */
const ARENA = 65536;

/** An open piece up to this size moves to the next arena instead of being split across two (see #room). */
const MOVE_BELOW = 16384;

/** node:net and node:tls, once loaded. */
interface NodeModules {
  net: typeof import('node:net');
  tls: typeof import('node:tls');
}
let mods: NodeModules | undefined;

// One arena per process, shared by every connection: a session writes a few hundred octets per
// flush, so a 64 KiB arena per connection is mostly idle memory. Each connection cuts its own
// pieces out of it; bytes handed to a socket are never rewritten (filling moves forward and a
// full arena is replaced), exactly as with a private arena.
let shared: Uint8Array | undefined;
let sharedUsed = 0;

/** Settled once: flushes are scheduled as jobs on it. */
const SETTLED = Promise.resolve();

/** Octets left in the shared arena before the next one starts (tests). */
export function arenaSpace(): number {
  return shared === undefined ? 0 : ARENA - sharedUsed;
}

/** A Transport over a Node stream socket (replaced in place by a TLS upgrade). */
export class NodeTransport implements Transport {
  /** Adapter name. */
  readonly kind = 'node';
  /** node:tls wraps either side. */
  readonly canAcceptTls = true;
  /** The socket (the TLS socket after an upgrade). */
  socket: Socket;
  #sink: TransportSink | undefined;
  // Small parts are copied at once into the shared arena (frame headers may be views that
  // change); large ones are queued by reference.
  #piece: Uint8Array | undefined; // arena holding our open piece
  #start = 0; // open piece: #piece[#start, #end)
  #end = 0;
  #queue: Uint8Array[] = [];
  #bytes = 0;
  #scheduled = false;
  #delivering = false; // inside received(): writes wait for its flush
  #pending = false; // something was written while delivering
  #full = false; // the socket asked us to wait for 'drain'
  #overflow = false; // write() said "wait" because of our own backlog, not the socket's
  #appPaused = false; // the application blocked reading (Connection.block)
  #budgetPaused = false; // the session's outbound budget is full
  #held = false; // a tuning reset is coming (hold)
  #closed = false;
  #opened: Promise<void> | undefined;

  /** Wraps a socket (connecting or connected). */
  constructor(socket: Socket) {
    this.socket = socket;
    socket.setNoDelay(true);
    (socket as Bound)[kBound] = this;
    listen(socket);
  }

  /** The peer's address. */
  get remote(): TransportAddress | undefined {
    const s = this.socket;
    return s.remoteAddress === undefined ? undefined : { host: s.remoteAddress, port: s.remotePort ?? 0 };
  }

  /** Our address. */
  get local(): TransportAddress | undefined {
    const s = this.socket;
    return s.localAddress === undefined ? undefined : { host: s.localAddress, port: s.localPort ?? 0 };
  }

  /** True once the socket closed. */
  get closed(): boolean {
    return this.#closed || this.socket.destroyed;
  }

  /** Delivers events to `sink`. */
  attach(sink: TransportSink | undefined): void {
    this.#sink = sink;
  }

  /** Resolves once connected. */
  opened(): Promise<void> {
    const s = this.socket;
    if (!s.connecting) return Promise.resolve();
    return (this.#opened ??= new Promise((res) => {
      s.once('connect', () => res());
      s.once('close', () => res());
    }));
  }

  #cut(): void {
    if (this.#piece !== undefined && this.#end > this.#start) this.#queue.push(this.#piece.subarray(this.#start, this.#end));
    this.#piece = undefined;
  }

  /**
   * Room for `n` more octets of our open piece in the shared arena: a piece that would not
   * fit starts a new arena and, when small, moves there, so that one flush stays one write
   * (a piece split across arenas costs a writev, several times one small write).
   */
  #room(n: number): Uint8Array {
    let a = shared;
    if (a !== undefined && sharedUsed + n <= ARENA) {
      // Our piece grows while nobody else wrote into the arena since; otherwise a new one starts.
      if (this.#piece !== a || this.#end !== sharedUsed) {
        this.#cut();
        this.#piece = a;
        this.#start = this.#end = sharedUsed;
      }
      return a;
    }
    const old = a;
    // A Buffer where there is one (Node, Bun): not zero-filled, and its pieces are Buffers,
    // which socket.write() takes as they are (a plain Uint8Array is wrapped per write).
    a = shared = typeof Buffer === 'function' ? Buffer.allocUnsafeSlow(ARENA) : new Uint8Array(ARENA);
    sharedUsed = 0;
    const open = this.#piece === old && old !== undefined ? this.#end - this.#start : -1;
    if (open > 0 && open <= MOVE_BELOW && open + n <= ARENA) {
      a.set(old!.subarray(this.#start, this.#end), 0); // not handed to the socket yet: still ours to move
      sharedUsed = open;
    } else this.#cut();
    this.#piece = a;
    this.#start = 0;
    this.#end = sharedUsed;
    return a;
  }

  #put(p: Uint8Array): void {
    const n = p.length;
    this.#bytes += n;
    if (n >= COPY_BELOW) {
      this.#cut();
      this.#queue.push(p);
      return;
    }
    const a = this.#room(n);
    a.set(p, sharedUsed);
    this.#end = sharedUsed += n;
  }

  /** Queues frame parts; they reach the socket at the end of the current microtask run. */
  write(a: Uint8Array, b?: Uint8Array, c?: Uint8Array, d?: Uint8Array): boolean {
    this.#put(a);
    if (b !== undefined) this.#put(b);
    if (c !== undefined) this.#put(c);
    if (d !== undefined) this.#put(d);
    return this.#written();
  }

  /**
   * Queues one frame (see SessionIO.writeFrame): a small frame is copied into the arena in
   * one go, its short parts (header block, trailer) byte by byte rather than by set().
   */
  writeFrame(header: Uint8Array, head: Uint8Array | undefined, body: Body, trailer: Uint8Array): boolean {
    const nh = head === undefined ? 0 : head.length;
    const nb = body.length;
    const n = header.length + nh + nb + trailer.length;
    // ArrayBuffer.isView, not instanceof Pieces: the compiler inlines it (instanceof of an
    // imported class went through a generic load in the profile).
    const pieces = !ArrayBuffer.isView(body);
    if (nb >= COPY_BELOW || nh >= COPY_BELOW || pieces) {
      this.#put(header);
      if (head !== undefined) this.#put(head);
      if (pieces) for (const p of (body as Pieces).parts) this.#put(p);
      else this.#put(body as Uint8Array);
      this.#put(trailer);
      return this.#written();
    }
    this.#bytes += n;
    let a = shared;
    // The usual case inline: our piece is open at the arena's end and the frame fits.
    if (a === undefined || sharedUsed + n > ARENA || this.#piece !== a || this.#end !== sharedUsed) a = this.#room(n);
    let o = sharedUsed;
    a.set(header, o);
    o += header.length;
    if (nh > 16) a.set(head!, o);
    else for (let i = 0; i < nh; i++) a[o + i] = head![i]!;
    o += nh;
    if (nb > 16) a.set(body, o);
    else for (let i = 0; i < nb; i++) a[o + i] = body[i]!;
    o += nb;
    for (let i = 0; i < trailer.length; i++) a[o + i] = trailer[i]!;
    this.#end = sharedUsed = o + trailer.length;
    if ((this.#scheduled || this.#pending) && !this.#full && this.#bytes < 1 << 20) return true;
    return this.#written();
  }

  /** After a write: schedules the flush, and says whether the session may go on writing. */
  #written(): boolean {
    if (this.#delivering)
      this.#pending = true; // received() flushes when the session returns
    else if (!this.#scheduled) {
      this.#scheduled = true;
      // A job on a settled promise: Node's queueMicrotask makes an AsyncResource and a bound
      // function per call. One task per connection, made on its first write.
      SETTLED.then((this.#flushTask ??= () => this.#flushJob()));
    }
    // Back-pressure: the socket's verdict at the last flush, or a large backlog now.
    if (this.#full) return false;
    if (this.#bytes >= 1 << 20) {
      this.#overflow = true;
      return false;
    }
    return true;
  }

  #flushTask: (() => void) | undefined;

  /** flush() as a promise job: a throw must surface as an uncaught exception, as from queueMicrotask, not a rejection. */
  #flushJob(): void {
    try {
      this.flush();
    } catch (e) {
      queueMicrotask(() => {
        throw e;
      });
    }
  }

  /** Hands everything queued to the socket. */
  flush(): void {
    this.#scheduled = false;
    const s = this.socket;
    let ok = true;
    if (this.#queue.length === 0) {
      // Only the open piece (small frames, the usual case): written without a queue, which
      // would be a new array per flush.
      const a = this.#piece;
      this.#piece = undefined;
      if (a === undefined || this.#end === this.#start) return;
      this.#bytes = 0;
      if (s.destroyed) return;
      ok = s.write(a.subarray(this.#start, this.#end));
      this.#afterWrite(ok);
      return;
    }
    this.#cut();
    const q = this.#queue;
    this.#queue = [];
    this.#bytes = 0;
    if (s.destroyed) return;
    if (q.length === 1) ok = s.write(q[0]!);
    else {
      s.cork();
      for (const b of q) ok = s.write(b) && ok;
      s.uncork();
    }
    this.#afterWrite(ok);
  }

  /** After a flush's writes: whether to wait for 'drain', and the resume after our own backlog. */
  #afterWrite(ok: boolean): void {
    const s = this.socket;
    // Under cork, write() says false once the corked pieces reach the stream's highWaterMark
    // (16 KiB), also when uncork() then hands all of them to the kernel at once: nothing waits
    // in the stream, and waiting for 'drain' (a process.nextTick later) only held back the next
    // frames, a stop per large message. Full means octets still wait in the stream.
    this.#full = !ok && s.writableLength > 0;
    if (this.#overflow) {
      this.#overflow = false;
      // The session stopped at our backlog limit and the socket took it all: resume it
      // ourselves, after a turn of the event loop (a long queue is written 1 MiB per turn,
      // never all in one run).
      if (!this.#full)
        setImmediate(() => {
          if (!this.#full) this.#sink?.drain();
        });
    }
  }

  /** The session's outbound budget is full (true) or drained (false): stop or resume reading. */
  pauseInput(paused: boolean): void {
    this.#budgetPaused = paused;
    this.#applyPause();
  }

  /** The application blocks (true) or unblocks reading (Connection.block). */
  block(on: boolean): void {
    this.#appPaused = on;
    this.#applyPause();
  }

  /** Holds input until a tuning reset (see Transport.hold). */
  hold(on: boolean): void {
    this.#held = on;
    this.#applyPause();
  }

  /** True while the application blocked reading. */
  get blocked(): boolean {
    return this.#appPaused;
  }

  /** True while input is held for a tuning reset. */
  get held(): boolean {
    return this.#held;
  }

  /** Starts reading a socket that was explicitly paused, unless this transport is paused. */
  resumeIfFree(): void {
    this.#applyPause();
  }

  #applyPause(): void {
    if (this.#appPaused || this.#budgetPaused || this.#held) this.socket.pause();
    else this.socket.resume();
  }

  /** True when the socket wants us to wait for 'drain'. */
  get full(): boolean {
    return this.#full;
  }

  /** Clears the wait once the socket drained. */
  drained(): void {
    this.#full = false;
    this.#sink?.drain();
  }

  /**
   * A chunk arrived ('data'). What the session writes while it handles the chunk goes to the
   * socket as soon as it returns, in one write: no flush job is scheduled for it (a round trip
   * pays for one promise job fewer on each side).
   */
  received(chunk: Uint8Array): void {
    const sink = this.#sink;
    if (sink === undefined) return;
    if (this.#delivering) {
      sink.data(chunk); // re-entered (a handler made the socket emit): the outer call flushes
      return;
    }
    this.#delivering = true;
    try {
      sink.data(chunk);
    } finally {
      this.#delivering = false;
      if (this.#pending) {
        this.#pending = false;
        this.flush();
      }
    }
  }

  /** The socket closed. */
  gone(err?: Error): void {
    if (this.#closed) return;
    this.#closed = true;
    const sink = this.#sink;
    this.#sink = undefined;
    sink?.closed(err);
  }

  /** Destroys the socket at once (pending frames dropped: the session was aborted). */
  abort(): void {
    this.#queue = [];
    this.socket.destroy();
  }

  /**
   * Resets the connection (RST where the runtime can): a peer that kept TCP open after the
   * release learns at once that we are gone, even if it reads nothing.
   */
  reset(): void {
    this.#queue = [];
    const s = this.socket as Socket & { resetAndDestroy?: () => void };
    if (typeof s.resetAndDestroy === 'function' && !s.destroyed) s.resetAndDestroy();
    else s.destroy();
  }

  /** Half-closes after pending writes. */
  end(): void {
    this.flush();
    if (!this.socket.destroyed) this.socket.end();
  }

  /** Wraps the socket in TLS in place (see Transport.upgradeTls). */
  upgradeTls(side: TlsClientUpgrade | (TlsServerUpgrade & { server: true }), secured: (info: TlsInfo) => void): Promise<TlsInfo> {
    // Input stops now, synchronously: the peer's first handshake octets must not reach the session.
    this.#held = true;
    this.socket.pause();
    return loadNodeTransport().then(() => this.#upgrade(side, secured));
  }

  #upgrade(side: TlsClientUpgrade | (TlsServerUpgrade & { server: true }), secured: (info: TlsInfo) => void): Promise<TlsInfo> {
    const { tls } = mods!;
    this.flush();
    const raw = this.socket;
    unlisten(raw);
    // Nobody listens to the raw socket any more: without this a reset during the handshake
    // would be an uncaught 'error'. The TLS socket reports the failure.
    raw.on('error', ignore);
    return new Promise<TlsInfo>((resolve, reject) => {
      let s: TLSSocket;
      const fail = (e: Error): void => {
        s?.destroy();
        raw.destroy();
        this.gone(e);
        reject(e);
      };
      const ready = (): void => {
        this.socket = s;
        (s as Bound)[kBound] = this;
        const info = nodeTlsInfo(s);
        // The session is reset before the TLS socket's first 'data' can be delivered.
        s.off('error', fail);
        s.off('close', early);
        listen(s);
        try {
          secured(info);
        } finally {
          resolve(info);
        }
      };
      const early = (): void => fail(new Error('connection closed during the TLS handshake'));
      const wrap = (): void => {
        if (raw.destroyed) return fail(new Error('connection closed before the TLS handshake'));
        try {
          let done: TlsReady;
          [s, done] = tlsOver(tls, raw, side);
          s.once(done, ready);
        } catch (e) {
          return fail(e as Error);
        }
        s.pause(); // held until the caller's reset (hold(false))
        s.once('error', fail);
        s.once('close', early);
      };
      // The last plain write (<proceed/>) must be on the wire before TLS takes the socket over.
      if (raw.writableLength === 0) wrap();
      else raw.once('drain', wrap);
    });
  }
}

/** The event that ends a TLS handshake: 'secure' on the listener side, 'secureConnect' on the initiator's. */
export type TlsReady = 'secure' | 'secureConnect';

/**
 * A TLS socket over `stream` (a TCP socket, or any Duplex: a WebSocket's byte stream), as the
 * listener or the initiator, and the event that says its handshake is done.
 */
export function tlsOver(
  tls: typeof import('node:tls'),
  stream: Duplex,
  side: TlsClientUpgrade | (TlsServerUpgrade & { server: true }),
): [TLSSocket, TlsReady] {
  if ('server' in side) {
    const ctx = tls.createSecureContext({ cert: side.cert, key: side.key, ca: side.ca });
    const requestCert = side.ca !== undefined;
    const s = new tls.TLSSocket(stream, { isServer: true, secureContext: ctx, requestCert, rejectUnauthorized: false });
    if (requestCert) s.once('secure', () => clientVerdict(s)); // before the caller's 'secure' listener
    return [s, 'secure'];
  }
  return [
    tls.connect({
      socket: stream,
      servername: side.serverName,
      host: side.host,
      ca: side.ca,
      cert: side.cert,
      key: side.key,
      rejectUnauthorized: side.rejectUnauthorized,
    }),
    'secureConnect',
  ];
}

/**
 * Sets `authorized` / `authorizationError` on a listener-side TLS socket that asked for a client
 * certificate, as tls.Server does for its sockets (node's onServerSocketSecure, which a
 * TLSSocket made without a tls.Server never runs): from the handle's verifyError(). A runtime
 * whose handle lacks it keeps its own verdict.
 */
function clientVerdict(s: TLSSocket): void {
  const h = (s as unknown as { _handle?: { verifyError?: () => (Error & { code?: string }) | null } })._handle;
  if (typeof h?.verifyError !== 'function') return;
  const e = h.verifyError();
  if (e === null || e === undefined) s.authorized = true;
  else (s as unknown as { authorizationError: string }).authorizationError = e.code ?? e.message;
}

/**
 * What node:tls tells about an established TLS socket. `authorized` is node's verdict: on the
 * initiator side chain and host name (false when rejectUnauthorized was false and the check
 * failed), on the listener side the client certificate against the CA (false when none was
 * asked for or sent).
 */
export function nodeTlsInfo(s: TLSSocket): TlsInfo {
  const c = s.getPeerCertificate();
  const protocol = s.getProtocol() ?? undefined;
  const none = c === null || c === undefined || Object.keys(c).length === 0;
  const verified = s.authorized === true;
  const why = s.authorizationError as Error | string | null | undefined; // a string code at run time, typed as an Error
  // Without a certificate node says UNABLE_TO_GET_ISSUER_CERT, or nothing when none was asked for.
  const verifyError = verified
    ? undefined
    : none
      ? 'the peer sent no certificate'
      : why !== null && why !== undefined
        ? typeof why === 'string'
          ? why
          : why.message
        : 'not verified';
  const check = verifyError === undefined ? { verified } : { verified, verifyError };
  if (none) return { protocol, ...check };
  const peer: PeerCertificateInfo = {
    subject: { ...c.subject } as Record<string, string | string[]>,
    issuer: { ...c.issuer } as Record<string, string | string[]>,
    raw: c.raw === undefined ? undefined : new Uint8Array(c.raw),
    fingerprint256: c.fingerprint256,
    validFrom: c.valid_from,
    validTo: c.valid_to,
  };
  return { protocol, peerCertificate: peer, ...check };
}

function ignore(): void {
  /* see upgradeTls */
}

// Listeners shared by every socket (no closures per connection): the socket carries its
// transport under a symbol.
const kBound = Symbol('beepwire.transport');
type Bound = Socket & { [kBound]?: NodeTransport };
function onData(this: Bound, chunk: Uint8Array): void {
  this[kBound]?.received(chunk);
}
function onDrain(this: Bound): void {
  this[kBound]?.drained();
}
function onClose(this: Bound): void {
  this[kBound]?.gone();
}
function onError(this: Bound, e: Error): void {
  this[kBound]?.gone(e);
}

function listen(socket: Socket): void {
  socket.on('data', onData);
  socket.on('drain', onDrain);
  socket.on('close', onClose);
  socket.on('error', onError);
}

function unlisten(socket: Socket): void {
  socket.off('data', onData);
  socket.off('drain', onDrain);
  socket.off('close', onClose);
  socket.off('error', onError);
}

/** Wraps an accepted or connecting Node socket (tests and applications with their own sockets). */
export function nodeTransport(socket: Socket): NodeTransport {
  return new NodeTransport(socket);
}

/**
 * Wraps an accepted socket that was paused after its first octets were read (port sharing
 * looked at them): `head` goes back in front of the stream, and reading resumes unless the
 * transport's new owner paused it.
 */
export function adoptSocket(socket: Socket, head: Uint8Array | undefined, accepted: (t: Transport) => void): void {
  if (head !== undefined && head.length > 0) socket.unshift(head);
  const t = new NodeTransport(socket);
  accepted(t);
  t.resumeIfFree();
}

/** Bun's node:net is its own implementation: its sockets keep the 'data' path. */
const BUN = typeof (globalThis as { Bun?: unknown }).Bun !== 'undefined';

/** Size of a client socket's reads (as Node's own: 64 KiB). */
const READ_SIZE = 65536;

/** The read buffer every client socket shares (see clientReads). */
let readShared: Buffer | undefined;

/**
 * node:net `onread` options for a client socket. Node's own reads allocate a buffer per read and
 * go through the Readable stream (a push, a process.nextTick, a 'data' event) before the session
 * sees them; these read into one buffer shared by every client socket (a read and its callback
 * run in one go on the event loop, so no two reads overlap in it, and an idle socket holds no
 * buffer of its own) and deliver a copy of exactly what was read. The chunks delivered are never
 * reused (TransportSink.data): while reads come full (a stream of large messages) the socket gets
 * a buffer of its own per read, handed over as it is, without a copy (one that goes idle right
 * after a full read keeps that buffer until its next read). Accepted sockets cannot
 * take `onread` (node:net has no such option for a server), nor can TLS sockets: after a TLS
 * upgrade the TLS socket reads as before.
 */
function clientReads(deliver: (chunk: Uint8Array) => void): import('node:net').OnReadOpts {
  let own: Buffer | undefined; // the next read's buffer while reads come full
  let full = false;
  return {
    buffer: () => {
      if (full) return (own = Buffer.allocUnsafeSlow(READ_SIZE));
      own = undefined;
      return (readShared ??= Buffer.allocUnsafeSlow(READ_SIZE));
    },
    callback: (n, buf) => {
      full = n === buf.length;
      // The socket's own buffer goes as it is unless the read used little of it: a small view
      // would keep the whole 64 KiB alive for as long as a message made of it.
      if (buf === own && n * 4 >= buf.length) {
        own = undefined;
        deliver(n === buf.length ? buf : buf.subarray(0, n));
        return true;
      }
      const chunk = Buffer.allocUnsafeSlow(n);
      chunk.set(n === buf.length ? buf : buf.subarray(0, n));
      deliver(chunk);
      return true; // false would pause the socket
    },
  };
}

/** The Node adapter as a factory (node:net loaded beforehand by loadNodeTransport). */
const factory: TransportFactory = {
  kind: 'node',
  serverTls: true,
  connect(host: string, port: number): Transport {
    if (BUN) return new NodeTransport(mods!.net.connect({ host, port }));
    let t: NodeTransport | undefined;
    const socket = mods!.net.connect({ host, port, onread: clientReads((chunk) => t?.received(chunk)) });
    t = new NodeTransport(socket);
    return t;
  },
  listen(host: string, port: number, accepted: (t: Transport) => void, onError: (e: Error) => void): Promise<TransportServer> {
    const server: Server = mods!.net.createServer({ noDelay: true }, (socket) => accepted(new NodeTransport(socket)));
    return serve(server, host, port, onError);
  },
};

/**
 * Starts `server` (node:net, node:http: any net.Server) on host:port; `onClose` runs when the
 * TransportServer is closed, before the server's own close completes.
 */
export function serve(
  server: Server,
  host: string,
  port: number,
  onError: (e: Error) => void,
  onClose?: () => void,
): Promise<TransportServer> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      // While listening, accept errors (EMFILE, ENFILE, ECONNABORTED) are counted, never
      // thrown: the server keeps listening and accepts again once descriptors free up.
      server.on('error', onError);
      const addr = server.address();
      resolve({
        port: typeof addr === 'object' && addr !== null ? addr.port : port,
        close: () =>
          new Promise<void>((res) => {
            server.close(() => res());
            onClose?.();
          }),
      });
    });
  });
}

/** Loads node:net and node:tls (through a specifier bundlers leave alone) and returns the adapter. */
export async function loadNodeTransport(): Promise<TransportFactory> {
  if (mods === undefined) {
    // A computed specifier: a bundle for a browser or workerd never tries to include Node's modules.
    const load = (m: string): Promise<unknown> => import(m);
    const [net, tls] = (await Promise.all([load('node:net'), load('node:tls')])) as [NodeModules['net'], NodeModules['tls']];
    mods = { net, tls };
  }
  return factory;
}
