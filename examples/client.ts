// TypeScript twin of the PyVortex manual's "Creating a PyVortex BEEP client".
// Run: node dist/examples/client.js [host] [port]   (against dist/examples/listener.js)
import { Ctx, Connection } from '../src/index.js';
import type { Frame } from '../src/index.js';

/** The profile both examples use. */
export const PROFILE = 'http://example.org/beep/echo';

/** Connects, opens a channel, sends one message and resolves with the reply frame. */
export async function runClient(host = 'localhost', port: number | string = 1602, log = console.log): Promise<Frame | null> {
  // 1. create and init a context
  const ctx = new Ctx();
  if (!ctx.init()) {
    log('ERROR: Unable to init ctx, failed to continue');
    return null;
  }
  // 2. establish a BEEP session with the remote listener
  const conn = await Connection.connect(ctx, host, port);
  if (!conn.isOk()) {
    log(`ERROR: Failed to create connection with '${host}':${port}`);
    for (let err = conn.popChannelError(); err; err = conn.popChannelError()) log(`ERROR: Found error message: ${err[0]}: ${err[1]}`);
    return null;
  }
  // 3. open a channel running the profile (0: next free channel number)
  const channel = await conn.openChannel(0, PROFILE);
  if (!channel) {
    log('ERROR: Expected to find proper channel creation, but error found:');
    for (let err = conn.popChannelError(); err; err = conn.popChannelError()) log(`ERROR: Found error message: ${err[0]}: ${err[1]}`);
    conn.shutdown();
    return null;
  }
  // 5. (set before sending so no reply can be missed) frame received handler
  const reply = new Promise<Frame>((resolve) => {
    channel.setFrameReceived((_conn, _channel, frame) => {
      log(`Frame received, type: ${frame.type}`);
      log(`Frame content: ${frame.text}`);
      resolve(frame);
    });
  });
  // 4. send a message
  if (channel.sendMsg('This is a test', 14) === null) {
    log('ERROR: Failed to send test message, error found: ');
    for (let err = conn.popChannelError(); err; err = conn.popChannelError()) log(`ERROR: Found error message: ${err[0]}: ${err[1]}`);
    conn.shutdown();
    return null;
  }
  const frame = await reply;
  await conn.close();
  return frame;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const frame = await runClient(process.argv[2], process.argv[3] ?? 1602);
  process.exit(frame ? 0 : 1);
}
