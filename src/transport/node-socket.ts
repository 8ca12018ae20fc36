// node:net (and node:tls) adapter: the only place that touches Node sockets. Frames written
// in one synchronous run are corked into a single writev.
import type { Socket } from 'node:net';
import type { Session, SessionIO } from '../session/session.js';

/** SessionIO over a Node stream socket. */
export class NodeSocketIO implements SessionIO {
  /** The socket (replaced in place by a TLS upgrade). */
  socket: Socket;
  #corked = false;
  #uncork = (): void => { this.#corked = false; this.socket.uncork(); };

  /** Wraps a connected socket. */
  constructor(socket: Socket) {
    this.socket = socket;
  }

  /** Writes frame parts, corked until the end of the current microtask run. */
  write(parts: Uint8Array[]): boolean {
    const s = this.socket;
    if (s.destroyed) return true;
    if (!this.#corked) {
      this.#corked = true;
      s.cork();
      queueMicrotask(this.#uncork);
    }
    let ok = true;
    for (const p of parts) ok = s.write(p);
    return ok;
  }

  /** Half-closes after pending writes. */
  end(): void {
    if (!this.socket.destroyed) this.socket.end();
  }
}

/** Feeds a socket's events into a session. Returns a function that detaches them. */
export function attachSocket(socket: Socket, session: Session): () => void {
  socket.setNoDelay(true);
  const onData = (chunk: Buffer): void => session.receive(chunk);
  const onDrain = (): void => session.drain();
  const onClose = (): void => session.transportClosed();
  const onError = (e: Error): void => session.transportClosed(e);
  socket.on('data', onData);
  socket.on('drain', onDrain);
  socket.on('close', onClose);
  socket.on('error', onError);
  return () => {
    socket.off('data', onData);
    socket.off('drain', onDrain);
    socket.off('close', onClose);
    socket.off('error', onError);
  };
}
