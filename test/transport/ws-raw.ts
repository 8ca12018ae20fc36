// Raw WebSocket peers on plain TCP sockets: the opening handshake written by hand (RFC 6455 §4),
// then frames crafted octet by octet (ws-frames.ts), written whole, cut, or merged at will; the
// frames received decoded here (their payloads unmasked), so every octet the other side sends
// can be checked. Used by websocket-reader.test.ts and the WebSocket soak.
import { connect, createServer, type Socket } from 'node:net';
import { createHash, randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { fulfilledWithin } from '../session/raw.js';

const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** A frame received. */
export interface Received {
  op: number;
  fin: boolean;
  masked: boolean;
  payload: Buffer;
}

/** One end of a WebSocket connection on a raw socket, after the opening handshake. */
export class RawWs {
  readonly socket: Socket;
  /** Frames received, in order. */
  readonly frames: Received[] = [];
  /** The octets received and not yet decoded (a frame not complete yet). */
  #rest = Buffer.alloc(0);
  /** Socket closed (either side). */
  isClosed = false;
  /** The peer's FIN was seen. */
  ended = false;
  readonly closed: Promise<void>;

  constructor(socket: Socket, head: Buffer) {
    this.socket = socket;
    socket.setNoDelay(true);
    socket.on('data', (d: Buffer) => this.#decode(d));
    socket.on('end', () => {
      this.ended = true;
    });
    socket.on('error', () => {
      /* seen as close */
    });
    this.closed = new Promise((res) =>
      socket.once('close', () => {
        this.isClosed = true;
        res();
      }),
    );
    if (head.length > 0) this.#decode(head);
  }

  #decode(d: Buffer): void {
    let b = this.#rest.length === 0 ? d : Buffer.concat([this.#rest, d]);
    for (;;) {
      if (b.length < 2) break;
      const masked = (b[1]! & 0x80) !== 0;
      let len = b[1]! & 0x7f;
      let o = 2;
      if (len === 126) {
        if (b.length < 4) break;
        len = b.readUInt16BE(2);
        o = 4;
      } else if (len === 127) {
        if (b.length < 10) break;
        len = Number(b.readBigUInt64BE(2));
        o = 10;
      }
      const key = masked ? b.subarray(o, o + 4) : undefined;
      if (masked) o += 4;
      if (b.length < o + len) break;
      const payload = Buffer.from(b.subarray(o, o + len));
      if (key !== undefined) for (let i = 0; i < len; i++) payload[i]! ^= key[i & 3]!;
      this.frames.push({ op: b[0]! & 0x0f, fin: (b[0]! & 0x80) !== 0, masked, payload });
      b = b.subarray(o + len);
    }
    this.#rest = Buffer.from(b);
  }

  /** The payloads of the data frames received, concatenated (Latin-1): the BEEP stream. */
  get text(): string {
    return this.frames
      .filter((f) => f.op <= 2)
      .map((f) => f.payload.toString('latin1'))
      .join('');
  }

  /** The first close frame received: its code (1005 when empty) and reason. */
  get close(): { code: number; reason: string } | undefined {
    const f = this.frames.find((x) => x.op === 8);
    if (f === undefined) return undefined;
    return f.payload.length < 2 ? { code: 1005, reason: '' } : { code: f.payload.readUInt16BE(0), reason: f.payload.toString('latin1', 2) };
  }

  /** Writes octets (resolves once handed to the kernel or the socket is gone). */
  write(b: Uint8Array): Promise<void> {
    if (this.socket.destroyed) return Promise.resolve();
    return new Promise((res) => this.socket.write(b, () => res()));
  }

  /** Writes `b` cut at `cuts`, pausing `ms` between pieces so they tend to arrive in separate reads. */
  async writeCut(b: Uint8Array, cuts: number[], ms = 2): Promise<void> {
    const points = [0, ...cuts.filter((c) => c > 0 && c < b.length).sort((x, y) => x - y), b.length];
    for (let i = 0; i + 1 < points.length; i++) {
      await this.write(b.subarray(points[i], points[i + 1]));
      if (i + 2 < points.length) await sleep(ms);
    }
  }

  /** Waits (bounded) until the data stream matches. */
  async waitFor(pattern: string | RegExp, ms = 3000): Promise<string> {
    const deadline = Date.now() + ms;
    for (;;) {
      const s = this.text;
      if (typeof pattern === 'string' ? s.includes(pattern) : pattern.test(s)) return s;
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${pattern}; got ${JSON.stringify(s.slice(-300))}`);
      await sleep(5);
    }
  }

  /** Waits (bounded) for a frame that `pred` accepts. */
  async waitForFrame(pred: (f: Received) => boolean, ms = 3000): Promise<Received> {
    const deadline = Date.now() + ms;
    for (;;) {
      const f = this.frames.find(pred);
      if (f !== undefined) return f;
      if (Date.now() > deadline) throw new Error(`timed out waiting for a frame; got opcodes ${this.frames.map((x) => x.op).join(',')}`);
      await sleep(5);
    }
  }

  /** True if the socket closed within `ms`. */
  closedWithin(ms: number): Promise<boolean> {
    return fulfilledWithin(this.closed, ms);
  }
}

/** Reads an HTTP head (up to CRLF CRLF) from a socket; the head and the octets after it. */
function readHead(socket: Socket, ms = 3000): Promise<{ head: string; rest: Buffer }> {
  return new Promise((resolve, reject) => {
    let buf = Buffer.alloc(0);
    const timer = setTimeout(() => done(new Error('no HTTP head')), ms);
    const onData = (d: Buffer): void => {
      buf = Buffer.concat([buf, d]);
      const at = buf.indexOf('\r\n\r\n');
      if (at >= 0) {
        socket.pause();
        done(undefined, { head: buf.toString('latin1', 0, at), rest: buf.subarray(at + 4) });
      }
    };
    const onClose = (): void => done(new Error('closed during the handshake'));
    const done = (e?: Error, v?: { head: string; rest: Buffer }): void => {
      clearTimeout(timer);
      socket.off('data', onData);
      socket.off('close', onClose);
      if (e) reject(e);
      else resolve(v!);
    };
    socket.on('data', onData);
    socket.once('close', onClose);
  });
}

/** A raw client: connects to 127.0.0.1:port, upgrades (checking the 101 and its accept key); we mask, it must not. */
export async function rawWsClient(port: number, path = '/'): Promise<RawWs> {
  const socket = await new Promise<Socket>((res, rej) => {
    const s = connect({ host: '127.0.0.1', port, allowHalfOpen: true }, () => res(s));
    s.once('error', rej);
  });
  const key = randomBytes(16).toString('base64');
  socket.write(
    `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
  );
  const { head, rest } = await readHead(socket);
  const accept = createHash('sha1')
    .update(key + GUID)
    .digest('base64');
  if (!/^HTTP\/1\.1 101 /.test(head) || !head.includes(`Sec-WebSocket-Accept: ${accept}`)) throw new Error(`bad upgrade answer: ${head}`);
  const ws = new RawWs(socket, rest);
  socket.resume();
  return ws;
}

/** A raw listener: answers any upgrade with 101 and hands each connection over (it must not mask, the client must). */
export async function rawWsListener(onConnection: (ws: RawWs) => void): Promise<{ port: number; close: () => Promise<void> }> {
  const sockets = new Set<Socket>();
  const server = createServer({ allowHalfOpen: true }, (socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    readHead(socket).then(
      ({ head, rest }) => {
        const key = /Sec-WebSocket-Key: *(\S+)/i.exec(head)?.[1] ?? '';
        const accept = createHash('sha1')
          .update(key + GUID)
          .digest('base64');
        socket.write(
          `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`,
        );
        const ws = new RawWs(socket, rest);
        socket.resume();
        onConnection(ws);
      },
      () => socket.destroy(),
    );
  });
  await new Promise<void>((res) => server.listen(0, '127.0.0.1', () => res()));
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((res) => {
        for (const s of sockets) s.destroy();
        server.close(() => res());
      }),
  };
}
