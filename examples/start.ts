// `npm start`: a real listener and client talking BEEP on 127.0.0.1, printing what they exchange.
import { startListener } from './listener.js';
import { runClient } from './client.js';

const { ctx, listener } = await startListener('127.0.0.1', 0, (s) => console.log(`[listener] ${s}`));
if (!listener.isOk()) {
  console.error(`listener failed: ${listener.errorMsg}`);
  process.exit(1);
}
console.log(`[listener] BEEP listener on 127.0.0.1:${listener.port}`);
const frame = await runClient('127.0.0.1', listener.port, (s) => console.log(`[client]   ${s}`));
console.log(frame ? `[client]   reply ${frame.toString()} — session released cleanly` : '[client]   failed');
await ctx.exit();
process.exit(frame ? 0 : 1);
