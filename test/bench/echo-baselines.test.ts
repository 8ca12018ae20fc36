// The echo benchmark's raw baselines and report helpers (bench/echo-raw.ts, echo-report.ts):
// correctness only, never timing. The length-prefixed server must echo every message exactly,
// whatever the read boundaries (prefixes split across reads, empty messages, many per read).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { rawServer, portOf } from '../../bench/echo-raw.js';
import { spread, verdict, chartSvg } from '../../bench/echo-report.js';

function lp(sizes: number[]): Buffer {
  const parts: Buffer[] = [];
  sizes.forEach((n, i) => {
    const m = Buffer.alloc(4 + n, 0x30 + (i % 10));
    m.writeUInt32BE(n, 0);
    parts.push(m);
  });
  return Buffer.concat(parts);
}

/** Sends `wire` in the given cut points (each piece its own write, with a turn between). */
async function echoIn(port: number, wire: Buffer, cuts: number[]): Promise<Buffer> {
  const s = connect({ host: '127.0.0.1', port, noDelay: true });
  await new Promise<void>((r) => s.once('connect', () => r()));
  const got: Buffer[] = [];
  let n = 0;
  const done = new Promise<void>((r) =>
    s.on('data', (d: Buffer) => {
      got.push(d);
      n += d.length;
      if (n >= wire.length) r();
    }),
  );
  let at = 0;
  for (const c of [...cuts, wire.length]) {
    s.write(wire.subarray(at, c));
    at = c;
    await new Promise((r) => setTimeout(r, 2));
  }
  await done;
  s.destroy();
  return Buffer.concat(got);
}

test('raw length-prefixed echo: every message back, whatever the read boundaries', async () => {
  const server = await rawServer('length-prefixed');
  try {
    const port = portOf(server);
    const wire = lp([0, 5, 64, 0, 3000, 1, 70000, 7]);
    for (const cuts of [
      [],
      [1],
      [2, 3],
      [4],
      [5, 6, 7, 8, 9, 10],
      [13, 100, 3100, 3105, 50000],
      Array.from({ length: 40 }, (_, i) => i * 1901 + 3),
    ]) {
      assert.deepEqual(
        await echoIn(
          port,
          wire,
          cuts.filter((c) => c < wire.length),
        ),
        wire,
        `cuts ${cuts.join(',')}`,
      );
    }
  } finally {
    server.close();
  }
});

test('raw byte echo returns what it reads', async () => {
  const server = await rawServer('byte');
  try {
    const wire = lp([10, 20, 30]);
    assert.deepEqual(await echoIn(portOf(server), wire, [7, 33]), wire);
  } finally {
    server.close();
  }
});

test('echo report: median/min/max, verdicts and a well-formed chart', () => {
  assert.deepEqual(spread([5, 1, 4, 2, 3]), { median: 3, min: 1, max: 5 });
  assert.deepEqual(spread([4, 1, 3, 2]), { median: 2.5, min: 1, max: 4 });
  assert.equal(verdict('a', 0.51, 0.5, true, true).pass, true);
  assert.equal(verdict('a', 0.49, 0.5, true, true).pass, false);
  assert.equal(verdict('p50', 1.2, 1.1, false, false).pass, false);
  assert.equal(verdict('p50', 1.05, 1.1, false, false).pass, true);
  const svg = chartSvg('t <&>', 's', [verdict('x & y', 0.7, 0.8, true, true), verdict('rtt', 1.3, 1.1, false, false)]);
  assert.match(svg, /^<svg [^>]*xmlns="http:\/\/www.w3.org\/2000\/svg"/);
  assert.match(svg, /t &lt;&amp;&gt;/);
  assert.equal((svg.match(/FAIL/g) ?? []).length, 2);
});
