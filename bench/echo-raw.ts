// Raw baselines for bench/echo.bench.ts: what one Node process can do over 127.0.0.1 without
// BEEP. They are meant as ceilings, so they do the least a protocol server could do:
// - length-prefixed echo ([u32 length][payload]): the server parses every message of a read
//   (length prefixes split across reads included), keeps the bytes of an unfinished message as
//   views of the chunks they arrived in (never copied), and writes every reply completed by a
//   read in one write (one writev under cork when they span chunks);
// - byte echo: the server writes back what it reads, parsing nothing (the chunks read in one
//   turn of the event loop in one write);
// - node:tls: the length-prefixed server over TLS.
// The client keeps `inFlight` messages outstanding, counts bytes (no parsing) as it reads them
// into one reused buffer (node:net's onread; beepwire's 8 MiB echo beat the client that got a
// new buffer per read: BASELINE BROKEN) and sends one write per read with as many new messages
// as were completed; Nagle is off on both ends; a run
// ends on a timer (as the beepwire client's does). How many messages in flight make the fastest
// raw echo depends on the size (bestInFlight tries a few): 64 x 64 KiB outstanding (4 MiB in
// the loopback's buffers) ran at ~1.2 GB/s where 2-16 ran at ~1.8-2.3 GB/s, one 8 MiB message at
// a time at 1.3-1.7 GB/s and four at 1.2-1.3, and beepwire, whose BEEP windows keep at most
// 1 MiB per channel and direction on the wire, beat the echo kept at 64 or 4 (BASELINE BROKEN).
import { createServer, connect, type Socket, type Server } from 'node:net';
import * as tls from 'node:tls';

/** Server kinds. */
export type RawMode = 'length-prefixed' | 'byte';

/** Echo replies of length-prefixed messages, batched per read. */
function lengthPrefixedEcho(s: Socket): void {
  let held: Uint8Array[] = []; // pieces of the unfinished message (views of earlier chunks)
  let need = 0; // body octets of the current message still to come (when inBody)
  let inBody = false;
  let hdr = 0; // length prefix octets gathered so far (when a prefix is split across reads)
  let hdrGot = 0;
  s.on('data', (d: Buffer) => {
    const n = d.length;
    let o = 0;
    let last = 0; // end of the last message completed in this chunk
    while (o < n) {
      if (inBody) {
        const take = Math.min(need, n - o);
        o += take;
        need -= take;
        if (need === 0) {
          inBody = false;
          last = o;
        }
        continue;
      }
      if (hdrGot === 0 && n - o >= 4) {
        need = d.readUInt32BE(o);
        o += 4;
      } else {
        hdr = ((hdr << 8) | d[o++]!) >>> 0;
        if (++hdrGot < 4) continue;
        need = hdr;
        hdr = 0;
        hdrGot = 0;
      }
      if (need === 0) last = o;
      else inBody = true;
    }
    if (last === 0) {
      held.push(d);
      return;
    }
    const reply = last === n ? d : d.subarray(0, last);
    if (held.length === 0) s.write(reply);
    else {
      s.cork();
      for (const h of held) s.write(h);
      s.write(reply);
      s.uncork();
      held = [];
    }
    if (last < n) held.push(d.subarray(last));
  });
}

/**
 * Writes back what it reads, the chunks of one turn of the event loop in one write (corked until
 * setImmediate): writing each chunk as it came (a syscall per 64 KiB read) ran 8 MiB messages at
 * ~1.33 GB/s where this runs ~1.51, below beepwire's echo (BASELINE BROKEN), and 64 KiB ~7 %
 * slower; at 64 B the two ran alike.
 */
function byteEcho(s: Socket): void {
  let corked = false;
  const uncork = (): void => {
    corked = false;
    s.uncork();
  };
  s.on('data', (d: Buffer) => {
    if (!corked) {
      corked = true;
      s.cork();
      setImmediate(uncork);
    }
    s.write(d);
  });
}

/** A raw echo server on 127.0.0.1 (an ephemeral port); TLS when `tlsPair` is given. */
export function rawServer(mode: RawMode, tlsPair?: { cert: string; key: string }): Promise<Server> {
  const handler = mode === 'byte' ? byteEcho : lengthPrefixedEcho;
  const server: Server =
    tlsPair === undefined
      ? createServer({ noDelay: true }, handler)
      : tls.createServer({ cert: tlsPair.cert, key: tlsPair.key }, (s) => {
          s.setNoDelay(true);
          handler(s);
        });
  return new Promise((res) => server.listen(0, '127.0.0.1', () => res(server)));
}

/** Port of a listening server. */
export function portOf(server: Server): number {
  return (server.address() as { port: number }).port;
}

/** One reusable read buffer for every raw client (they only count what they read). */
const READ_BUFFER = Buffer.allocUnsafe(65536);

/**
 * Connects (TLS when `ca` is given: the server's certificate names localhost); `onRead` gets
 * the number of octets of each read. The clients count octets and keep none, so node:net reads
 * into one reused buffer (the `onread` option): no buffer, Readable push or 'data' event per
 * read, the least a client can cost (beepwire's clients cannot do that: their chunks are kept
 * as message views). node:tls has no such option: its reads come as 'data'.
 */
export function rawClient(port: number, onRead: (n: number) => void, ca?: string): Promise<Socket> {
  return new Promise((res, rej) => {
    if (ca === undefined) {
      const s = connect(
        {
          host: '127.0.0.1',
          port,
          noDelay: true,
          onread: {
            buffer: READ_BUFFER,
            callback: (n: number) => {
              onRead(n);
              return true;
            },
          },
        },
        () => res(s),
      );
      s.once('error', rej);
    } else {
      const s = tls.connect({ host: '127.0.0.1', port, ca, servername: 'localhost' }, () => {
        s.setNoDelay(true);
        res(s);
      });
      s.on('data', (d: Buffer) => onRead(d.length));
      s.once('error', rej);
    }
  });
}

/**
 * The number of messages in flight, among 1, 2, 4, ... up to `requested`, at which `run` (an
 * echo of `n` in flight for `seconds`) went fastest in a short trial of each: the echo's best
 * configuration for its size. The raw baselines take it so that they stay ceilings, and
 * beepwire's rows take it by the same rule. A trial of messages of `size` octets lasts 0.3 s,
 * 1 s from 1 MiB on (0.3 s is ~50 messages of 8 MiB: the pick then varied from run to run).
 */
export async function bestInFlight(
  requested: number,
  size: number,
  run: (n: number, seconds: number) => Promise<EchoResult>,
): Promise<number> {
  const seconds = size >= 1 << 20 ? 1 : 0.3;
  let best = requested,
    rate = 0;
  for (let n = 1; ; n = Math.min(n * 2, requested)) {
    const r = await run(n, seconds);
    if (r.msgs / r.secs > rate) {
      rate = r.msgs / r.secs;
      best = n;
    }
    if (n === requested) return best;
  }
}

/** Messages echoed and the seconds it took (the tail of in-flight messages included). */
export interface EchoResult {
  msgs: number;
  secs: number;
  /** CPU seconds the process used meanwhile (client and server together): steadier than msgs/s on a shared machine. */
  cpu: number;
}

/** CPU seconds used since `since` (a process.cpuUsage() reading). */
export function cpuSince(since: NodeJS.CpuUsage): number {
  const u = process.cpuUsage(since);
  return (u.user + u.system) / 1e6;
}

/**
 * Keeps `inFlight` length-prefixed messages of `size` octets outstanding for `seconds`, then
 * waits for the outstanding ones. Works against either server kind (both return the octets).
 */
export async function rawEcho(port: number, size: number, inFlight: number, seconds: number, ca?: string): Promise<EchoResult> {
  let onRead = (_n: number): void => {};
  const s = await rawClient(port, (n) => onRead(n), ca);
  const one = 4 + size;
  const batch = Buffer.alloc(one * inFlight, 0x61);
  for (let i = 0; i < inFlight; i++) batch.writeUInt32BE(size, i * one);
  let msgs = 0,
    got = 0,
    outstanding = inFlight;
  let running = true; // ends on a timer, like the beepwire client (no clock read per read)
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const timer = setTimeout(() => {
    running = false;
  }, seconds * 1000);
  await new Promise<void>((resolve) => {
    onRead = (n) => {
      got += n;
      const done = Math.floor(got / one);
      if (done === 0) return;
      got -= done * one;
      msgs += done;
      outstanding -= done;
      if (running) {
        s.write(batch.subarray(0, done * one));
        outstanding += done;
      } else if (outstanding === 0) resolve();
    };
    s.write(batch);
  });
  clearTimeout(timer);
  const secs = (performance.now() - t0) / 1000;
  const cpu = cpuSince(c0);
  s.destroy();
  return { msgs, secs, cpu };
}

/** `count` round trips of one 64-octet length-prefixed message; milliseconds each. */
export async function rawRtt(port: number, count: number): Promise<number[]> {
  let onRead = (_n: number): void => {};
  const s = await rawClient(port, (n) => onRead(n));
  const msg = Buffer.alloc(4 + 64, 0x61);
  msg.writeUInt32BE(64, 0);
  const times: number[] = [];
  let got = 0;
  await new Promise<void>((resolve) => {
    let t = performance.now();
    onRead = (n) => {
      got += n;
      if (got < msg.length) return;
      got = 0;
      times.push(performance.now() - t);
      if (times.length === count) {
        resolve();
        return;
      }
      t = performance.now();
      s.write(msg);
    };
    s.write(msg);
  });
  s.destroy();
  return times;
}

/**
 * Sends of one run go out in one socket write: the socket under `ws` (its private `_socket`,
 * ws 8) is corked at the first send and uncorked at the end of the run, as beepwire's
 * WebSocket transport does; ws.send() alone writes every message with a syscall of its own.
 */
function corkedSends(ws: import('ws').WebSocket): () => void {
  const sock = (ws as unknown as { _socket: { cork(): void; uncork(): void } })._socket;
  let corked = false;
  return () => {
    if (corked) return;
    corked = true;
    sock.cork();
    queueMicrotask(() => {
      corked = false;
      sock.uncork();
    });
  };
}

/**
 * A raw WebSocket echo server (the `ws` package, as beepwire's ws listener uses it: no
 * permessage-deflate, no UTF-8 checks): every message is sent back as one binary message, the
 * replies of one read in one write.
 */
export async function rawWsServer(): Promise<{ port: number; close: () => Promise<void> }> {
  const { WebSocketServer } = await import('ws');
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: false, skipUTF8Validation: true });
  wss.on('connection', (ws) => {
    ws.binaryType = 'nodebuffer';
    const cork = corkedSends(ws);
    ws.on('message', (data: Buffer) => {
      cork();
      ws.send(data, { binary: true, compress: false });
    });
  });
  await new Promise<void>((res) => wss.once('listening', () => res()));
  const port = (wss.address() as { port: number }).port;
  return { port, close: () => new Promise<void>((res) => wss.close(() => res())) };
}

/**
 * Keeps `inFlight` binary messages of `size` octets outstanding over one `ws` client (masked,
 * as RFC 6455 requires of a client) for `seconds`, then waits for the outstanding ones; the
 * messages sent in one run go in one write.
 */
export async function rawWsEcho(port: number, size: number, inFlight: number, seconds: number): Promise<EchoResult> {
  const { WebSocket } = await import('ws');
  const ws = new WebSocket(`ws://127.0.0.1:${port}/`, { perMessageDeflate: false, skipUTF8Validation: true });
  ws.binaryType = 'nodebuffer';
  await new Promise<void>((res, rej) => {
    ws.once('open', () => res());
    ws.once('error', rej);
  });
  const body = Buffer.alloc(size, 0x61);
  const cork = corkedSends(ws);
  let msgs = 0,
    outstanding = inFlight;
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const end = t0 + seconds * 1000;
  await new Promise<void>((resolve) => {
    ws.on('message', () => {
      msgs++;
      outstanding--;
      if (performance.now() < end) {
        cork();
        ws.send(body, { binary: true, compress: false });
        outstanding++;
      } else if (outstanding === 0) resolve();
    });
    cork();
    for (let i = 0; i < inFlight; i++) ws.send(body, { binary: true, compress: false });
  });
  const secs = (performance.now() - t0) / 1000;
  const cpu = cpuSince(c0);
  ws.terminate();
  return { msgs, secs, cpu };
}
