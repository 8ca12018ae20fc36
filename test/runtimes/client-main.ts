// Matrix client entry point (Node, Bun, Deno): `client-main <host> <port> <base64 config> [ws]`;
// prints one JSON line with the outcomes (with `ws`: the ws:// scenarios against a WebSocket
// listener on that port). Run by scripts/runtime-matrix.mjs.
import { runClient, runWsClient, type MatrixConfig } from './scenarios.js';
import { scriptArgs, decodeArg } from './args.js';

const [host, port, cfg, mode] = scriptArgs();
if (host === undefined || port === undefined || cfg === undefined) throw new Error('usage: client-main <host> <port> <base64 config> [ws]');
const outcomes = mode === 'ws' ? await runWsClient(host, Number(port)) : await runClient(host, Number(port), decodeArg<MatrixConfig>(cfg));
console.log(JSON.stringify({ outcomes }));
// Deno and Bun keep running while a timer or socket is referenced: leave explicitly.
(globalThis as { Deno?: { exit(c: number): void } }).Deno?.exit(0);
(globalThis as { process?: { exit(c: number): void } }).process?.exit(0);
