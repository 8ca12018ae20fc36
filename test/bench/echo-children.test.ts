// The echo benchmark's case processes (bench/child.ts, echo-raw-child.ts, echo-beep-child.ts) and
// the in-flight trial both sides use (bestInFlight): correctness only, never timing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bestInFlight, type EchoResult } from '../../bench/echo-raw.js';
import { rawBaselines, benchCertificates } from '../../bench/echo-raw-child.js';
import { beepProcess } from '../../bench/echo-beep-child.js';

test('bestInFlight tries 1, 2, 4, ... up to the count asked for and keeps the fastest', async () => {
  const tried: number[] = [];
  const rates: Record<number, number> = { 1: 10, 2: 30, 4: 50, 8: 40, 12: 45 };
  const run = async (n: number, seconds: number): Promise<EchoResult> => {
    tried.push(n);
    assert.ok(seconds > 0 && seconds < 1, 'a short trial');
    return { msgs: rates[n]!, secs: 1, cpu: 0 };
  };
  assert.equal(await bestInFlight(12, 64, run), 4);
  assert.deepEqual(tried, [1, 2, 4, 8, 12]);
  tried.length = 0;
  assert.equal(await bestInFlight(1, 64, run), 1);
  assert.deepEqual(tried, [1]);
});

test('bench case processes: a raw and a beepwire echo, TLS and round trips, each in its own process', { timeout: 60_000 }, async () => {
  const { ca, leaf } = benchCertificates();
  const raw = await rawBaselines({ cert: leaf.cert, key: leaf.key, ca: ca.cert });
  const beep = await beepProcess({ settings: { codec: 'wasm' }, leaf, ca: ca.cert });
  try {
    const r = await raw.echo('length-prefixed', 64, 4, 0.1);
    assert.ok(r.msgs > 0 && [1, 2, 4].includes(r.inFlight), `raw: ${JSON.stringify(r)}`);
    for (const tls of [false, true]) {
      const b = await beep.echo({ size: 64, channels: 1, inFlight: 4, seconds: 0.1, tls });
      assert.ok(b.msgs > 0 && b.cpu > 0 && [1, 2, 4].includes(b.inFlight), `beepwire (tls ${tls}): ${JSON.stringify(b)}`);
    }
    const big = await beep.echo({ size: 300_000, channels: 2, inFlight: 2, seconds: 0.1, tls: false });
    assert.ok(big.msgs > 0, 'messages of several frames come back too');
    const times = await beep.rtt(50);
    assert.equal(times.length, 50);
    assert.ok(times.every((t) => t > 0));
    assert.equal((await raw.rtt(20)).length, 20);
  } finally {
    raw.close();
    beep.close();
  }
});
