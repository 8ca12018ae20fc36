// Transport plumbing for TUNNEL (RFC 3620) proxies: open a plain connection to a next hop, and
// copy octets between two transports with backpressure, whatever adapters they are.
import type { Transport, TransportFactory, TransportAddress } from './transport.js';

/** Connects to `addr` and resolves once open; rejects with the failure. */
export async function openTransport(factory: TransportFactory, addr: TransportAddress): Promise<Transport> {
  const t = factory.connect(addr.host, addr.port);
  let failure: Error | undefined;
  t.attach({
    data: () => {},
    drain: () => {},
    closed: (err) => {
      failure = err ?? new Error('connection closed');
    },
  });
  t.hold(true); // nothing is read until the relay takes over
  await t.opened();
  if (failure !== undefined || t.closed) throw failure ?? new Error(`connect to ${addr.host}:${addr.port} failed`);
  return t;
}

/**
 * Copies octets both ways until either side closes (then both are closed); a side whose
 * peer does not read stops the other side's input. A relay with no octet either way for
 * `idle` ms (0 = never) is cut. `onEnd` runs once.
 */
export function relay(a: Transport, b: Transport, idle: number, onEnd: () => void): void {
  let done = false;
  let last = Date.now();
  let timer: ReturnType<typeof setInterval> | undefined;
  const end = (): void => {
    if (done) return;
    done = true;
    clearInterval(timer);
    a.abort();
    b.abort();
    onEnd();
  };
  const pipe = (from: Transport, to: Transport): void => {
    from.attach({
      data: (chunk) => {
        last = Date.now();
        if (!to.write(chunk)) from.pauseInput(true);
      },
      drain: () => to.pauseInput(false), // `from` can take more: the side feeding it may go on
      closed: end,
    });
  };
  pipe(a, b);
  pipe(b, a);
  if (idle > 0) {
    timer = setInterval(
      () => {
        if (Date.now() - last > idle) end();
      },
      Math.max(10, idle / 4),
    );
    (timer as { unref?: () => void }).unref?.();
  }
  if (a.closed || b.closed) {
    end();
    return;
  } // one side went away before the relay began
  a.hold(false);
  b.hold(false);
}
