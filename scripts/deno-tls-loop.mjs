// node scripts/deno-tls-loop.mjs [count] — the Deno TLS upgrade loop alone (the matrix runs it
// too): a Node listener, and a Deno client doing Connection.connect + tls.startTls + one echo +
// close `count` times (default 500). Exits non-zero unless every round passed. Needs
// `npm run build`; installs the pinned runtimes like the matrix.
import * as certs from '../dist/src/tls/certs.js';
import { ensureRuntimes } from './matrix/runtimes.mjs';
import { startListenerProc, denoTlsLoop } from './matrix/clients.mjs';
import { stopAll } from './matrix/procs.mjs';

const count = Number(process.argv[2] ?? 500);
ensureRuntimes();
const ca = certs.generateCa();
const leaf = certs.generateLeaf(ca, { commonName: '127.0.0.1', dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'] });
const cfg = Buffer.from(JSON.stringify({ ca: ca.cert, cert: leaf.cert, key: leaf.key })).toString('base64');
let r;
try {
  const { port } = await startListenerProc('node', cfg, 30_000);
  r = await denoTlsLoop(port, count, cfg, 600_000);
} finally {
  stopAll();
}
console.log(`Deno TLS loop: ${r.passed}/${r.total} in ${r.ms} ms${r.errors.length ? `\n${r.errors.join('\n')}` : ''}`);
process.exit(r.passed === count ? 0 : 1);
