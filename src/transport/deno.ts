// Deno adapter: Deno.connect / Deno.listen / Deno.startTls over the Web Streams transport. Uses
// only the Deno global (no imports), so it is safe in every bundle. Deno has no listener-side
// in-place TLS upgrade: a Deno listener refuses TLS starts (421) rather than pretend.
import { BeepError } from '../errors.js';
import type { Transport, TransportFactory, TransportServer, TransportAddress, TlsInfo } from './transport.js';
import { WebStreamsTransport } from './web-streams.js';

/** The part of a Deno.Conn we use. */
interface DenoConn {
  readonly readable: ReadableStream<Uint8Array>;
  readonly writable: WritableStream<Uint8Array>;
  readonly remoteAddr: { hostname?: string; port?: number };
  readonly localAddr: { hostname?: string; port?: number };
  close(): void;
  setNoDelay?(on?: boolean): void;
  handshake?(): Promise<{ alpnProtocol: string | null }>;
}

/** The part of the Deno namespace we use. */
interface DenoNs {
  connect(o: { hostname: string; port: number; transport?: 'tcp' }): Promise<DenoConn>;
  listen(o: { hostname: string; port: number; transport?: 'tcp' }): AsyncIterable<DenoConn> & { addr: { port?: number }; close(): void };
  startTls(conn: DenoConn, o: { hostname?: string; caCerts?: string[] | undefined }): Promise<DenoConn>;
}

function deno(): DenoNs {
  return (globalThis as unknown as { Deno: DenoNs }).Deno;
}

function addr(a: { hostname?: string; port?: number } | undefined): TransportAddress | undefined {
  return a?.hostname === undefined ? undefined : { host: a.hostname, port: a.port ?? 0 };
}

/** Wraps a Deno.Conn (connected or accepted). */
function wrap(conn: DenoConn | Promise<DenoConn>): WebStreamsTransport {
  let current: DenoConn | undefined;
  let t: WebStreamsTransport | undefined;
  const ready = Promise.resolve(conn).then((c) => {
    current = c;
    try {
      c.setNoDelay?.(true);
    } catch {
      /* not a TCP conn */
    }
    if (t !== undefined) {
      t.remote = addr(c.remoteAddr);
      t.local = addr(c.localAddr);
    }
    return c;
  });
  t = new WebStreamsTransport(ready, {
    kind: 'deno',
    close: () => {
      try {
        current?.close();
      } catch {
        /* already closed */
      }
    },
    upgradeTls: async (side) => {
      if ('server' in side) throw new BeepError('Deno has no listener-side in-place TLS upgrade', 'BEEP_ERR_TLS');
      if (side.cert !== undefined || side.key !== undefined)
        throw new BeepError('Deno.startTls takes no client certificate', 'BEEP_ERR_TLS');
      if (!side.rejectUnauthorized) throw new BeepError('Deno.startTls always verifies the certificate (pass `ca`)', 'BEEP_ERR_TLS');
      const tls = await deno().startTls(current!, { hostname: side.serverName ?? side.host, caCerts: side.ca });
      current = tls;
      await tls.handshake?.();
      // Deno.startTls verifies the chain and the name (rejectUnauthorized false is refused above):
      // a handshake that completed was verified.
      const info: TlsInfo = { verified: true };
      return { readable: tls.readable, writable: tls.writable, info };
    },
  });
  return t;
}

/** The Deno adapter (uses the global Deno namespace). */
export function denoTransport(): TransportFactory {
  return {
    kind: 'deno',
    serverTls: false,
    connect(host: string, port: number): Transport {
      return wrap(deno().connect({ hostname: host, port, transport: 'tcp' }));
    },
    async listen(host: string, port: number, accepted: (t: Transport) => void, onError: (e: Error) => void): Promise<TransportServer> {
      const l = deno().listen({ hostname: host, port, transport: 'tcp' });
      let open = true;
      void (async () => {
        try {
          for await (const c of l) accepted(wrap(c));
        } catch (e) {
          if (open) onError(e instanceof Error ? e : new Error(String(e)));
        }
      })();
      return {
        port: l.addr.port ?? port,
        close: async () => {
          open = false;
          try {
            l.close();
          } catch {
            /* closed */
          }
        },
      };
    },
  };
}
