// Ending a transport whose session is over: pending writes (a refusal, an error reply) still
// go out, the peer's further events are ignored, and a peer that keeps the connection open
// instead of closing its side is cut off.
import type { Transport } from './transport.js';

/** Half-closes `t` after `last` (if given) and its pending writes; aborts it if still open after `ms`. */
export function endWithin(t: Transport, ms: number, last?: Uint8Array): void {
  const cut = setTimeout(() => t.abort(), ms);
  (cut as { unref?: () => void }).unref?.();
  t.attach({ data: () => {}, drain: () => {}, closed: () => clearTimeout(cut) });
  if (last !== undefined) t.write(last);
  t.end();
}
