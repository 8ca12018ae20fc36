// The browser demo's server: `node dist/examples/browser/serve.js [--port N] [--ws-port N]`
// (after `npm run build`) prints the page's URL; open it in a browser. Two ports on 127.0.0.1:
// node:http serves the page (examples/browser/index.html, the listener's URL written into it)
// and its module (app.ts with beepwire, bundled by esbuild at start, kept in memory); a beepwire
// listener with `websocket: { share: true }` runs the echo profile for BEEP over WebSocket and,
// on the same port, plain BEEP (`npx beepwire ping 127.0.0.1:<ws port>` works too).
// scripts/browser-test.mjs drives it with Chromium; test/examples-browser.test.ts from Node.
import { createServer, type Server } from 'node:http';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { build } from 'esbuild';
import { Ctx, registerProfile, createListener, type Listener } from '../../src/index.js';
import { PROFILE } from './demo.js';

/** The repository root (this file runs as dist/examples/browser/serve.js). */
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

/** A running demo: the page's URL, the listener's, and how to stop both. */
export interface DemoServer {
  /** http://host:port/ of the page. */
  pageUrl: string;
  /** ws://host:port/beep of the listener. */
  wsUrl: string;
  /** The beepwire listener. */
  listener: Listener;
  /** Octets of the page's bundled module. */
  bundleOctets: number;
  /** Stops the page server and the listener. */
  close(): Promise<void>;
}

/** Bundles app.ts (built: dist/examples/browser/app.js) with beepwire for the browser. */
export async function bundleApp(): Promise<string> {
  const r = await build({
    entryPoints: [fileURLToPath(new URL('./app.js', import.meta.url))],
    bundle: true,
    platform: 'browser',
    format: 'esm',
    target: 'es2022',
    write: false,
    logLevel: 'warning',
  });
  return r.outputFiles[0]!.text; // write: false and one entry point: one output file
}

/** Starts the listener and the page server on `host` (ports 0: any free one). */
export async function startDemoServer(
  opts: { host?: string; port?: number; wsPort?: number; log?: (line: string) => void } = {},
): Promise<DemoServer> {
  const host = opts.host ?? '127.0.0.1';
  const log = opts.log ?? (() => {});
  const bundle = await bundleApp();
  const ctx = new Ctx();
  registerProfile(ctx, PROFILE, {
    frameReceived: (_conn, channel, frame) => {
      if (frame.type === 'MSG') channel.sendRpy(frame.payload, undefined, frame.msgNo);
    },
  });
  const listener = await createListener(ctx, host, opts.wsPort ?? 0, {
    websocket: { share: true },
    onAccept: (conn) => {
      log(
        `session ${conn.id} from ${conn.host}:${conn.port} (${conn.transport.kind === 'websocket' ? 'BEEP over WebSocket' : 'plain BEEP'})`,
      );
      conn.setOnClose((c, err) => log(`session ${c.id} closed${err ? `: ${err.message}` : ''}`));
    },
  });
  if (!listener.isOk()) {
    await ctx.exit();
    throw new Error(`cannot listen on ${host}:${opts.wsPort ?? 0}: ${listener.errorMsg}`);
  }
  const hostInUrl = host.includes(':') ? `[${host}]` : host;
  const wsUrl = `ws://${hostInUrl}:${listener.port}/beep`;
  const page = readFileSync(`${ROOT}examples/browser/index.html`, 'utf8').replace('{{BEEPWIRE_WS_URL}}', wsUrl);
  const http: Server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    const send = (status: number, type: string, body: string): void => {
      res.writeHead(status, { 'Content-Type': type, 'Cache-Control': 'no-store' }).end(req.method === 'HEAD' ? undefined : body);
    };
    if (req.method !== 'GET' && req.method !== 'HEAD') send(405, 'text/plain', 'GET only\n');
    else if (path === '/' || path === '/index.html') send(200, 'text/html; charset=utf-8', page);
    else if (path === '/app.js') send(200, 'text/javascript; charset=utf-8', bundle);
    else send(404, 'text/plain', 'not found\n');
  });
  try {
    await new Promise<void>((resolve, reject) => {
      http.once('error', reject);
      http.listen(opts.port ?? 0, host, () => {
        http.off('error', reject);
        resolve();
      });
    });
  } catch (e) {
    await ctx.exit();
    throw e;
  }
  const { port } = http.address() as { port: number };
  return {
    pageUrl: `http://${hostInUrl}:${port}/`,
    wsUrl,
    listener,
    bundleOctets: bundle.length,
    async close() {
      http.closeAllConnections();
      await new Promise<void>((resolve) => http.close(() => resolve()));
      await ctx.exit();
    },
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { values } = parseArgs({
    options: {
      host: { type: 'string', default: '127.0.0.1' },
      port: { type: 'string', default: '0' },
      'ws-port': { type: 'string', default: '0' },
    },
  });
  const demo = await startDemoServer({
    host: values.host,
    port: Number(values.port),
    wsPort: Number(values['ws-port']),
    log: (line) => console.log(`[listener] ${line}`),
  });
  console.log('beepwire browser demo');
  console.log(`  page:     ${demo.pageUrl}`);
  console.log(`  listener: ${demo.wsUrl} (BEEP over WebSocket; plain BEEP on the same port)`);
  console.log(`  bundle:   ${Math.round(demo.bundleOctets / 1024)} KiB (app.ts + beepwire, esbuild)`);
  console.log('Open the page; Ctrl-C stops.');
  const stop = (): void => {
    void demo.close().then(() => process.exit(0));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}
