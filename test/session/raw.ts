// Raw-socket peer for loopback tests: writes hand-made frames, reads what comes back.
import { connect, type Socket } from 'node:net';

/** True if `p` is fulfilled within `ms`, false once `ms` pass first; the timer is cleared either way. */
export async function fulfilledWithin(p: Promise<unknown>, ms: number): Promise<boolean> {
  let t: ReturnType<typeof setTimeout> | undefined;
  const r = await Promise.race([
    p.then(() => true),
    new Promise<boolean>((res) => {
      t = setTimeout(() => res(false), ms);
    }),
  ]);
  clearTimeout(t);
  return r;
}

/** Frame text for a data frame; size computed from the payload (Latin-1). */
export function frame(kw: string, ch: number, msgno: number, seqno: number, payload: string, more = '.', ansno?: number): string {
  return `${kw} ${ch} ${msgno} ${more} ${seqno} ${Buffer.byteLength(payload, 'latin1')}${ansno === undefined ? '' : ` ${ansno}`}\r\n${payload}END\r\n`;
}

/** The channel-0 payload of a greeting advertising `profiles`. */
export function greetingPayload(profiles: string[] = []): string {
  return `Content-Type: application/beep+xml\r\n\r\n<greeting>${profiles.map((p) => `<profile uri='${p}'/>`).join('')}</greeting>`;
}

/** The whole channel-0 RPY to our MSG `msgno` (a start reply); never the listener's greeting, which is RPY 0 0 and lists the same profiles. */
export function startReply(msgno: number, profile = ''): RegExp {
  const uri = profile.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return new RegExp(`RPY 0 ${msgno} \\. \\d+ \\d+\\r\\n[\\s\\S]*?<profile uri='${uri}[\\s\\S]*?END\\r\\n`);
}

/** A connected raw socket collecting everything received. */
export class RawPeer {
  /** The socket. */
  readonly socket: Socket;
  /** Everything received so far (Latin-1). */
  received = '';
  /** Resolves when the socket is closed by either side. */
  readonly closed: Promise<void>;

  private constructor(socket: Socket) {
    this.socket = socket;
    socket.on('data', (d) => {
      this.received += d.toString('latin1');
    });
    socket.on('error', () => {
      /* closed promise reports it */
    });
    this.closed = new Promise((res) => socket.once('close', () => res()));
  }

  /** Connects to 127.0.0.1:port. */
  static connect(port: number): Promise<RawPeer> {
    return new Promise((resolve, reject) => {
      const s = connect({ host: '127.0.0.1', port }, () => resolve(new RawPeer(s)));
      s.once('error', reject);
    });
  }

  #seq = new Map<number, number>();

  /** A data frame with this peer's next seqno on the channel (tracked per channel). */
  frame(kw: string, ch: number, msgno: number, payload: string, more = '.', ansno?: number): string {
    const seq = this.#seq.get(ch) ?? 0;
    this.#seq.set(ch, (seq + Buffer.byteLength(payload, 'latin1')) >>> 0);
    return frame(kw, ch, msgno, seq, payload, more, ansno);
  }

  /** Sends our greeting and a start for channel `ch` running `profile`; waits for the RPY. */
  async greetAndStart(profile: string, ch = 1): Promise<void> {
    await this.send(this.frame('RPY', 0, 0, greetingPayload()));
    await this.send(
      this.frame('MSG', 0, 1, `Content-Type: application/beep+xml\r\n\r\n<start number='${ch}'><profile uri='${profile}'/></start>`),
    );
    await this.waitFor(startReply(1));
  }

  /** Writes Latin-1 text, optionally one octet per write. */
  async send(text: string, oneByteAtATime = false): Promise<void> {
    const b = Buffer.from(text, 'latin1');
    if (!oneByteAtATime) {
      this.socket.write(b);
      return;
    }
    for (let i = 0; i < b.length; i++) {
      this.socket.write(b.subarray(i, i + 1));
      await new Promise((r) => setImmediate(r));
    }
  }

  /** Waits until `pattern` appears in what was received (bounded by `ms`). */
  async waitFor(pattern: string | RegExp, ms = 5000): Promise<string> {
    const deadline = Date.now() + ms;
    for (;;) {
      const hit = typeof pattern === 'string' ? this.received.includes(pattern) : pattern.test(this.received);
      if (hit) return this.received;
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${pattern}; got ${JSON.stringify(this.received.slice(0, 400))}`);
      await new Promise((r) => setTimeout(r, 5));
    }
  }

  /** Resolves true if the peer closed the connection within `ms`. */
  closedWithin(ms: number): Promise<boolean> {
    return fulfilledWithin(this.closed, ms);
  }
}
