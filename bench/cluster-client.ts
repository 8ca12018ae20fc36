// Load generator for bench/cluster.bench.ts, in a process of its own. It must cost far less
// per message than the listener it drives: on 2 cores, 2 workers can show 1.6x one only if
// the client leaves them most of the machine (with server cost s and client cost c per
// message, 2 workers reach at most 2s/(s+c) times one). So it speaks just enough BEEP by hand
// over node:net and does almost nothing per message:
// - every session sends the same byte stream (MSG k on channel 1 at seqno k*len), so MSG
//   frames are encoded once per process into shared blocks and sent as views of them;
// - the replies are just as predictable (RPY k at seqno k*len, in MSG order, RFC 3080 §2.6.1):
//   a reply is skipped by its computed length and spot-checked, never parsed; only SEQ frames
//   are read (and honoured), and we grant the listener a wide window with our own SEQs;
// - reads land in one reused buffer (node:net onread) and MSGs go out in batches of an eighth
//   of the messages in flight: with both, the generator took ~0.35 cores where it took ~0.45
//   at 2 workers' rate, and those cores are the ones 2 workers lack on 2 cores.
// Driven over IPC: ClientRun -> { msgs, secs, cpuUser, cpuSystem }.
import { connect, type Socket } from 'node:net';

/** A run request from the primary. */
export interface ClientRun {
  port: number;
  seconds: number;
  warmup: number;
  conns: number;
  inFlight: number;
  size: number;
  profile: string;
}

const CRLF = '\r\n';
const MIME = 'Content-Type: application/beep+xml\r\n\r\n';
const GRANT = 1 << 24; // window we grant the listener on channel 1, re-granted every 1 MiB
const BLOCK = 16384; // MSG frames per shared block

const digits = (n: number): number =>
  n < 10 ? 1 : n < 100 ? 2 : n < 1000 ? 3 : n < 1e4 ? 4 : n < 1e5 ? 5 : n < 1e6 ? 6 : n < 1e7 ? 7 : n < 1e8 ? 8 : n < 1e9 ? 9 : 10;

/** MSG k of the shared stream, for a payload of `len` octets (empty MIME header + body). */
class Stream {
  readonly blocks: Array<{ buf: Buffer; at: Uint32Array }> = [];
  constructor(readonly len: number) {}
  /** Block i: frames i*BLOCK .. (i+1)*BLOCK-1 and their start offsets (BLOCK+1 entries). */
  block(i: number): { buf: Buffer; at: Uint32Array } {
    let b = this.blocks[i];
    if (b !== undefined) return b;
    const body = 'a'.repeat(this.len - 2);
    const parts: string[] = [];
    const at = new Uint32Array(BLOCK + 1);
    let o = 0;
    for (let j = 0; j < BLOCK; j++) {
      const k = i * BLOCK + j;
      const f = `MSG 1 ${k & 0x7fffffff} . ${(k * this.len) % 2 ** 32} ${this.len}\r\n\r\n${body}END\r\n`;
      at[j] = o;
      o += f.length;
      parts.push(f);
    }
    at[BLOCK] = o;
    b = { buf: Buffer.from(parts.join(''), 'latin1'), at };
    this.blocks[i] = b;
    return b;
  }
}

const streams = new Map<number, Stream>();
const readBuffer = Buffer.allocUnsafe(65536);

function frame(kw: string, ch: number, msgno: number, seqno: number, payload: string): string {
  return `${kw} ${ch} ${msgno} . ${seqno} ${Buffer.byteLength(payload)}${CRLF}${payload}END${CRLF}`;
}

/** One session: greeting, start of channel 1, then `inFlight` MSGs kept outstanding. */
class Load {
  readonly s: Socket;
  replies = 0;
  counting = false;
  stopped = false;
  readonly #st: Stream;
  #sent = 0; // MSGs sent (the next one is MSG #sent)
  #got = 0; // replies received
  #limit = 4096; // peer's window edge on channel 1 (RFC 3081 starts at 4096)
  #granted = 0;
  #owed = 0; // MSGs to send once the window allows
  #skip = 0; // octets of a reply still to skip (it spans reads)
  #carry: Buffer | undefined; // a partial header line
  #started = false;
  readonly #batch: number;
  #onStarted: (() => void) | undefined;
  #onIdle: (() => void) | undefined;

  constructor(
    port: number,
    readonly r: ClientRun,
  ) {
    const len = r.size + 2;
    this.#batch = Math.max(1, r.inFlight >> 3);
    this.#st = streams.get(len) ?? new Stream(len);
    streams.set(len, this.#st);
    // Reads land in one buffer per process (node:net's onread), not a fresh 64 KiB one per read:
    // nothing is kept from a read but a partial header line, which #data copies.
    this.s = connect({
      host: '127.0.0.1',
      port,
      noDelay: true,
      onread: {
        buffer: readBuffer,
        callback: (n: number, buf: Uint8Array): boolean => {
          this.#data(Buffer.from(buf.buffer, buf.byteOffset, n));
          return true;
        },
      },
    });
    this.s.on('error', () => {});
    const greetingPayload = `${MIME}<greeting />${CRLF}`;
    const greeting = frame('RPY', 0, 0, 0, greetingPayload);
    const start = frame(
      'MSG',
      0,
      1,
      Buffer.byteLength(greetingPayload),
      `${MIME}<start number='1'><profile uri='${r.profile}' /></start>${CRLF}`,
    );
    this.s.write(greeting + start);
  }

  started(): Promise<void> {
    return this.#started
      ? Promise.resolve()
      : new Promise((r) => {
          this.#onStarted = r;
        });
  }
  idle(): Promise<void> {
    return this.#got === this.#sent
      ? Promise.resolve()
      : new Promise((r) => {
          this.#onIdle = r;
        });
  }

  go(): void {
    this.s.write(`SEQ 1 0 ${GRANT}\r\n`); // RFC 3081: the listener may send 4096 octets until we say more
    this.#granted = GRANT;
    this.#owed = this.r.inFlight;
    this.#send();
  }

  /** Length of reply k: "RPY 1 k . seqno len\r\n" + payload + "END\r\n". */
  #replyLen(k: number): number {
    const len = this.#st.len;
    return 6 + digits(k & 0x7fffffff) + 3 + digits((k * len) % 2 ** 32) + 1 + digits(len) + 2 + len + 5;
  }

  /**
   * Sends owed MSGs within the window, as views of the shared stream: in batches of an eighth of
   * the messages in flight, so that a write (a syscall, and a wakeup of the listener) carries
   * many MSGs even when each read brought a few replies.
   */
  #send(): void {
    if (this.#owed < this.#batch) return;
    const len = this.#st.len;
    const room = Math.floor(((this.#limit - ((this.#sent * len) % 2 ** 32)) >>> 0) / len);
    let n = Math.min(this.#owed, room > 0x1000000 ? 0 : room);
    if (n <= 0) return;
    this.#owed -= n;
    const pieces: Buffer[] = [];
    while (n > 0) {
      const bi = Math.floor(this.#sent / BLOCK),
        j = this.#sent % BLOCK;
      const take = Math.min(n, BLOCK - j);
      const b = this.#st.block(bi);
      pieces.push(b.buf.subarray(b.at[j], b.at[j + take]));
      this.#sent += take;
      n -= take;
    }
    if (pieces.length === 1) this.s.write(pieces[0]!);
    else {
      this.s.cork();
      for (const p of pieces) this.s.write(p);
      this.s.uncork();
    }
  }

  #data(d: Buffer): void {
    let b = d;
    if (this.#carry !== undefined) {
      b = Buffer.concat([this.#carry, d]);
      this.#carry = undefined;
    }
    const n = b.length;
    let o = Math.min(this.#skip, n);
    this.#skip -= o;
    let done = 0;
    while (o < n) {
      if (b[o] === 82 && this.#started) {
        // 'R': RPY k on channel 1, skipped by its length
        if (n - o < 6) {
          this.#carry = Buffer.from(b.subarray(o));
          break;
        }
        const len = this.#replyLen(this.#got);
        if (b[o + 4] !== 49 || b[o + 5] !== 32) throw new Error('load generator: unexpected frame from the listener');
        this.#got++;
        done++;
        if (o + len <= n) {
          o += len;
          continue;
        }
        this.#skip = o + len - n;
        o = n;
        break;
      }
      const eol = b.indexOf(10, o);
      if (eol < 0) {
        this.#carry = Buffer.from(b.subarray(o));
        break;
      }
      const line = b.toString('latin1', o, eol - 1).split(' ');
      if (line[0] === 'SEQ') {
        if (line[1] === '1') this.#limit = (Number(line[2]) + Number(line[3])) >>> 0;
        o = eol + 1;
        continue;
      }
      // Channel 0 (greeting, start reply) before the load starts: whole frames only.
      const end = eol + 1 + Number(line[5]) + 5;
      if (end > n) {
        this.#carry = Buffer.from(b.subarray(o));
        break;
      }
      if (line[0] === 'RPY' && line[1] === '0' && line[2] === '1') {
        this.#started = true;
        this.#onStarted?.();
      }
      o = end;
    }
    if (done > 0) {
      if (this.counting) this.replies += done;
      if (!this.stopped) this.#owed += done;
      const recv = (this.#got * this.#st.len) % 2 ** 32;
      if ((this.#granted - recv) >>> 0 < GRANT - (1 << 20)) {
        // Keep the listener's window on channel 1 wide open (RFC 3081 §3.1.3).
        this.s.write(`SEQ 1 ${recv} ${GRANT}\r\n`);
        this.#granted = (recv + GRANT) >>> 0;
      }
    }
    this.#send();
    if (this.#got === this.#sent) this.#onIdle?.();
  }
}

async function run(r: ClientRun): Promise<{ msgs: number; secs: number }> {
  const loads = Array.from({ length: r.conns }, () => new Load(r.port, r));
  await Promise.all(loads.map((l) => l.started()));
  for (const l of loads) l.go();
  await new Promise((res) => setTimeout(res, r.warmup * 1000));
  const t0 = performance.now();
  for (const l of loads) l.counting = true;
  await new Promise((res) => setTimeout(res, r.seconds * 1000));
  for (const l of loads) l.counting = false;
  const secs = (performance.now() - t0) / 1000;
  const msgs = loads.reduce((a, l) => a + l.replies, 0);
  for (const l of loads) l.stopped = true;
  await Promise.race([Promise.all(loads.map((l) => l.idle())), new Promise((res) => setTimeout(res, 2000))]);
  for (const l of loads) l.s.destroy();
  return { msgs, secs };
}

process.on('message', (r: ClientRun) => {
  const u0 = process.cpuUsage();
  run(r).then(
    (res) => {
      const u = process.cpuUsage(u0);
      process.send!({ ...res, cpuUser: u.user / 1e6, cpuSystem: u.system / 1e6 });
    },
    (e: unknown) => process.send!({ error: String(e) }),
  );
});
process.on('disconnect', () => process.exit(0)); // the primary is gone
