// Deno TLS loop entry point: `tls-loop-main <host> <port> <count> <base64 config>` runs
// tlsRound() count times in sequence and prints {"passed":N,"failed":N,"errors":[...]}.
// Repetition is the point: an in-place upgrade that races a pending read fails rarely.
import { tlsRound, type MatrixConfig } from './scenarios.js';
import { scriptArgs, decodeArg } from './args.js';

const [host, port, count, cfg] = scriptArgs();
if (host === undefined || port === undefined || cfg === undefined)
  throw new Error('usage: tls-loop-main <host> <port> <count> <base64 config>');
const config = decodeArg<MatrixConfig>(cfg);
let passed = 0;
const errors: string[] = [];
const t0 = Date.now();
for (let i = 0; i < Number(count); i++) {
  try {
    await tlsRound(host, Number(port), config);
    passed++;
  } catch (e) {
    // The first few failures say why; the count says how often.
    if (errors.length < 5) errors.push(`round ${i}: ${(e as Error)?.message ?? String(e)}`);
  }
}
console.log(JSON.stringify({ passed, failed: Number(count) - passed, errors, ms: Date.now() - t0 }));
(globalThis as { Deno?: { exit(c: number): void } }).Deno?.exit(0);
(globalThis as { process?: { exit(c: number): void } }).process?.exit(0);
