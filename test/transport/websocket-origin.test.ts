// The Origin header of the ws:// upgrade request sent by the `ws`-based client: noPoll
// (LibVortex's WebSocket listener) closes a handshake that lacks one, so the client sends
// http(s)://host:port by default, and the `origin` option replaces it.
import assert from 'node:assert/strict';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Ctx, Connection } from '../../src/index.js';
import { testNeeding } from '../runtime-limits.js';

/** Answers every upgrade request with 403 and reports the request's headers. */
async function recordUpgrade(connect: (port: number) => Promise<unknown>): Promise<IncomingHttpHeaders> {
  const server = createServer();
  const seen = new Promise<IncomingHttpHeaders>((resolve) => {
    server.on('upgrade', (req, socket) => {
      resolve(req.headers);
      socket.end('HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  try {
    const [headers] = await Promise.all([seen, connect(port)]);
    return headers;
  } finally {
    server.close();
  }
}

testNeeding('ws-client-origin', 'the ws client sends Origin http://host:port by default', async () => {
  const ctx = new Ctx();
  const headers = await recordUpgrade(async (port) => {
    const conn = await Connection.connect(ctx, `ws://127.0.0.1:${port}/beep`, { connectTimeout: 5000 });
    assert.equal(conn.isOk(), false); // refused with 403: no session
    return conn;
  });
  assert.equal(headers.origin, `http://127.0.0.1:${headers.host?.split(':')[1]}`);
  await ctx.exit();
});

testNeeding('ws-client-origin', 'the origin option replaces the default Origin', async () => {
  const ctx = new Ctx();
  const headers = await recordUpgrade((port) =>
    Connection.connect(ctx, `ws://127.0.0.1:${port}/`, { connectTimeout: 5000, websocket: { origin: 'http://example.test' } }),
  );
  assert.equal(headers.origin, 'http://example.test');
  await ctx.exit();
});
