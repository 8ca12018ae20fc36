// Two sans-I/O sessions wired back to back in memory (test/session/pair.test.ts, unpin.test.ts):
// no sockets, byte-exact and deterministic.
import { Session, type SessionIO, type SessionOptions } from '../../src/session/session.js';
import type { Message } from '../../src/session/message.js';

/** The profile the listener offers. */
export const P = 'http://beepwire.test/pair';
/** One turn of the event loop. */
export const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

/** Delivers one session's writes to the other on the next macrotask (like a socket). */
export class Pipe implements SessionIO {
  peer!: Session;
  bytes = 0;
  frames: string[] = [];
  write(a: Uint8Array, b?: Uint8Array, c?: Uint8Array, d?: Uint8Array): boolean {
    const parts = [a, b, c, d].filter((p): p is Uint8Array => p !== undefined).map((p) => p.slice());
    for (const p of parts) this.bytes += p.length;
    const head = Buffer.from(a).toString('latin1');
    if (/^(MSG|RPY|ERR|ANS|NUL|SEQ) /.test(head)) this.frames.push(head.trim());
    setImmediate(() => {
      for (const p of parts) this.peer.receive(p);
    });
    return true;
  }
  end(): void {
    /* in memory */
  }
}

/** What pair() sets up: session options for both sides, the listener's echo, the pipe. */
export type PairOptions = Pick<SessionOptions, 'window' | 'maxWindow' | 'perFrame' | 'sendFrameSize' | 'ownedChunks'> & {
  /** The listener answers each whole MSG with an RPY of its content (default true). */
  echo?: boolean;
  /** Makes each direction's pipe (default: a Pipe). */
  pipe?: () => Pipe;
};

/** A listener offering P (messages it gets in `got`) and an initiator, greeted across two pipes. */
export function pair(opts: PairOptions = {}) {
  const { echo = true, pipe = () => new Pipe(), ...options } = opts;
  const ia = pipe(),
    lb = pipe();
  const got: Message[] = [];
  const listener = new Session(
    lb,
    {
      start: () => ({ accept: true, uri: P }),
      channelOpened: (ch) => {
        ch.onMessage = (m) => {
          got.push(m);
          if (echo && m.type === 'MSG' && !m.more) listener.sendReply(ch, 'RPY', m.msgno, m.content);
        };
      },
    },
    { role: 'listener', ...options },
  );
  const initiator = new Session(ia, {}, { role: 'initiator', ...options });
  ia.peer = listener;
  lb.peer = initiator;
  listener.start({ profiles: [P] });
  initiator.start({ profiles: [] });
  return { initiator, listener, ia, lb, got };
}
