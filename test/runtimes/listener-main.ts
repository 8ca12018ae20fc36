// Matrix listener entry point (Node, Bun, Deno): `listener-main <base64 config>`; prints
// `{"port":N}` (or `{"error":...}`) once listening, then serves until killed.
import { startListener, type MatrixConfig } from './scenarios.js';
import { scriptArgs, decodeArg } from './args.js';

const [cfg] = scriptArgs();
const l = await startListener('127.0.0.1', 0, decodeArg<MatrixConfig>(cfg));
console.log(JSON.stringify(l.isOk() ? { port: l.port } : { error: l.errorMsg }));
