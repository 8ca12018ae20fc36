// XML-RPC over BEEP (RFC 3529) over loopback: boot, resources, faults, malformed calls.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Ctx, Connection, createListener, xmlrpc } from '../src/index.js';

const LOCAL = '127.0.0.1';

async function server(): Promise<{ ctx: Ctx; port: number }> {
  const ctx = new Ctx();
  xmlrpc.acceptXmlRpc(ctx, {
    acceptResource: (r) => r.startsWith('/api'),
    methods: {
      echo: (params) => params,
      where: (_p, info) => info.resource,
      refuse: () => {
        throw new xmlrpc.XmlRpcFault(4, 'Too many parameters.');
      },
      broken: () => {
        throw new Error('handler exploded');
      },
      slow: async ([ms]) => {
        await new Promise((r) => setTimeout(r, ms as number));
        return ms as number;
      },
    },
  });
  const l = await createListener(ctx, LOCAL, 0);
  return { ctx, port: l.port };
}

test('XML-RPC: boot a resource, call, get results in call order', async () => {
  const s = await server();
  const conn = await Connection.connect(new Ctx(), LOCAL, s.port);
  const ch = (await xmlrpc.bootChannel(conn, { resource: '/api/v1' }))!;
  assert.ok(ch);
  assert.equal(ch.profile, xmlrpc.XMLRPC_URI);
  assert.equal(await xmlrpc.invoke(ch, 'where'), '/api/v1');
  const value = { list: [1, 'two', new Uint8Array([3])], flag: true, none: null };
  assert.deepEqual(await xmlrpc.invoke(ch, 'echo', [value]), [value]);
  // Replies come back in MSG order even when the handlers finish out of order.
  const r = await Promise.all([xmlrpc.invoke(ch, 'slow', [40]), xmlrpc.invoke(ch, 'slow', [1])]);
  assert.deepEqual(r, [40, 1]);
  assert.ok(await conn.close());
  await s.ctx.exit();
});

test("XML-RPC: faults — the handler's own, unknown method, a crash, a malformed call", async () => {
  const s = await server();
  const conn = await Connection.connect(new Ctx(), LOCAL, s.port);
  const ch = (await xmlrpc.bootChannel(conn, { resource: '/api' }))!;
  const fault = async (p: Promise<unknown>): Promise<[number, string]> => {
    try {
      await p;
    } catch (e) {
      assert.ok(e instanceof xmlrpc.XmlRpcFault, String(e));
      return [e.faultCode, e.faultString];
    }
    throw new Error('expected a fault');
  };
  assert.deepEqual(await fault(xmlrpc.invoke(ch, 'refuse')), [4, 'Too many parameters.']);
  assert.deepEqual(await fault(xmlrpc.invoke(ch, 'nope')), [xmlrpc.FAULT.methodNotFound, 'method nope not found']);
  assert.deepEqual(await fault(xmlrpc.invoke(ch, 'broken')), [xmlrpc.FAULT.internal, 'handler exploded']);
  const raw = await ch.request('<methodCall><methodName>echo</methodName><params><param><value><i4>x</i4>');
  assert.equal(raw.type, 'RPY');
  assert.match(raw.text, /<name>faultCode<\/name><value><i4>-32700<\/i4>/);
  assert.equal(await xmlrpc.invoke(ch, 'where'), '/api', 'the channel goes on after faults');
  assert.ok(await conn.close());
  await s.ctx.exit();
});

test('XML-RPC: a refused resource (550), a malformed bootmsg (501), boot by MSG, the RFC 3529 URI', async () => {
  const s = await server();
  const conn = await Connection.connect(new Ctx(), LOCAL, s.port);
  assert.equal(await xmlrpc.bootChannel(conn, { resource: '/private' }), null);
  assert.equal(conn.popChannelError()?.[0], 550);
  assert.equal(await conn.openChannel(0, xmlrpc.XMLRPC_URI, { content: '<bootmsg />' }), null);
  assert.equal(conn.popChannelError()?.[0], 501);
  // No piggyback: the bootmsg comes as the first MSG.
  const byMsg = (await conn.openChannel(0, xmlrpc.XMLRPC_TRANSIENT_URI))!;
  assert.equal(byMsg.profile, xmlrpc.XMLRPC_TRANSIENT_URI);
  assert.equal((await byMsg.request("<bootmsg resource='/api/x' />")).text, '<bootrpy />');
  assert.equal(await xmlrpc.invoke(byMsg, 'where'), '/api/x');
  const refused = (await conn.openChannel(0, xmlrpc.XMLRPC_URI))!;
  const err = await refused.request("<bootmsg resource='/other' />");
  assert.equal(err.type, 'ERR');
  assert.match(err.text, /code='550'/);
  assert.ok(await conn.close());
  await s.ctx.exit();
});

test('XML-RPC: a call above maxCallSize ends the session before it is buffered or parsed', async () => {
  const ctx = new Ctx();
  const conns: Connection[] = [];
  xmlrpc.acceptXmlRpc(ctx, { methods: { echo: (p) => p }, maxCallSize: 4096 });
  const l = await createListener(ctx, LOCAL, 0, { onAccept: (c) => conns.push(c) });
  const conn = await Connection.connect(new Ctx(), LOCAL, l.port);
  const ch = (await xmlrpc.bootChannel(conn, { resource: '/' }))!;
  assert.deepEqual(await xmlrpc.invoke(ch, 'echo', ['x'.repeat(3000)]), ['x'.repeat(3000)], 'below the limit: served');
  await assert.rejects(xmlrpc.invoke(ch, 'echo', ['x'.repeat(5000)]));
  const server = conns[0];
  assert.ok(server, 'the listener accepted the connection');
  for (let i = 0; i < 200 && server.isOk(); i++) await new Promise((r) => setTimeout(r, 10));
  assert.equal((server.error as { code?: string } | undefined)?.code, 'BEEP_ERR_MESSAGE_TOO_LARGE');
  await ctx.exit();
});

test('XML-RPC: maxCallSize defaults to 1 MiB', async () => {
  const ctx = new Ctx();
  const conns: Connection[] = [];
  xmlrpc.acceptXmlRpc(ctx, { methods: { echo: (p) => p } });
  const l = await createListener(ctx, LOCAL, 0, { onAccept: (c) => conns.push(c) });
  const conn = await Connection.connect(new Ctx(), LOCAL, l.port);
  const ch = (await xmlrpc.bootChannel(conn, { resource: '/' }))!;
  await assert.rejects(xmlrpc.invoke(ch, 'echo', ['x'.repeat((1 << 20) + 10)]));
  const server = conns[0];
  assert.ok(server, 'the listener accepted the connection');
  for (let i = 0; i < 200 && server.isOk(); i++) await new Promise((r) => setTimeout(r, 10));
  assert.equal((server.error as { code?: string } | undefined)?.code, 'BEEP_ERR_MESSAGE_TOO_LARGE');
  await ctx.exit();
});

test('XML-RPC: DOCTYPE and entity declarations are refused with a parse fault, nothing expanded', async () => {
  const s = await server();
  const conn = await Connection.connect(new Ctx(), LOCAL, s.port);
  const ch = (await xmlrpc.bootChannel(conn, { resource: '/api' }))!;
  const bomb =
    '<?xml version="1.0"?><!DOCTYPE m [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">]>' +
    '<methodCall><methodName>echo</methodName><params><param><value><string>&b;</string></value></param></params></methodCall>';
  const r = await ch.request(bomb);
  assert.equal(r.type, 'RPY');
  assert.match(r.text, /<name>faultCode<\/name><value><i4>-32700<\/i4>/);
  assert.doesNotMatch(r.text, /aaaa/);
  assert.equal(await xmlrpc.invoke(ch, 'where'), '/api');
  assert.ok(await conn.close());
  await s.ctx.exit();
});

test('XML-RPC: a refused boot by MSG answers an escaped <error>', async () => {
  const s = await server();
  const conn = await Connection.connect(new Ctx(), LOCAL, s.port);
  const ch = (await conn.openChannel(0, xmlrpc.XMLRPC_URI))!;
  const err = await ch.request("<bootmsg resource='/x&lt;y&gt;' />");
  assert.equal(err.type, 'ERR');
  assert.match(err.text, /^<error code='550'>resource \/x&lt;y&gt; is not served here<\/error>$/);
  assert.ok(await conn.close());
  await s.ctx.exit();
});
