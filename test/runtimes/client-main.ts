// Matrix client entry point (Node, Bun, Deno): `client-main <host> <port> <base64 config>`;
// prints one JSON line with the outcomes. Run by scripts/runtime-matrix.mjs.
import { runClient, type MatrixConfig } from './scenarios.js';
import { scriptArgs, decodeArg } from './args.js';

const [host, port, cfg] = scriptArgs();
const outcomes = await runClient(host, Number(port), decodeArg<MatrixConfig>(cfg));
console.log(JSON.stringify({ outcomes }));
// Deno and Bun keep running while a timer or socket is referenced: leave explicitly.
(globalThis as { Deno?: { exit(c: number): void } }).Deno?.exit(0);
(globalThis as { process?: { exit(c: number): void } }).process?.exit(0);
