// TypeScript twin of the PyVortex manual's "Creating a BEEP listener".
// Run: node dist/examples/listener.js [host] [port]
import {
  Ctx,
  registerProfile,
  createListener,
  waitListeners,
  type Listener,
  type Connection,
  type Channel,
  type Frame,
} from '../src/index.js';
import { PROFILE } from './client.js';

/** Starts the echo listener; resolves with it (check isOk()). */
export async function startListener(
  host = '0.0.0.0',
  port: number | string = 1602,
  log = console.log,
): Promise<{ ctx: Ctx; listener: Listener }> {
  const ctx = new Ctx();
  if (!ctx.init()) throw new Error('ERROR: Unable to init ctx, failed to continue');

  function defaultFrameReceived(_conn: Connection, channel: Channel, frame: Frame): void {
    log(`Frame content received: ${frame.text}`);
    // reply in the case of MSG received
    if (frame.type === 'MSG') {
      // reply doing an echo
      channel.sendRpy(frame.payload, frame.payloadSize, frame.msgNo);
    }
  }

  // 1. register support for a profile
  registerProfile(ctx, PROFILE, { frameReceived: defaultFrameReceived });
  // 2. start listener and check status
  const listener = await createListener(ctx, host, port);
  if (!listener.isOk()) log(`ERROR: failed to start listener, error was was: ${listener.errorMsg}`);
  return { ctx, listener };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { ctx, listener } = await startListener(process.argv[2], process.argv[3] ?? 1602);
  if (!listener.isOk()) process.exit(-1);
  console.log(`listening on ${listener.host}:${listener.port}`);
  // 3. wait for requests
  await waitListeners(ctx, { unlockOnSignal: true });
  await ctx.exit();
}
