// ALIVE profile (LibVortex's urn:aspl.es:beep:profiles:ALIVE, vortex_alive.c): the peer answers
// every MSG on the channel with an empty RPY; a checker on the other side pings it once per
// period and declares the connection failed when more pings go unanswered than allowed while
// nothing else arrives either (any received octet counts as a sign of life, as in LibVortex).
import { registerProfile, type Ctx } from '../api/ctx.js';
import type { Connection } from '../api/connection.js';
import type { Channel } from '../api/channel.js';
import { BeepError } from '../errors.js';

/** The ALIVE profile URI. */
export const ALIVE_URI = 'urn:aspl.es:beep:profiles:ALIVE';

/** Largest message accepted on an ALIVE channel: pings and their replies are empty. */
export const ALIVE_MAX_MESSAGE = 4096;

/** Failure handler: called instead of shutting the connection down. */
export type AliveFailure = (conn: Connection, checkPeriod: number, maxUnreplyCount: number) => void;

/** Options of enableCheck. */
export interface AliveOptions {
  /** Milliseconds between checks (and pings). */
  checkPeriod: number;
  /** Unanswered pings tolerated; one more fails the check (default 0: a ping must be answered by the next check). */
  maxUnreplyCount?: number;
  /** Called on failure; without it the connection is shut down with a BEEP_ERR_ALIVE error. */
  onFailure?: AliveFailure;
}

/** A running check. */
export interface AliveCheck {
  /** Stops checking (the channel stays open). */
  stop(): void;
  /** Pings sent. */
  readonly sent: number;
  /** Pings answered. */
  readonly replied: number;
  /** True once the check has declared the connection failed. */
  readonly failed: boolean;
}

/** Registers the ALIVE profile on a context so peers can check this side (vortex_alive_init). */
export function init(ctx: Ctx): void {
  registerProfile(ctx, ALIVE_URI, {
    start: () => ({ maxMessage: ALIVE_MAX_MESSAGE }),
    frameReceived: (_c, ch, f) => {
      if (f.type === 'MSG') ch.sendRpy('', undefined, f.msgNo);
    },
  });
}

/**
 * Starts checking that the peer is alive (vortex_alive_enable_check): opens an ALIVE channel
 * and pings it every `checkPeriod` ms. A channel that cannot be opened within
 * max(3 s, (maxUnreplyCount + 1) periods) of silence is a failure too.
 */
export function enableCheck(conn: Connection, opts: AliveOptions): AliveCheck {
  const period = opts.checkPeriod;
  const max = opts.maxUnreplyCount ?? 0;
  if (!(period > 0) || !Number.isInteger(max) || max < 0)
    throw new RangeError('checkPeriod must be > 0 and maxUnreplyCount an integer >= 0');
  const openDeadline = Math.max(3000, (max + 1) * period);
  let channel: Channel | null | undefined;
  let outstanding = 0,
    sent = 0,
    replied = 0,
    failed = false,
    stopped = false;
  let lastIn = conn.octets.in,
    quietSince = Date.now();

  const stop = (): void => {
    stopped = true;
    clearInterval(timer);
  };
  const fail = (why: string): void => {
    stop();
    failed = true;
    if (opts.onFailure) {
      try {
        opts.onFailure(conn, period, max);
      } catch (e) {
        conn.ctx.reportError(e, { conn }); // runs from a timer: a throw would be uncaught
      }
      return;
    }
    conn.shutdown(new BeepError(`ALIVE check failed: ${why}`, 'BEEP_ERR_ALIVE'));
  };
  const tick = (): void => {
    if (stopped) return;
    if (!conn.isOk()) {
      stop();
      return;
    }
    const now = Date.now(),
      octetsIn = conn.octets.in;
    if (octetsIn !== lastIn) {
      lastIn = octetsIn;
      quietSince = now;
      return;
    } // activity: no ping needed
    if (channel === undefined) {
      if (now - quietSince >= openDeadline) fail('ALIVE channel not created');
      return;
    }
    if (channel === null) {
      fail('peer refused the ALIVE channel');
      return;
    }
    if (outstanding > max) {
      fail(`${outstanding} pings unanswered (allowed ${max})`);
      return;
    }
    outstanding++;
    sent++;
    channel.request('').then(
      () => {
        outstanding--;
        replied++;
      },
      () => undefined,
    );
  };
  const timer = setInterval(tick, period);
  conn.openChannel(0, ALIVE_URI).then(
    (ch) => {
      ch?.setMessageLimit(ALIVE_MAX_MESSAGE);
      channel = ch;
    },
    () => {
      channel = null;
    },
  );
  conn.setOnClose(() => stop());
  return {
    stop,
    get sent() {
      return sent;
    },
    get replied() {
      return replied;
    },
    get failed() {
      return failed;
    },
  };
}
