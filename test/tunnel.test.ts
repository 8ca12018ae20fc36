// TUNNEL profile over loopback: sessions through one and two proxies, refusals with their
// reply codes, a plain TCP final hop, and proxies holding no BEEP state once relaying.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:net';
import { Ctx, Connection, registerProfile, createListener, tunnel } from '../src/index.js';

const ECHO = 'http://beepwire.test/echo';
const LOCAL = '127.0.0.1';

/** A BEEP listener: echo profile, TUNNEL with the given policy. */
async function beepListener(opts: tunnel.AcceptTunnelOptions = {}): Promise<{ ctx: Ctx; port: number }> {
  const ctx = new Ctx();
  registerProfile(ctx, ECHO, {
    frameReceived: (_c, ch, f) => {
      if (f.type === 'MSG') ch.sendRpy(f.payload, undefined, f.msgNo);
    },
  });
  tunnel.acceptTunnel(ctx, opts);
  const l = await createListener(ctx, LOCAL, 0);
  return { ctx, port: l.port };
}

const relayAll = { acceptRelay: () => true };

test('TUNNEL: a session through one proxy runs end to end; the proxy keeps no BEEP session', async () => {
  const end = await beepListener();
  const proxy = await beepListener(relayAll);
  const conn = await tunnel.connect(new Ctx(), [
    { ip4: LOCAL, port: proxy.port },
    { ip4: LOCAL, port: end.port },
  ]);
  assert.ok(conn.isOk(), String(conn.popChannelError()));
  assert.ok(tunnel.isTunnelled(conn));
  assert.ok(conn.remoteProfiles.includes(ECHO), "the greeting is the endpoint's");
  const ch = (await conn.openChannel(0, ECHO))!;
  assert.equal(ch.number, 1, 'channel numbers start again after the tuning reset');
  const big = new Uint8Array(1 << 20).map((_, i) => i * 7);
  assert.deepEqual((await ch.request(big)).payload, big);
  assert.equal((await ch.request('small')).text, 'small');
  assert.equal(proxy.ctx.connections.size, 0, 'both proxy sessions were handed to the relay');
  assert.equal(end.ctx.connections.size, 1);
  const [endConn] = end.ctx.connections;
  assert.ok(endConn !== undefined && tunnel.isTunnelled(endConn));
  assert.ok(await conn.close());
  for (let i = 0; end.ctx.connections.size > 0 && i < 100; i++) await new Promise((r) => setTimeout(r, 10));
  assert.equal(end.ctx.connections.size, 0, 'the release reached the endpoint through the relay');
  await end.ctx.exit();
  await proxy.ctx.exit();
});

test('TUNNEL: two proxies in a row, several sessions at once', async () => {
  const end = await beepListener();
  const p2 = await beepListener(relayAll);
  const p1 = await beepListener(relayAll);
  const conns = await Promise.all(
    [0, 1, 2].map(() =>
      tunnel.connect(new Ctx(), [
        { ip4: LOCAL, port: p1.port },
        { fqdn: 'localhost', port: p2.port },
        { ip4: LOCAL, port: end.port },
      ]),
    ),
  );
  for (const [i, conn] of conns.entries()) {
    assert.ok(conn.isOk(), String(conn.popChannelError()));
    const ch = (await conn.openChannel(0, ECHO))!;
    assert.equal((await ch.request(`session ${i}`)).text, `session ${i}`);
  }
  for (const conn of conns) assert.ok(await conn.close());
  for (const l of [end, p2, p1]) await l.ctx.exit();
});

test('TUNNEL refusals carry their reply codes: relaying off (537), next hop down (450), endpoint policy (537)', async () => {
  const end = await beepListener({ acceptEndpoint: () => false });
  const closedProxy = await beepListener();
  const proxy = await beepListener(relayAll);
  const dead = createServer();
  await new Promise<void>((r) => dead.listen(0, LOCAL, r));
  const deadPort = (dead.address() as { port: number }).port;
  await new Promise<void>((r) => dead.close(() => r()));

  const cases: Array<[number, number, RegExp]> = [
    [closedProxy.port, end.port, /relaying is not allowed/],
    [proxy.port, deadPort, /unreachable/],
    [proxy.port, end.port, /endpoint refused by policy/],
  ];
  for (const [via, to, why] of cases) {
    const conn = await tunnel.connect(new Ctx(), [
      { ip4: LOCAL, port: via },
      { ip4: LOCAL, port: to },
    ]);
    assert.equal(conn.isOk(), false);
    const errs: Array<[number, string]> = [];
    for (let e = conn.popChannelError(); e !== null; e = conn.popChannelError()) errs.push(e);
    const all = errs.map(([c, t]) => `${c} ${t}`).join(' | ');
    assert.match(all, why);
    assert.match(all, via === proxy.port && to === deadPort ? /\b450\b/ : /\b537\b/);
  }
  for (const l of [end, closedProxy, proxy]) await l.ctx.exit();
});

test('TUNNEL: a malformed route is refused (501) and the session goes on', async () => {
  const proxy = await beepListener(relayAll);
  const conn = await Connection.connect(new Ctx(), LOCAL, proxy.port);
  assert.equal(await conn.openChannel(0, tunnel.TUNNEL_URI, { content: "<tunnel ip4='127.0.0.1'><tunnel /></tunnel>" }), null);
  assert.equal(conn.popChannelError()?.[0], 501);
  assert.ok(conn.isOk());
  assert.ok(await conn.openChannel(0, ECHO));
  assert.ok(await conn.close());
  await proxy.ctx.exit();
});

test('TUNNEL: a host hop with nothing inside is a plain TCP service, relayed octet for octet', async () => {
  const raw: Server = createServer((s) => s.pipe(s));
  await new Promise<void>((r) => raw.listen(0, LOCAL, r));
  const rawPort = (raw.address() as { port: number }).port;
  const proxy = await beepListener(relayAll);
  const conn = await Connection.connect(new Ctx(), LOCAL, proxy.port);
  const ch = await conn.openChannel(0, tunnel.TUNNEL_URI, { content: `<tunnel ip4='${LOCAL}' port='${rawPort}' />`, tuning: true });
  assert.ok(ch);
  assert.equal(ch.startReply, '<ok />');
  const t = conn.releaseTransport(new Error('test takes the transport'));
  const got: Buffer[] = [];
  t.attach({ data: (d) => got.push(Buffer.from(d)), drain: () => {}, closed: () => {} });
  t.hold(false);
  t.write(new TextEncoder().encode('not BEEP at all\n'));
  for (let i = 0; Buffer.concat(got).length < 16 && i < 200; i++) await new Promise((r) => setTimeout(r, 10));
  assert.equal(Buffer.concat(got).toString(), 'not BEEP at all\n');
  t.abort();
  await proxy.ctx.exit();
  await new Promise<void>((r) => raw.close(() => r()));
});

test('TUNNEL: routes are checked before connecting', () => {
  assert.throws(() => tunnel.routeSpec([{ ip4: LOCAL, port: 1 }]), /a proxy and a destination/);
  assert.throws(() => tunnel.routeSpec([{ ip4: LOCAL, port: 1 }, { ip4: LOCAL }]), /not an allowed combination/);
  assert.deepEqual(tunnel.routeSpec([{ ip4: LOCAL, port: 1 }, { profile: 'urn:x' }]), { hop: { profile: 'urn:x' } });
});

test('TUNNEL: an endpoint drops an initiator that never greets after <ok /> (greetingTimeout)', async () => {
  const ctx = new Ctx({ greetingTimeout: 200 });
  tunnel.acceptTunnel(ctx);
  const l = await createListener(ctx, LOCAL, 0);
  const conn = await Connection.connect(new Ctx(), LOCAL, l.port);
  const ch = await conn.openChannel(0, tunnel.TUNNEL_URI, { content: '<tunnel />', tuning: true });
  assert.equal(ch?.startReply, '<ok />');
  const sock = conn.releaseTransport(new Error('test takes the transport'));
  const closed = new Promise<void>((r) => sock.attach({ data: () => {}, drain: () => {}, closed: () => r() }));
  sock.hold(false);
  let timer: ReturnType<typeof setTimeout> | undefined;
  const outcome = await Promise.race([
    closed.then(() => 'dropped'),
    new Promise<string>((r) => {
      timer = setTimeout(() => r('still open after 3 s'), 3000);
    }),
  ]);
  clearTimeout(timer);
  sock.abort();
  assert.equal(outcome, 'dropped');
  assert.equal(ctx.connections.size, 0);
  await ctx.exit();
});

test('TUNNEL endpoint: a peer that resets TCP after <ok /> does not take the process down', async () => {
  const { watchFaults, greeted, startRaw, settle } = await import('./sasl/hostile.js');
  const watch = watchFaults();
  try {
    const ctx = new Ctx();
    tunnel.acceptTunnel(ctx);
    const conns: Connection[] = [];
    const l = await createListener(ctx, LOCAL, 0, { onAccept: (c) => conns.push(c) });
    const p = await greeted(l.port);
    const r = await startRaw(p, 1, tunnel.TUNNEL_URI, '<tunnel />');
    assert.match(r.payload, /<ok \/>/);
    p.socket.resetAndDestroy();
    const server = conns[0];
    assert.ok(server, 'the listener accepted the connection');
    for (let i = 0; i < 200 && server.isOk(); i++) await settle(1);
    await settle();
    assert.deepEqual(watch.faults, [], 'no uncaught socket error');
    assert.equal(server.isOk(), false);
    assert.equal(ctx.connections.size, 0);
    await ctx.exit();
  } finally {
    watch.stop();
  }
});

test('TUNNEL proxy: a next hop that resets while the <ok /> is pending does not crash the proxy', async () => {
  const { watchFaults, settle } = await import('./sasl/hostile.js');
  const watch = watchFaults();
  try {
    // A plain TCP final hop that resets every connection as soon as it is accepted.
    const rst: Server = createServer((s) => {
      s.on('error', () => undefined);
      s.resetAndDestroy();
    });
    await new Promise<void>((r) => rst.listen(0, LOCAL, r));
    const rstPort = (rst.address() as { port: number }).port;
    const proxy = await beepListener(relayAll);
    for (let i = 0; i < 5; i++) {
      const conn = await Connection.connect(new Ctx(), LOCAL, proxy.port);
      await conn.openChannel(0, tunnel.TUNNEL_URI, { content: `<tunnel ip4='${LOCAL}' port='${rstPort}' />`, tuning: true });
      conn.shutdown();
    }
    await settle();
    assert.deepEqual(watch.faults, []);
    await proxy.ctx.exit();
    await new Promise<void>((r) => rst.close(() => r()));
  } finally {
    watch.stop();
  }
});

test('TUNNEL: a base64 piggyback that is not base64 is refused with 501', async () => {
  const proxy = await beepListener(relayAll);
  const conn = await Connection.connect(new Ctx(), LOCAL, proxy.port);
  assert.equal(await conn.openChannel(0, tunnel.TUNNEL_URI, { content: '@@@@', encoding: 'base64' }), null);
  assert.equal(conn.popChannelError()?.[0], 501);
  assert.ok(conn.isOk());
  assert.ok(await conn.close());
  await proxy.ctx.exit();
});
