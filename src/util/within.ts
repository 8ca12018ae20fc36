// One way to bound a wait: every timed wait in the API and profile modules goes through here.
import { BeepError } from '../errors.js';

/**
 * Settles like `p`, or rejects with BeepError BEEP_ERR_TIMEOUT ("<what> timed out after <ms>
 * ms") if `p` has not settled within `ms`; 0 waits without a bound. The timer is cleared either
 * way, so nothing keeps the process alive afterwards.
 */
export async function within<T>(ms: number, what: string, p: Promise<T>): Promise<T> {
  if (ms === 0) return p;
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([
      p,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new BeepError(`${what} timed out after ${ms} ms`, 'BEEP_ERR_TIMEOUT')), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}
