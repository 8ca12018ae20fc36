// Picks the transport adapter of the runtime we run on. Adapters that need a runtime's own
// modules (node:net, cloudflare:sockets) load them lazily, so importing beepwire stays portable.
import { BeepError } from '../errors.js';
import type { TransportFactory } from './transport.js';
import { loadNodeTransport } from './node.js';
import { denoTransport } from './deno.js';
import { loadWorkerdTransport } from './workerd.js';

let chosen: TransportFactory | undefined;

/** Makes `factory` the default transport of every context without its own (undefined: detect again). */
export function setTransport(factory: TransportFactory | undefined): void {
  chosen = factory;
}

/** Name of the runtime, as the adapters see it. */
export function runtimeName(): 'deno' | 'bun' | 'workerd' | 'node' | 'unknown' {
  const g = globalThis as { Deno?: unknown; Bun?: unknown; process?: { versions?: { node?: string } }; navigator?: { userAgent?: string } };
  if (g.Deno !== undefined) return 'deno';
  if (g.Bun !== undefined) return 'bun';
  if (g.navigator?.userAgent === 'Cloudflare-Workers') return 'workerd';
  if (g.process?.versions?.node !== undefined) return 'node';
  return 'unknown';
}

/**
 * Deno: connections over Deno.connect and Deno.startTls; listeners over Deno's node:net and
 * node:tls, because Deno's own API has no listener-side in-place TLS upgrade (denoTransport()
 * alone listens with Deno.listen and refuses TLS starts with 421).
 */
async function denoDefault(): Promise<TransportFactory> {
  const native = denoTransport();
  const node = await loadNodeTransport().catch(() => undefined);
  if (node?.listen === undefined) return native;
  return { kind: 'deno', serverTls: true, connect: native.connect, listen: node.listen };
}

/**
 * The transport for this runtime: the one set with setTransport(), else Deno's own sockets on
 * Deno (listeners: see denoDefault), cloudflare:sockets on workerd, node:net on Node and Bun. Elsewhere (a browser) there
 * is no TCP: pass a WebSocket or stream-pair transport.
 */
export async function runtimeTransport(): Promise<TransportFactory> {
  if (chosen !== undefined) return chosen;
  switch (runtimeName()) {
    case 'deno':
      return denoDefault();
    case 'workerd':
      return loadWorkerdTransport();
    case 'node':
    case 'bun':
      return loadNodeTransport();
    default:
      throw new BeepError(
        'this runtime has no TCP transport: pass one (ctx option `transport`, or setTransport())',
        'BEEP_ERR_NO_TRANSPORT',
      );
  }
}
