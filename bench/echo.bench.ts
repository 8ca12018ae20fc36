// Echo benchmark over 127.0.0.1: beepwire (64 in flight, 1 and 8 channels) beside a raw
// node:net echo of length-prefixed messages in the same run ("vs raw" is against the
// per-message raw echo; a byte-level echo row is printed too), plus 1-in-flight round trips.
// Targets (DESIGN.md): 64 B >= 25 % of raw msgs/s; 64 KiB >= 80 % of raw MB/s; p50 RTT <= 1.5x raw.
import { createServer, connect, type Socket, type Server } from 'node:net';
import { Ctx, registerProfile, createListener, Connection, tls, type Channel } from '../src/index.js';
import * as certs from '../src/tls/certs.js';
import { machineLine } from './machine.js';

const PROFILE = 'http://beepwire.bench/echo';
const IN_FLIGHT = 64;
const SECONDS = Number(process.env.BENCH_SECONDS ?? 2);
const codecImpl = (process.env.BEEPWIRE_CODEC ?? 'wasm') as 'wasm' | 'ref';
// BENCH_FRAME overrides sendFrameSize, to compare framing choices.
const ctxOpts = process.env.BENCH_FRAME ? { sendFrameSize: Number(process.env.BENCH_FRAME) } : {};

// ---- raw node:net echo: [u32 length][payload] ------------------------------------------
// The server handles each message as a message (reads its length prefix, echoes it), as
// any protocol server would; `rawBytes` also runs a byte-level echo for reference.
function rawServer(perMessage: boolean): Promise<Server> {
  const server = createServer({ noDelay: true }, (s) => {
    if (!perMessage) { s.on('data', (d) => s.write(d)); return; }
    let pending: Buffer = Buffer.alloc(0);
    s.on('data', (d: Buffer) => {
      let buf = pending.length > 0 ? Buffer.concat([pending, d]) : d;
      s.cork();
      let o = 0;
      while (buf.length - o >= 4) {
        const len = buf.readUInt32BE(o);
        if (buf.length - o < 4 + len) break;
        s.write(buf.subarray(o, o + 4 + len));
        o += 4 + len;
      }
      s.uncork();
      pending = buf.subarray(o);
      buf = pending;
    });
  });
  return new Promise((res) => server.listen(0, '127.0.0.1', () => res(server)));
}

async function rawClient(port: number): Promise<Socket> {
  return new Promise((res) => { const s = connect({ host: '127.0.0.1', port, noDelay: true }, () => res(s)); });
}

/**
 * Runs `inFlight` length-prefixed echoes for SECONDS; returns messages echoed. Replies to one
 * socket read are written in one write: the ceiling for one process and one connection.
 */
async function rawEcho(port: number, size: number, inFlight: number): Promise<{ msgs: number; secs: number }> {
  const s = await rawClient(port);
  const one = 4 + size;
  const batch = Buffer.alloc(one * inFlight, 0x61);
  for (let i = 0; i < inFlight; i++) batch.writeUInt32BE(size, i * one);
  let msgs = 0, got = 0, outstanding = inFlight;
  const t0 = performance.now();
  const end = t0 + SECONDS * 1000;
  await new Promise<void>((resolve) => {
    s.on('data', (d) => {
      got += d.length;
      const done = Math.floor(got / one);
      got -= done * one;
      msgs += done;
      outstanding -= done;
      if (performance.now() < end) { s.write(batch.subarray(0, done * one)); outstanding += done; }
      else if (outstanding === 0) resolve();
    });
    s.write(batch);
  });
  const secs = (performance.now() - t0) / 1000;
  s.destroy();
  return { msgs, secs };
}

async function rawRtt(port: number, count: number): Promise<number[]> {
  const s = await rawClient(port);
  const msg = Buffer.alloc(4 + 64, 0x61);
  msg.writeUInt32BE(64, 0);
  const times: number[] = [];
  let got = 0;
  await new Promise<void>((resolve) => {
    let t = performance.now();
    s.on('data', (d) => {
      got += d.length;
      if (got < msg.length) return;
      got = 0;
      times.push(performance.now() - t);
      if (times.length === count) { resolve(); return; }
      t = performance.now();
      s.write(msg);
    });
    s.write(msg);
  });
  s.destroy();
  return times;
}

// ---- beepwire echo -----------------------------------------------------------------------
async function beepEcho(port: number, size: number, channels: number, caPem?: string): Promise<{ msgs: number; secs: number }> {
  const ctx = new Ctx({ codec: codecImpl, ...ctxOpts });
  const conn = await Connection.connect(ctx, '127.0.0.1', port);
  if (caPem !== undefined && !(await tls.startTls(conn, { serverName: 'localhost', ca: caPem }))) throw new Error(`TLS failed: ${conn.popChannelError()}`);
  const chans = (await Promise.all(Array.from({ length: channels }, () => conn.openChannel(0, PROFILE)))) as Channel[];
  const body = new Uint8Array(size).fill(0x61);
  let msgs = 0;
  const t0 = performance.now();
  const end = t0 + SECONDS * 1000;
  await new Promise<void>((resolve) => {
    let outstanding = 0;
    for (const ch of chans) {
      ch.setFrameReceived((_c, c) => {
        msgs++;
        outstanding--;
        if (performance.now() < end) { c.sendMsg(body); outstanding++; } else if (outstanding === 0) resolve();
      });
    }
    for (let i = 0; i < IN_FLIGHT; i++) { chans[i % chans.length].sendMsg(body); outstanding++; }
  });
  const secs = (performance.now() - t0) / 1000;
  await conn.close();
  return { msgs, secs };
}

async function beepRtt(port: number, count: number): Promise<number[]> {
  const ctx = new Ctx({ codec: codecImpl, ...ctxOpts });
  const conn = await Connection.connect(ctx, '127.0.0.1', port);
  const ch = (await conn.openChannel(0, PROFILE))!;
  const body = new Uint8Array(64).fill(0x61);
  const times: number[] = [];
  for (let i = 0; i < count; i++) {
    const t = performance.now();
    await ch.request(body);
    times.push(performance.now() - t);
  }
  await conn.close();
  return times;
}

const pct = (xs: number[], p: number): number => { const s = [...xs].sort((a, b) => a - b); return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]; };

const serverCtx = new Ctx({ codec: codecImpl, ...ctxOpts });
registerProfile(serverCtx, PROFILE, { frameReceived: (_c, ch, f) => { if (f.type === 'MSG') ch.sendRpy(f.payload, undefined, f.msgNo); } });
const ca = certs.generateCa();
const leaf = certs.generateLeaf(ca, { commonName: 'localhost' });
tls.acceptTls(serverCtx, { certHandler: () => leaf.cert, keyHandler: () => leaf.key });
const listener = await createListener(serverCtx, '127.0.0.1', 0);
const raw = await rawServer(true);
const rawPort = (raw.address() as { port: number }).port;
const rawB = await rawServer(false);
const rawBytesPort = (rawB.address() as { port: number }).port;

console.log(machineLine());
console.log(`codec: ${codecImpl}; ${IN_FLIGHT} in flight; ${SECONDS} s per case; listener and client in one process`);
const rows: Record<string, string>[] = [];
for (const size of (process.env.BENCH_SIZES ?? '64,4096,65536').split(',').map(Number)) {
  const rb = await rawEcho(rawBytesPort, size, IN_FLIGHT);
  const rbRate = rb.msgs / rb.secs;
  const r = await rawEcho(rawPort, size, IN_FLIGHT);
  const rawRate = r.msgs / r.secs;
  rows.push({ case: `raw node:net ${size} B (byte echo)`, 'msgs/s': Math.round(rbRate).toLocaleString('en-US'), 'MB/s': ((rbRate * size) / 1e6).toFixed(1), 'vs raw': `${((rbRate / rawRate) * 100).toFixed(1)} %` });
  rows.push({ case: `raw node:net ${size} B`, 'msgs/s': Math.round(rawRate).toLocaleString('en-US'), 'MB/s': ((rawRate * size) / 1e6).toFixed(1), 'vs raw': '100 %' });
  for (const channels of [1, 8]) {
    const b = await beepEcho(listener.port, size, channels);
    const rate = b.msgs / b.secs;
    rows.push({ case: `beepwire ${size} B, ${channels} ch`, 'msgs/s': Math.round(rate).toLocaleString('en-US'), 'MB/s': ((rate * size) / 1e6).toFixed(1), 'vs raw': `${((rate / rawRate) * 100).toFixed(1)} %` });
  }
}
console.table(rows);
const tlsRows: Record<string, string>[] = [];
for (const size of [64, 65536]) {
  const clear = await beepEcho(listener.port, size, 1);
  const sec = await beepEcho(listener.port, size, 1, ca.cert);
  for (const [name, r] of [['cleartext', clear], ['TLS (same session, after tuning reset)', sec]] as const) {
    const rate = r.msgs / r.secs;
    tlsRows.push({ case: `beepwire ${size} B, 1 ch, ${name}`, 'msgs/s': Math.round(rate).toLocaleString('en-US'), 'MB/s': ((rate * size) / 1e6).toFixed(1) });
  }
}
console.table(tlsRows);
if (process.env.BENCH_NO_RTT) { raw.close(); rawB.close(); await serverCtx.exit(); process.exit(0); }
const rr = await rawRtt(rawPort, 5000);
const br = await beepRtt(listener.port, 5000);
console.table([
  { case: 'raw node:net 64 B', 'p50 µs': (pct(rr, 50) * 1000).toFixed(1), 'p99 µs': (pct(rr, 99) * 1000).toFixed(1) },
  { case: 'beepwire 64 B', 'p50 µs': (pct(br, 50) * 1000).toFixed(1), 'p99 µs': (pct(br, 99) * 1000).toFixed(1), 'p50 vs raw': `${(pct(br, 50) / pct(rr, 50)).toFixed(2)}x` },
]);
raw.close();
rawB.close();
await serverCtx.exit();
process.exit(0);
