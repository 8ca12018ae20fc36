// beepwire's implementation of the LibVortex regression listener contract
// (shared/interop/vortex-regression.md; doc/regression-tests-map.md in LibVortex).
// Run: node dist/test/interop/regression-listener.js [--offset-port=N]
import { parseArgs } from 'node:util';
import { readFile } from 'node:fs/promises';
import { existsSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { nodeTransport } from '../../src/transport/node.js';
import { lacks } from '../runtime-limits.js';
import { ConnectionSlot } from '../../src/api/slot.js';
import {
  Ctx,
  Connection,
  registerProfile,
  unregisterProfile,
  createListener,
  waitListeners,
  tls,
  sasl,
  alive,
  tunnel,
  xmlrpc,
  type Channel,
  type Frame,
  type Listener,
} from '../../src/index.js';
import * as certs from '../../src/tls/certs.js';

/** Base URI of every regression profile. */
export const REG = 'http://iana.org/beep/transient/vortex-regression';
/** The close-in-transit profile. */
export const CLOSE_IN_TRANSIT = 'http://iana.org/beep/transient/close-in-transit';
/** The 4096-octet text the /4 and /close-after-ans-nul-replies profiles slice from. */
export const URI4_MESSAGE =
  `${'This is a large file that contains arbitrary content. '.repeat(75)}This is a large file that contains arbitrary .`.slice(0, 4096);

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const rpy = (ch: Channel, f: Frame, body: string | Uint8Array): boolean => ch.sendRpy(body, undefined, f.msgNo);

/** The commands the base profile understands (vortex-regression-listener.c, frame_received). */
async function base(conn: Connection, ch: Channel, f: Frame): Promise<void> {
  if (f.type !== 'MSG') return;
  const text = f.text;
  if (text === 'GET serverName') {
    rpy(ch, f, conn.serverName ?? '');
    return;
  }
  if (text.startsWith('window_size=')) {
    ch.setWindowSize(Number(text.slice(12)) || 4096);
    rpy(ch, f, 'ok');
    return;
  }
  if (text.startsWith('count bytes: ')) {
    rpy(ch, f, String(f.payload.length - 12));
    return;
  }
  if (text.startsWith('get-fragments')) {
    ch.sendRpy("This is a small test to check fragmented frames with the same message number ...and that's all!", undefined, f.msgNo, {
      fragments: [10, 31, 36],
    });
    return;
  }
  if (text.startsWith('disable-automatic-mime-and-reply-nul')) {
    ch.finalizeAns(f.msgNo, { bare: true });
    return;
  }
  if (text.startsWith('block-connection')) {
    conn.block(true);
    setTimeout(() => conn.shutdown(), 400);
    return;
  }
  if (text.startsWith('unregister profile')) unregisterProfile(conn.ctx, ch.profile); // then echo, as LibVortex
  if (text.startsWith('complete flag limit=10000')) ch.setMessageLimit(10000); // then echo
  if (text.startsWith('get-file-by-feeder-rpy')) {
    rpy(ch, f, await readFile('vortex-regression-client.c'));
    return;
  }
  rpy(ch, f, f.payload); // default: echo
}

/** The base profile: piggyback accepted only if it is the expected base64 text, declared base64. */
const baseHandlers: Parameters<typeof registerProfile>[2] = {
  start: (i) => {
    if (i.serverName === 'reg-test.wrong.local')
      return { code: 554, text: 'Unable to provide services under such serverName: reg-test.wrong.local' };
    if (i.rawContent !== undefined && i.rawContent.length > 0)
      return i.rawContent === 'aGV5IGR1ZGUsIHRoaXMgaXMgYmFzZTY0' && i.encoding === 'base64';
    return true;
  },
  frameReceived: (c, ch, f) => void base(c, ch, f),
};

/** The suite's accounts: ANONYMOUS test@aspl.es, EXTERNAL acinom, bob/secret for the rest. */
function regressionCheck(_c: Connection, p: sasl.AuthProps): boolean | string | null {
  if (p.mech === 'ANONYMOUS') return p.anonymousToken === 'test@aspl.es';
  if (p.mech === 'EXTERNAL') return p.authorizationId === 'acinom' || (p.authorizationId === undefined && p.authId === 'acinom');
  if (p.mech === 'PLAIN') return p.authId === 'bob' && p.password === 'secret';
  return p.authId === 'bob' ? 'secret' : null;
}

type Values = { count: number; fraction: number; status: boolean };
const sum: xmlrpc.MethodHandler = ([a, b]) => (a as number) + (b as number);

/** The XML-RPC services of vortex-regression-client.idl, as its generated service_dispatch serves them. */
const regressionServices: Record<string, xmlrpc.MethodHandler> = {
  sum,
  'aritmetic-operations/basic/sum': sum,
  get_the_string: () => 'This is a test',
  get_the_bool_1: () => false,
  get_the_bool_2: () => true,
  get_double_sum: ([a, b]) => new xmlrpc.XmlRpcDouble((a as number) + (b as number)),
  get_struct: ([a, b]) => {
    const x = a as Values,
      y = b as Values;
    return { count: x.count + y.count, fraction: new xmlrpc.XmlRpcDouble(x.fraction + y.fraction), status: x.status || y.status };
  },
  get_array: () => Array.from({ length: 10 }, (_, i) => ({ position: i, string_position: 'test content' })),
  // Nodes 1..9 linked through `next`; the last one's next is nil.
  get_list: () => {
    let list: xmlrpc.XmlRpcValue = null;
    for (let p = 9; p >= 1; p--) list = { position: p, next: list };
    return list;
  },
};

/** Builds the regression listener context (ports are bound by start()). */
export function regressionCtx(serverCert: certs.CertPair): Ctx {
  const ctx = new Ctx({ maxMessage: 256 << 20 });
  let blockNextTls = false; // set by /block-tls, like the C listener's global flag
  const reg = (suffix: string, h: Parameters<typeof registerProfile>[2]): void => {
    registerProfile(ctx, REG + suffix, h);
  };

  reg('', baseHandlers);
  reg('/zero', { frameReceived: (c, ch, f) => void base(c, ch, f) });
  reg('/stats', {
    frameReceived: async (_c, ch, f) => {
      if (f.type !== 'MSG') return;
      // This listener's own figures in LibVortex's format: one event loop running, no waiting
      // workers, no queued tasks (test_00c1/00c2 ask for a LibVortex thread pool's, and fail).
      if (f.text === 'GET stats') {
        rpy(ch, f, '1,0,0');
        return;
      }
      if (f.text === 'block') await sleep(20);
      rpy(ch, f, f.payload);
    },
  });
  reg('/2', {});
  reg('/3', {
    frameReceived: async (_c, ch, f) => {
      if (f.type !== 'MSG') return;
      rpy(ch, f, '');
      await sleep(10);
      for (const m of ['MSG###1###', 'MSG###2###', 'MSG###3###']) ch.sendMsg(m);
    },
  });
  reg('/4', {
    frameReceived: (_c, ch, f) => {
      if (f.type !== 'MSG') return;
      const [, s, n] = f.text.split(',');
      const body = URI4_MESSAGE.slice(0, Math.min(4096, Number(s)));
      for (let i = 0; i < Number(n); i++) ch.sendAns(body, undefined, f.msgNo);
      ch.finalizeAns(f.msgNo);
    },
  });
  reg('/5', {
    frameReceived: async (_c, ch, f) => {
      if (f.type !== 'MSG') return;
      if (f.text === 'change-mss') {
        rpy(ch, f, f.payload);
        return;
      }
      let file: Uint8Array;
      try {
        file = await readFile(f.text);
      } catch {
        ch.sendErr('Unable to open file requested', undefined, f.msgNo);
        return;
      }
      for (let o = 0; o < file.length; o += 4096) ch.sendAns(file.subarray(o, o + 4096), undefined, f.msgNo);
      ch.finalizeAns(f.msgNo);
    },
  });
  const advertised = (c: Connection): boolean =>
    ['1', '2', '3'].every((k) => c.remoteProfiles.includes(`urn:vortex:regression-test:uri:${k}`));
  reg('/6', { start: (i) => advertised(i.conn) });
  reg('/6bis', { start: (i) => !advertised(i.conn) });
  reg('/simple-ans-nul', {
    frameReceived: (_c, ch, f) => {
      if (f.type !== 'MSG') return;
      if (f.text.startsWith('window_size=')) {
        ch.setWindowSize(Number(f.text.slice(12)) || 4096);
        rpy(ch, f, 'ok');
        return;
      }
      for (let i = 0; i < 30; i++) ch.sendAns(f.payload, undefined, f.msgNo);
      ch.finalizeAns(f.msgNo);
    },
  });
  reg('/ans-nul-wait', {
    frameReceived: async (_c, ch, f) => {
      if (f.type !== 'MSG') return;
      for (const [t, wait] of [
        ['this is a test..', 130],
        ['this is a test..2', 140],
        ['this is a test..3', 150],
        ['this is a test..3', 140],
      ] as const) {
        ch.sendAns(t, undefined, f.msgNo);
        await sleep(wait);
      }
      ch.finalizeAns(f.msgNo);
    },
  });
  let mixing = 0;
  reg('/mixing-replies', {
    frameReceived: (_c, ch, f) => {
      if (f.type !== 'MSG') return;
      if (mixing++ % 2 === 0) {
        ch.sendAns('a reply 1', undefined, f.msgNo);
        ch.sendAns('a reply 2', undefined, f.msgNo);
        ch.finalizeAns(f.msgNo);
      } else rpy(ch, f, 'a reply');
    },
  });
  reg('/fast-send', {});
  reg('/ans-nul-reply-close', {});
  reg('/close-after-ans-nul-replies', {
    frameReceived: async (_c, ch, f) => {
      if (f.type !== 'MSG') return;
      for (let i = 0; i < 10_000; i++) ch.sendAns(URI4_MESSAGE, undefined, f.msgNo);
      ch.finalizeAns(f.msgNo);
      await ch.close();
    },
  });
  reg('/close-after-large-reply', {
    frameReceived: async (c, ch, f) => {
      if (f.type !== 'MSG') return;
      if (f.text === 'send-message') {
        rpy(ch, f, '');
        ch.sendMsg('');
        return;
      }
      rpy(ch, f, new Uint8Array(32767));
      await c.close();
    },
  });
  registerProfile(ctx, CLOSE_IN_TRANSIT, {
    frameReceived: async (_c, ch, f) => {
      if (f.type === 'MSG') {
        rpy(ch, f, '');
        await ch.close();
      }
    },
  });
  reg('/mime', {
    mime: false,
    frameReceived: (_c, ch, f) => {
      if (f.type === 'MSG') rpy(ch, f, f.content);
    },
  });
  const ordered = new WeakMap<Channel, number>();
  reg('/ordered-delivery', {
    frameReceived: (c, ch, f) => {
      if (f.type !== 'MSG') return;
      const expect = ordered.get(ch) ?? 0;
      rpy(ch, f, 'received ok');
      if (f.msgNo !== expect) setTimeout(() => c.shutdown(), 1);
      ordered.set(ch, expect + 1);
    },
  });
  const SUDDENTLY = new ConnectionSlot<string>('suddently');
  reg('/suddently-close', {
    start: (i) => {
      if (i.content === '2') {
        i.conn.shutdown();
        return false;
      }
      i.conn.set(SUDDENTLY, i.content ?? '');
      return true;
    },
    frameReceived: (c) => {
      if (c.get(SUDDENTLY) === '3') c.shutdown();
    },
    close: async (_n, c) => {
      if (c.get(SUDDENTLY) === '1') await sleep(200);
      c.shutdown();
      return false;
    },
  });
  // As vortex-regression-listener.c frame_seqno_exceeded: the expected seqno moves *forward* by
  // the given amount (on top of the octets of this MSG) and the window restarts at that amount
  // with 4096 octets, so a client that positions its own counter the same way can cross 2^32.
  reg('/seqno-exceeded', {
    frameReceived: (_c, ch, f) => {
      if (f.type !== 'MSG') return;
      const add =
        f.text === 'first message'
          ? 2147479552 - 15
          : f.text === 'second message'
            ? 2147475436
            : f.text.startsWith('set-to=')
              ? Number(f.text.slice(7)) >>> 0
              : undefined;
      const ackno = f.text === 'first message' ? 2147479552 : f.text === 'second message' ? 4294967295 - 4095 : add;
      if (add !== undefined && ackno !== undefined) {
        const codec = ch.conn.session.codec,
          r = codec.recvState(ch.number);
        codec.setSeqState(ch.number, (r.next + add) >>> 0, codec.sendState(ch.number).next, { recvAckno: ackno, recvWindow: 4096 });
      }
      rpy(ch, f, f.payload);
    },
  });
  reg('/nothing', {});
  // A listener that accepts TCP but, while locked, never greets (the client's connect timeout
  // must fire); once unlocked it serves BEEP like the main one (LibVortex test_12).
  const fake: { s?: Server; locked: boolean } = { locked: true };
  reg('/fake-listener', {
    frameReceived: async (_c, ch, f) => {
      if (f.type !== 'MSG') return;
      if (f.text === 'create-listener') {
        fake.locked = true;
        const srv = createServer((sock) => {
          if (fake.locked) {
            sock.on('error', () => undefined);
            return;
          }
          Connection.accept(ctx, nodeTransport(sock));
        });
        await new Promise<void>((r) => srv.listen(44012 + offset, '0.0.0.0', () => r()));
        fake.s = srv;
        rpy(ch, f, 'listener created');
      } else if (f.text === 'unlock-listener') {
        fake.locked = false;
        rpy(ch, f, 'listener unlocked');
      } else if (f.text === 'close-listener') {
        fake.s?.close();
        rpy(ch, f, 'listener closed');
      } else rpy(ch, f, f.payload);
    },
  });
  reg('/block-tls', {
    start: () => {
      blockNextTls = true;
      return true;
    },
  }); // the next TLS request is refused
  reg('/deny_supported', { start: () => ({ code: 421, text: 'start always denied by /deny_supported' }) });
  alive.init(ctx);
  // XML-RPC (test_07): the services of vortex-regression-client.idl.
  xmlrpc.acceptXmlRpc(ctx, { methods: regressionServices });
  // TUNNEL (test_13): this listener ends routes and relays them anywhere, as the C listener does.
  tunnel.acceptTunnel(ctx, { acceptRelay: () => true });
  tls.acceptTls(ctx, {
    acceptHandler: async (_c, serverName) => {
      if (serverName === 'test-05-d.server') await sleep(10_000); // the client's TLS timeout checks
      if (blockNextTls) {
        blockNextTls = false;
        return false;
      }
      return true;
    },
    certHandler: () => serverCert.cert,
    keyHandler: () => serverCert.key,
  });
  // EXTERNAL: a loopback test transport vouches for the peer; the handler checks the authzid.
  const externalIdentity = (c: Connection): string => (tls.peerCertificate(c)?.subject?.CN as string | undefined) ?? 'loopback-peer';
  for (const m of ['ANONYMOUS', 'PLAIN', 'CRAM-MD5', 'DIGEST-MD5', 'EXTERNAL', 'SCRAM-SHA-256'])
    sasl.acceptMech(ctx, m, regressionCheck, { allowPlainInClear: true, realm: 'aspl.es', externalIdentity });
  return ctx;
}

/** Profiles that send on their own when a channel opens (fast-send, ans-nul-reply-close). */
function onOpen(ctx: Ctx): void {
  const fast = ctx.profiles.get(`${REG}/fast-send`)!;
  fast.start = (i) => {
    setTimeout(() => {
      const ch = i.conn.getChannel(i.channelNum);
      ch?.sendMsg('message 1');
      ch?.sendMsg('message 2');
    }, 0);
    return true;
  };
  const anc = ctx.profiles.get(`${REG}/ans-nul-reply-close`)!;
  anc.start = (i) => {
    setTimeout(() => i.conn.getChannel(i.channelNum)?.sendMsg('message 1'), 0);
    return true;
  };
}

let offset = 0;

/**
 * Starts the main (44010), second SASL (44011), TUNNEL hop (44110), HTTP CONNECT target (2443),
 * WebSocket (44013), secure WebSocket (44014) and shared-port (44015) listeners with `off` added; `ca` is the CA of the certificate made here (unset: the suite's own).
 */
export async function startRegressionListener(
  off: number,
  host = '0.0.0.0',
): Promise<{ ctx: Ctx; ctx2: Ctx; listeners: Listener[]; ca?: string | undefined }> {
  offset = off;
  // The suite's own test certificate when run in its test/ directory (test_05a2 checks its
  // digest); otherwise one made here. Read at run time, never copied into this repository.
  const own = existsSync('test-certificate.pem') && existsSync('test-private-key.pem');
  const ca = own ? undefined : certs.generateCa();
  const cert =
    ca === undefined
      ? { cert: readFileSync('test-certificate.pem', 'utf8'), key: readFileSync('test-private-key.pem', 'utf8') }
      : certs.generateLeaf(ca, { commonName: 'localhost', dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'] });
  const ctx = regressionCtx(cert);
  onOpen(ctx);
  // Second context (unified SASL API checks): serverName test_06a.server authenticates
  // 12345/12345, anything else the main context's accounts.
  const ctx2 = new Ctx();
  const check2 = (c: Connection, p: sasl.AuthProps): boolean | string | null => {
    if (p.serverName === 'test_06a.server')
      return p.mech === 'PLAIN' ? p.authId === '12345' && p.password === '12345' : p.authId === '12345' ? '12345' : null;
    return regressionCheck(c, p);
  };
  for (const m of ['ANONYMOUS', 'PLAIN', 'CRAM-MD5', 'DIGEST-MD5', 'EXTERNAL', 'SCRAM-SHA-256']) {
    sasl.acceptMech(ctx2, m, check2, { allowPlainInClear: true, realm: 'aspl.es', externalIdentity: () => 'loopback-peer' });
  }
  // Like the C listener's on_accepted: the base profile is (re)registered for every connection,
  // so a client's "unregister profile" lasts until the next connection.
  const reRegister = (conn: Connection): void => {
    if (!ctx.profiles.has(REG)) registerProfile(ctx, REG, baseHandlers);
    // Sessions ended by an error are logged: the interop run keeps the listener's stderr.
    conn.setOnClose((c, e) => {
      if (e !== undefined && process.env.REGRESSION_LISTENER_LOG) console.error(`session ${c.id} ended: ${e.message}`);
    });
  };
  const listeners = [
    await createListener(ctx, host, 44010 + off, { onAccept: reRegister }),
    await createListener(ctx2, host, 44011 + off),
    await createListener(ctx, host, 44110 + off, { onAccept: reRegister }), // the TUNNEL hop of test_13
    await createListener(ctx, host, 2443 + off, { onAccept: reRegister }), // the HTTP CONNECT target of test_16
  ];
  // BEEP over WebSocket, as the C listener serves it with noPoll: ws:// (test_17, test_17a),
  // wss:// (test_18, test_19) and one port shared by plain BEEP, ws:// and wss:// (test_20).
  // Where beepwire has no WebSocket listener (Deno) these ports stay closed.
  if (lacks('ws-listener') === false) {
    listeners.push(
      await createListener(ctx, host, 44013 + off, { onAccept: reRegister, websocket: true }),
      await createListener(ctx, host, 44014 + off, { onAccept: reRegister, websocket: { tls: cert } }),
      await createListener(ctx, host, 44015 + off, { onAccept: reRegister, websocket: { share: true, tls: cert } }),
    );
  }
  for (const l of listeners) if (!l.isOk()) throw new Error(`listener on ${l.port}: ${l.errorMsg}`);
  // IPv6 (tests 02a3, 02a4): [::1]:44016 when the host has IPv6 loopback.
  if (host === '0.0.0.0') {
    const v6 = await createListener(ctx, '::1', 44016 + off, { onAccept: reRegister });
    if (v6.isOk()) listeners.push(v6);
  }
  return { ctx, ctx2, listeners, ca: ca?.cert };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { values } = parseArgs({ options: { 'offset-port': { type: 'string', default: '0' } }, strict: false });
  const off = Number(values['offset-port']);
  const { ctx, ctx2, listeners } = await startRegressionListener(off);
  console.log(`beepwire regression listener on ports ${listeners.map((l) => l.port).join(', ')}`);
  await waitListeners(ctx, { unlockOnSignal: true });
  await ctx.exit();
  await ctx2.exit();
  process.exit(0);
}
