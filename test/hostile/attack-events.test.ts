// Diagnostic receivers that act: a logger or a diagnostics_channel subscriber that shuts the
// connection down from inside an event (a blocklist on connection:open, say). Events are
// synchronous, so the engine is in the middle of its work when the receiver runs; whatever the
// receiver does, the API must answer as it does for any other ended session (isOk() false,
// openChannel null), never with an internal exception.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import dc from 'node:diagnostics_channel';
import { Ctx, Connection, registerProfile, createListener, diagnosticsAvailable, type BeepEvent } from '../../src/index.js';
import { watchFaults } from '../sasl/hostile.js';

const ECHO = 'http://beepwire.test/echo';
const TYPES = ['connection:open', 'connection:ready', 'channel:start'] as const;

/** A listener with an echo profile, reporting handler faults into `faults`. */
async function echoListener(ctx: Ctx, faults: string[]): Promise<number> {
  ctx.setOnError((e) => faults.push(e.message));
  registerProfile(ctx, ECHO, {
    frameReceived: (_c, ch, f) => {
      if (f.type === 'MSG') ch.sendRpy(f.payload, f.payloadSize, f.msgNo);
    },
  });
  return (await createListener(ctx, '127.0.0.1', 0)).port;
}

/** Connects and tries one echo; what the initiator saw. */
async function attempt(ctx: Ctx, port: number): Promise<{ ok: boolean; echoed: boolean }> {
  const conn = await Connection.connect(ctx, '127.0.0.1', port);
  const ch = conn.isOk() ? await conn.openChannel(0, ECHO) : null;
  const echoed =
    ch !== null &&
    (await ch.request('x').then(
      (f) => f.text === 'x',
      () => false,
    ));
  const ok = conn.isOk();
  conn.shutdown();
  return { ok, echoed };
}

for (const type of TYPES) {
  test(`an initiator logger that shuts the connection down on ${type}: connect and openChannel answer, nothing throws`, async () => {
    const watch = watchFaults();
    const server = new Ctx();
    const faults: string[] = [];
    const port = await echoListener(server, faults);
    try {
      const client = new Ctx({
        logger: (e: BeepEvent) => {
          if (e.type === type && 'conn' in e && e.conn !== undefined) e.conn.shutdown();
        },
      });
      const r = await attempt(client, port);
      assert.deepEqual(r, { ok: false, echoed: false });
      await client.exit();
    } finally {
      await server.exit();
      watch.stop();
    }
    assert.deepEqual(watch.faults, []);
  });
}

test('a listener logger that shuts each connection down on connection:open: no fault reported, the listener goes on', async () => {
  const watch = watchFaults();
  const server = new Ctx();
  const faults: string[] = [];
  const port = await echoListener(server, faults);
  server.setLogger((e) => {
    if (e.type === 'connection:open') e.conn.shutdown();
  });
  try {
    for (let i = 0; i < 2; i++) assert.deepEqual(await attempt(new Ctx(), port), { ok: false, echoed: false });
  } finally {
    await server.exit();
    watch.stop();
  }
  assert.deepEqual(faults, [], 'the application did nothing wrong: no BEEP_ERR_HANDLER');
  assert.deepEqual(watch.faults, []);
});

test('a diagnostics_channel subscriber that shuts connections down on connection:open: connect answers, no exception', async (t) => {
  if (!diagnosticsAvailable) return t.skip('this runtime has no process.getBuiltinModule');
  const watch = watchFaults();
  const server = new Ctx();
  const faults: string[] = [];
  const port = await echoListener(server, faults);
  const client = new Ctx();
  const sub = (m: unknown): void => {
    const e = m as BeepEvent;
    if (e.type === 'connection:open' && e.ctx === client) e.conn.shutdown();
  };
  dc.subscribe('beepwire:connection:open', sub);
  try {
    assert.deepEqual(await attempt(client, port), { ok: false, echoed: false });
    // Other contexts are untouched.
    assert.deepEqual(await attempt(new Ctx(), port), { ok: true, echoed: true });
  } finally {
    dc.unsubscribe('beepwire:connection:open', sub);
    await client.exit();
    await server.exit();
    watch.stop();
  }
  assert.deepEqual(watch.faults, []);
});
