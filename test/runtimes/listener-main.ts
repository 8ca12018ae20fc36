// Matrix listener entry point (Node, Bun, Deno): `listener-main <base64 config> [ws]`; prints
// `{"port":N}` (or `{"error":...}`) once listening, then serves until killed. With `ws` it
// listens for BEEP over WebSocket (`createListener(…, { websocket: true })`: Node and Bun;
// a runtime that cannot answers with the reason).
import { startListener, type MatrixConfig } from './scenarios.js';
import { scriptArgs, decodeArg } from './args.js';

const [cfg, mode] = scriptArgs();
if (cfg === undefined) throw new Error('usage: listener-main <base64 config> [ws]');
const l = await startListener('127.0.0.1', 0, decodeArg<MatrixConfig>(cfg), mode === 'ws' ? { websocket: true } : {});
console.log(JSON.stringify(l.isOk() ? { port: l.port } : { error: l.errorMsg }));
