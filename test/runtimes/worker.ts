// Matrix client as a Cloudflare Worker (workerd): POST {host, port, cert, key} runs the client
// scenarios through beepwire's public API and answers the outcomes as JSON (with `ws: true`, the
// ws:// scenarios over workerd's global WebSocket); POST /listen tries createListener (with
// `ws: true`, a WebSocket listener) and answers what it said (workerd cannot listen; the
// matrix records that);
// GET answers 'ready' (the driver polls it). The codec module is imported as a Wasm module
// (workerd forbids compiling Wasm from bytes).
import wasm from '../../build/codec.wasm';
import { loadCodec } from '../../src/codec/index.js';
import { runClient, runWsClient, startListener, type MatrixConfig } from './scenarios.js';

loadCodec(wasm);

export default {
  /** Runs the scenarios (POST /), tries to listen (POST /listen), or says it is up (GET). */
  async fetch(req: Request): Promise<Response> {
    if (req.method !== 'POST') return new Response('ready');
    const cfg = (await req.json()) as MatrixConfig & { host: string; port: number; ws?: boolean };
    if (new URL(req.url).pathname === '/listen') {
      const l = await startListener('127.0.0.1', 0, cfg, cfg.ws === true ? { websocket: true } : {});
      const listening = l.isOk();
      if (listening) await l.close();
      return Response.json({ listening, error: l.errorMsg });
    }
    if (cfg.ws === true) return Response.json({ outcomes: await runWsClient(cfg.host, cfg.port) });
    // workerd verifies against the CA its network service trusts (config.capnp), not one passed in.
    return Response.json({ outcomes: await runClient(cfg.host, cfg.port, { ...cfg, ca: undefined }) });
  },
};
