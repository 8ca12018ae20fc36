// The matrix report (scripts/matrix/report.mjs): the README's compact table is derived from the
// same results as the full table, and says exactly which peers a count was against.
import { test } from 'node:test';
import assert from 'node:assert/strict';

interface Report {
  summary(r: unknown, rt: string): { asClient: string; asListener: string };
  renderReadme(r: unknown, runtimes: string[]): string;
  renderDoc(r: unknown, scenarios: string[], wsScenarios: string[]): string;
}
const report = (await import(new URL('../../../scripts/matrix/report.mjs', import.meta.url).href)) as Report;

const ok = (name: string): object => ({ name, ok: true, detail: 'fine', ms: 3 });
const bad = (name: string): object => ({ name, ok: false, detail: 'broken | pipe', ms: 4 });
const results = {
  date: '2026-01-01',
  machine: { cpu: 'CPU', cores: 2, release: '6.0', platform: 'linux' },
  versions: { node: 'v20', deno: 'deno 2', workerd: 'workerd x' },
  short: { node: 'v20', deno: '2', workerd: 'x' },
  listeners: {
    node: { ok: true, port: 1 },
    deno: { ok: true, port: 2 },
    workerd: { ok: false, summary: 'cannot listen (workerd)', detail: 'createListener: no' },
  },
  cells: [
    { client: 'node', listener: 'node', outcomes: [ok('a'), ok('b')] },
    { client: 'node', listener: 'deno', outcomes: [ok('a'), ok('b')] },
    { client: 'deno', listener: 'node', outcomes: [ok('a'), bad('b')] },
    { client: 'deno', listener: 'deno', outcomes: [ok('a'), ok('b')] },
    { client: 'workerd', listener: 'node', outcomes: [ok('a'), ok('b')] },
    { client: 'workerd', listener: 'deno', outcomes: [ok('a'), ok('b')] },
  ],
  ws: {
    listeners: {
      node: { ok: true, port: 3 },
      deno: { ok: false, summary: 'not offered (beepwire: Node only)', detail: 'createListener: needs Node' },
      workerd: { ok: false, summary: 'cannot listen (workerd)', detail: 'createListener: no' },
    },
    cells: [
      { client: 'node', listener: 'node', outcomes: [{ ...ok('w'), detail: 'released (`ws` package)' }] },
      { client: 'deno', listener: 'node', outcomes: [{ ...ok('w'), detail: 'released (WHATWG WebSocket)' }] },
      { client: 'workerd', listener: 'node', outcomes: [bad('w')] },
    ],
  },
  tlsLoop: { passed: 500, total: 500, ms: 9, errors: [], against: 'node' },
  totalMs: 1000,
};

test('runtime summaries group peers with the same count', () => {
  assert.deepEqual(report.summary(results, 'node'), {
    asClient: '2/2 against node, deno',
    asListener: '2/2 from node, workerd; 1/2 from deno',
    wsClient: '1/1 against node',
    wsListener: '1/1 from node, deno; 0/1 from workerd',
  });
  assert.deepEqual(report.summary(results, 'deno'), {
    asClient: '1/2 against node; 2/2 against deno',
    asListener: '2/2 from node, deno, workerd',
    wsClient: '1/1 against node',
    wsListener: 'not offered (beepwire: Node only)',
  });
  assert.deepEqual(report.summary(results, 'workerd'), {
    asClient: '2/2 against node, deno',
    asListener: 'cannot listen (workerd)',
    wsClient: '0/1 against node',
    wsListener: 'cannot listen (workerd)',
  });
});

test('README section and full table', () => {
  const readme = report.renderReadme(results, ['node', 'deno', 'workerd']);
  assert.match(
    readme,
    /^\| workerd x \| 2\/2 against node, deno \| cannot listen \(workerd\) \| 0\/1 against node \| cannot listen \(workerd\) \|$/m,
  );
  assert.match(readme, /\*\*500\/500\*\*/);
  const doc = report.renderDoc(results, ['a', 'b'], ['w']);
  assert.match(doc, /^\| deno \| node \| pass 3 ms \| \*\*FAIL\*\* 4 ms \| 1\/2 \|$/m);
  assert.match(doc, /^\| deno \| node \| b \| broken \\\| pipe \|$/m); // a '|' in a reason stays in its cell
  assert.match(doc, /CPU, 2 cores, linux 6\.0, Node v20, 2026-01-01/);
  assert.match(doc, /^\| deno \| not offered \(beepwire: Node only\): createListener: needs Node \|$/m);
  assert.match(doc, /^\| client \| listener \| w \| passed \|$/m);
  assert.match(doc, /^\| workerd \| node ws:\/\/ \| \*\*FAIL\*\* 4 ms \| 0\/1 \|$/m);
  assert.match(doc, /^\| workerd \| node ws:\/\/ \| all \| broken \\\| pipe \|$/m); // listed with the failures
  assert.match(doc, /^\| deno \| node ws:\/\/ \| released \(WHATWG WebSocket\) \|$/m); // WebSocket as used
});
