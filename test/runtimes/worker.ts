// Matrix client as a Cloudflare Worker (workerd): POST {host, port, ca, cert, key} runs the
// client scenarios through beepwire's public API and answers the outcomes as JSON. The codec
// module is imported as a Wasm module (workerd forbids compiling Wasm from bytes).
import wasm from '../../build/codec.wasm';
import { loadCodec } from '../../src/codec/index.js';
import { runClient, type MatrixConfig } from './scenarios.js';

loadCodec(wasm);

export default {
  /** Runs the scenarios named in the request body. */
  async fetch(req: Request): Promise<Response> {
    const cfg = (await req.json()) as MatrixConfig & { host: string; port: number };
    // workerd verifies against the CA its network service trusts (config.capnp), not one passed in.
    return Response.json({ outcomes: await runClient(cfg.host, cfg.port, { ...cfg, ca: undefined }) });
  },
};
