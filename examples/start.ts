// `npm start`: a real listener and client talking BEEP on 127.0.0.1, printing what they exchange.
// `npm start -- --tls`: the same over TLS, with a CA and certificate made on the spot (node-forge).
import { parseArgs } from 'node:util';
import { startListener } from './listener.js';
import { runClient, PROFILE } from './client.js';
import { Ctx, Connection, tls } from '../src/index.js';
import * as certs from '../src/tls/certs.js';

const { values } = parseArgs({ options: { tls: { type: 'boolean', default: false } } });

const { ctx, listener } = await startListener('127.0.0.1', 0, (s) => console.log(`[listener] ${s}`));
if (!listener.isOk()) {
  console.error(`listener failed: ${listener.errorMsg}`);
  process.exit(1);
}
console.log(`[listener] BEEP listener on 127.0.0.1:${listener.port}`);

let ok: boolean;
if (!values.tls) {
  const frame = await runClient('127.0.0.1', listener.port, (s) => console.log(`[client]   ${s}`));
  console.log(frame ? `[client]   reply ${frame.toString()} — session released cleanly` : '[client]   failed');
  ok = frame !== null;
} else {
  const ca = certs.generateCa({ commonName: 'beepwire demo CA' });
  const leaf = certs.generateLeaf(ca, { commonName: 'localhost', dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'] });
  console.log(`[listener] certificate CN=localhost, SHA-256 ${certs.fingerprint256(leaf.cert)}`);
  tls.acceptTls(ctx, { certHandler: () => leaf.cert, keyHandler: () => leaf.key });
  const conn = await Connection.connect(new Ctx(), '127.0.0.1', listener.port);
  ok = conn.isOk() && (await tls.startTls(conn, { serverName: 'localhost', ca: ca.cert }));
  if (ok) {
    console.log(
      `[client]   TLS up (${tls.isEnabled(conn) ? 'enabled' : 'not enabled'}), peer certificate ${tls.peerCertificateDigest(conn)}`,
    );
    const channel = (await conn.openChannel(0, PROFILE))!;
    const reply = await channel.request('This is a test over TLS');
    console.log(`[client]   Frame received, type: ${reply.type}`);
    console.log(`[client]   Frame content: ${reply.text}`);
    ok = (await conn.close()) && reply.text === 'This is a test over TLS';
    console.log(ok ? '[client]   session released cleanly' : '[client]   failed');
  } else {
    for (let e = conn.popChannelError(); e; e = conn.popChannelError()) console.log(`[client]   ERROR: ${e[0]}: ${e[1]}`);
  }
}
await ctx.exit();
process.exit(ok ? 0 : 1);
