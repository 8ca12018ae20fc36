// Hostile clients of the WebSocket listener and of a shared port: oversized and malformed
// upgrade requests, slow ones, plain HTTP, protocol violations after the upgrade, a message over
// maxPayload, resets mid-handshake. Each is refused cleanly (an HTTP status or a close) and the
// process never faults; a plain BEEP and a WebSocket bystander still echo afterwards.
import { before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { WebSocket } from 'ws';
import { Connection, Ctx, createListener } from '../../src/index.js';
import { trusting } from '../transport/ws-peer.js';
import {
  installFaultRecorders,
  startServer,
  echoProfile,
  hostile,
  Peer,
  within,
  sleep,
  ECHO,
  KiB,
  LOCAL,
  type Server,
  type Bystander,
} from './harness.js';

installFaultRecorders();

const HANDSHAKE_MS = 800;
const MAX_PAYLOAD = 64 * KiB;
let shared: Server;
let wsBystander: Bystander;
let wsOnlyBystander: Bystander;

/** A bystander over ws:// (the WebSocket-only listener takes nothing else). */
async function wsBystanderOf(port: number): Promise<Bystander> {
  const conn = await Connection.connect(new Ctx(), `ws://127.0.0.1:${port}/`);
  assert.ok(conn.isOk(), 'ws bystander could not connect');
  const ch = (await conn.openChannel(0, ECHO))!;
  let n = 0;
  return {
    conn,
    ch,
    async echoes() {
      const word = `ws bystander ${++n}`;
      assert.ok(conn.isOk(), `the ws bystander session is gone: ${String(conn.error?.message)}`);
      assert.equal((await within(3000, 'ws bystander round trip', ch.request(word))).text, word);
    },
  };
}

let wsOnlyCtx: Ctx;
let wsOnlyPort = 0;

before(async () => {
  const ws = { detectDelay: 200, handshakeTimeout: HANDSHAKE_MS, maxHeaderSize: 4096, maxPayload: MAX_PAYLOAD };
  // The harness's server: a shared port, with its plain BEEP bystander.
  shared = await startServer(() => {}, {}, { websocket: { ...ws, share: true } });
  wsBystander = await wsBystanderOf(shared.port);
  // A WebSocket-only listener beside it, with a ws bystander.
  wsOnlyCtx = new Ctx();
  echoProfile(wsOnlyCtx);
  const l = await createListener(wsOnlyCtx, LOCAL, 0, { websocket: ws });
  assert.ok(l.isOk(), l.errorMsg);
  wsOnlyPort = l.port;
  wsOnlyBystander = await wsBystanderOf(l.port);
});

after(async () => {
  wsBystander.conn.shutdown();
  wsOnlyBystander.conn.shutdown();
  await shared.close();
  await wsOnlyCtx.exit();
});

/** Writes `request` on a raw connection and collects the answer until the listener closes (bounded). */
async function exchange(port: number, request: string | Buffer, ms = 4000): Promise<{ text: string; closed: boolean }> {
  const p = await Peer.connect(port);
  await p.write(request);
  const closed = await p.closedWithin(ms);
  if (!closed) p.socket.destroy();
  return { text: p.text, closed };
}

const key = (): string => Buffer.from(Array.from({ length: 16 }, (_, i) => i * 7)).toString('base64');
const upgrade = (extra: string[] = [], k: string | null = key()): string =>
  [
    'GET /beep HTTP/1.1',
    'Host: 127.0.0.1',
    'Upgrade: websocket',
    'Connection: Upgrade',
    'Sec-WebSocket-Version: 13',
    ...(k === null ? [] : [`Sec-WebSocket-Key: ${k}`]),
    ...extra,
    '',
    '',
  ].join('\r\n');

/** Both bystanders (plain BEEP on the shared port; WebSocket on both listeners) echo. */
async function everyoneEchoes(): Promise<void> {
  await wsBystander.echoes();
  await wsOnlyBystander.echoes();
}

for (const [name, port] of [
  ['shared port', (): number => shared.port],
  ['WebSocket listener', (): number => wsOnlyPort],
] as const) {
  hostile(
    () => shared,
    `${name}: a 64 KiB request head is answered 431 and closed`,
    async () => {
      const r = await exchange(port(), upgrade([`X-Pad: ${'a'.repeat(64 * KiB)}`]));
      assert.ok(r.closed);
      assert.match(r.text, /^HTTP\/1\.1 431 /);
      await everyoneEchoes();
    },
  );

  hostile(
    () => shared,
    `${name}: a malformed or missing Sec-WebSocket-Key, a wrong version, a non-websocket upgrade: 400 each`,
    async () => {
      for (const req of [
        upgrade([], 'not-base64-of-16-octets'),
        upgrade([], null),
        upgrade([], 'AAAA'),
        upgrade(['Sec-WebSocket-Version: 99']).replace('Sec-WebSocket-Version: 13\r\n', ''),
        upgrade().replace('Upgrade: websocket', 'Upgrade: h2c'),
      ]) {
        const r = await exchange(port(), req);
        assert.ok(r.closed);
        assert.match(r.text, /^HTTP\/1\.1 400 /, JSON.stringify(req));
      }
      await everyoneEchoes();
    },
  );

  hostile(
    () => shared,
    `${name}: garbage after "GET ", and a plain GET (426), are answered and closed`,
    async () => {
      const g = await exchange(port(), Buffer.from('GET \x00\xff\xfe\r\n\r\n', 'latin1'));
      assert.ok(g.closed);
      assert.match(g.text, /^HTTP\/1\.1 400 /);
      const plain = await exchange(port(), 'GET / HTTP/1.1\r\nHost: x\r\n\r\n');
      assert.match(plain.text, /^HTTP\/1\.1 426 /);
      await everyoneEchoes();
    },
  );

  hostile(
    () => shared,
    `${name}: a request head trickled forever is cut after handshakeTimeout`,
    async () => {
      const p = await Peer.connect(port());
      await p.write('GET / HTTP/1.1\r\nHost: x\r\n');
      const t0 = Date.now();
      let closed = false;
      for (let i = 0; i < 60 && !closed; i++) {
        await p.write(`X-${i}: y\r\n`);
        closed = await p.closedWithin(100);
      }
      assert.ok(closed, 'the slow request was cut');
      assert.ok(Date.now() - t0 < HANDSHAKE_MS + 2500, `cut after ${Date.now() - t0} ms`);
      await everyoneEchoes();
    },
  );

  hostile(
    () => shared,
    `${name}: an unmasked client frame after the upgrade ends that session (1002), nobody else's`,
    async () => {
      const p = await Peer.connect(port());
      const k = key();
      await p.write(upgrade([], k));
      const accept = createHash('sha1').update(`${k}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest('base64');
      for (let i = 0; i < 200 && !p.text.includes('\r\n\r\n'); i++) await sleep(5);
      assert.match(p.text, /^HTTP\/1\.1 101 /);
      assert.ok(p.text.includes(`Sec-WebSocket-Accept: ${accept}`));
      await p.write(Buffer.from([0x82, 0x05, 0x52, 0x50, 0x59, 0x20, 0x30])); // unmasked BINARY "RPY 0"
      assert.ok(await p.closedWithin(3000), 'closed');
      assert.ok(p.text.includes('\x88\x02\x03\xea'), 'a close frame with 1002');
      await everyoneEchoes();
    },
  );

  hostile(
    () => shared,
    `${name}: a message over maxPayload closes with 1009`,
    async () => {
      const ws = new WebSocket(`ws://127.0.0.1:${port()}/`, { perMessageDeflate: false });
      await new Promise<void>((res, rej) => {
        ws.once('open', () => res());
        ws.once('error', rej);
      });
      const code = new Promise<number>((res) => ws.once('close', (c: number) => res(c)));
      ws.send(Buffer.alloc(MAX_PAYLOAD + 1, 0x41));
      assert.equal(await within(3000, 'close', code), 1009);
      await everyoneEchoes();
    },
  );

  hostile(
    () => shared,
    `${name}: 40 upgrade requests reset half way, and 40 clients that vanish after the 101`,
    async () => {
      const half = upgrade().slice(0, 60);
      await Promise.all(
        Array.from({ length: 40 }, async () => {
          const p = await Peer.connect(port());
          await p.write(half);
          p.socket.resetAndDestroy();
        }),
      );
      await Promise.all(
        Array.from({ length: 40 }, async () => {
          const ws = new WebSocket(`ws://127.0.0.1:${port()}/`, { perMessageDeflate: false });
          await new Promise<void>((res) => {
            ws.once('open', () => res());
            ws.once('error', () => res());
          });
          ws.terminate();
        }),
      );
      await sleep(100);
      await everyoneEchoes();
    },
  );
}

hostile(
  () => shared,
  'shared port: "GE" then silence is taken for HTTP after detectDelay and cut after handshakeTimeout',
  async () => {
    const p = await Peer.connect(shared.port);
    await p.write('GE');
    assert.ok(await p.closedWithin(HANDSHAKE_MS + 2500), 'cut');
    assert.ok(!p.text.includes('greeting'), 'never greeted as BEEP');
    await everyoneEchoes();
  },
);

hostile(
  () => shared,
  'shared port: a client that connects and leaves during detection costs nothing',
  async () => {
    await Promise.all(
      Array.from({ length: 40 }, async (_, i) => {
        const p = await Peer.connect(shared.port);
        if (i % 2 === 0) p.socket.resetAndDestroy();
        else p.socket.end();
      }),
    );
    await sleep(300);
    await everyoneEchoes();
  },
);

hostile(
  () => shared,
  'shared port: "POST " is not an upgrade: it is BEEP, and BEEP drops it as poorly formed (no HTTP answer)',
  async () => {
    const r = await exchange(shared.port, 'POST / HTTP/1.1\r\nHost: x\r\n\r\n');
    assert.ok(r.closed);
    assert.doesNotMatch(r.text, /HTTP/);
    const a = await within(
      2000,
      'listener session',
      (async () => {
        for (;;) {
          const x = shared.accepted.find((s) => s.done && (s.err as { code?: string })?.code === 'BEEP_ERR_FRAMING');
          if (x) return x;
          await sleep(10);
        }
      })(),
    );
    assert.ok(a);
    await everyoneEchoes();
  },
);

hostile(
  () => shared,
  'shared port with `tls`: a TLS record of garbage and a handshake left half done are dropped',
  async () => {
    const certs = await import('../../src/tls/certs.js');
    const ca = certs.generateCa({ commonName: 'hostile ws CA' });
    const leaf = certs.generateLeaf(ca, { commonName: 'localhost', dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'] });
    const c = new Ctx();
    echoProfile(c);
    const l = await createListener(c, LOCAL, 0, {
      websocket: { share: true, detectDelay: 200, handshakeTimeout: HANDSHAKE_MS, tls: { cert: leaf.cert, key: leaf.key } },
    });
    try {
      const garbage = await exchange(l.port, Buffer.from('\x16\x03\x01\x00\x05hello and more garbage', 'latin1'));
      assert.ok(garbage.closed, 'garbage TLS dropped');
      const p = await Peer.connect(l.port);
      await p.write(Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00, 0x01])); // a ClientHello header, then nothing
      const t0 = Date.now();
      assert.ok(await p.closedWithin(HANDSHAKE_MS + 2500), 'stalled handshake cut');
      assert.ok(Date.now() - t0 >= HANDSHAKE_MS - 300);
      const ok = await Connection.connect(new Ctx(), `wss://127.0.0.1:${l.port}/`, { websocket: trusting(ca.cert) });
      assert.ok(ok.isOk(), 'a real wss client still gets in');
      ok.shutdown();
    } finally {
      await c.exit();
    }
    await everyoneEchoes();
  },
);
