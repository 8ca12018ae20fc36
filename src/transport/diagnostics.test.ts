// diagnosticsFrom: Node's diagnostics_channel as is, workerd's (hasSubscribers a method) seen
// through Node's shape, and nothing where getBuiltinModule is absent or refuses.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import dc from 'node:diagnostics_channel';
import { diagnosticsFrom } from './diagnostics.js';

test('Node: the channels of node:diagnostics_channel', () => {
  const of = diagnosticsFrom(process)!;
  const ch = of('beepwire:test:node');
  assert.equal(ch.hasSubscribers, false);
  const got: unknown[] = [];
  const f = (m: unknown): void => {
    got.push(m);
  };
  dc.subscribe('beepwire:test:node', f);
  assert.equal(ch.hasSubscribers, true);
  ch.publish(1);
  dc.unsubscribe('beepwire:test:node', f);
  assert.deepEqual(got, [1]);
  assert.equal(ch.hasSubscribers, false);
});

test('workerd (1.20261117.1): hasSubscribers is a method there, read as Node’s getter', () => {
  let subscribers = 0;
  const published: unknown[] = [];
  const workerdLike = {
    getBuiltinModule: (id: string) =>
      id === 'node:diagnostics_channel'
        ? {
            channel: () => ({
              hasSubscribers(): boolean {
                return subscribers > 0;
              },
              publish: (m: unknown) => published.push(m),
            }),
          }
        : undefined,
  };
  const ch = diagnosticsFrom(workerdLike)!('x');
  assert.equal(ch.hasSubscribers, false);
  subscribers = 1;
  assert.equal(ch.hasSubscribers, true);
  ch.publish('m');
  assert.deepEqual(published, ['m']);
});

test('no process, no getBuiltinModule, or one that throws: undefined', () => {
  assert.equal(diagnosticsFrom(undefined), undefined);
  assert.equal(diagnosticsFrom({}), undefined);
  assert.equal(
    diagnosticsFrom({
      getBuiltinModule: () => {
        throw new Error('not allowed');
      },
    }),
    undefined,
  );
  assert.equal(diagnosticsFrom({ getBuiltinModule: () => ({}) }), undefined);
});
