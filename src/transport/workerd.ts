// Cloudflare workerd adapter: `connect()` from cloudflare:sockets, opened with
// secureTransport 'starttls' so that socket.startTls() can upgrade it in place. Workers cannot
// listen: createListener says so. cloudflare:sockets is imported lazily through a computed
// specifier, so bundles for other runtimes never reference it.
import { BeepError } from '../errors.js';
import type { Transport, TransportFactory } from './transport.js';
import { WebStreamsTransport } from './web-streams.js';

/** The part of a cloudflare:sockets Socket we use. */
interface CfSocket {
  readonly readable: ReadableStream<Uint8Array>;
  readonly writable: WritableStream<Uint8Array>;
  readonly opened: Promise<{ remoteAddress?: string; localAddress?: string }>;
  close(): Promise<void>;
  startTls(): CfSocket;
}

/** cloudflare:sockets' connect. */
type CfConnect = (address: { hostname: string; port: number }, o: { secureTransport: 'starttls' | 'off' | 'on'; allowHalfOpen?: boolean }) => CfSocket;

/** Builds the adapter around a `connect` function (cloudflare:sockets', or a test double). */
export function workerdTransport(connect: CfConnect): TransportFactory {
  return {
    kind: 'workerd',
    serverTls: false,
    connect(host: string, port: number): Transport {
      let sock: CfSocket;
      try {
        sock = connect({ hostname: host, port }, { secureTransport: 'starttls', allowHalfOpen: false });
      } catch (e) {
        return new WebStreamsTransport(Promise.reject(e), { kind: 'workerd' });
      }
      const t = new WebStreamsTransport(sock.opened.then(() => sock), {
        kind: 'workerd',
        remote: { host, port },
        close: () => { void sock.close().catch(() => {}); },
        upgradeTls: async (side) => {
          if ('server' in side) throw new BeepError('workerd cannot accept TLS', 'BEEP_ERR_TLS');
          if (side.ca !== undefined || side.cert !== undefined || side.key !== undefined || !side.rejectUnauthorized) {
            // workerd verifies against its own trust store (configured per service), nothing else.
            throw new BeepError('workerd startTls takes no ca/cert/key and always verifies: configure trusted certificates in workerd', 'BEEP_ERR_TLS');
          }
          // The certificate is checked against the host connected to (workerd does not take
          // another expected name).
          sock = sock.startTls();
          await sock.opened;
          return { readable: sock.readable, writable: sock.writable, info: {} };
        },
      });
      return t;
    },
  };
}

let loaded: TransportFactory | undefined;

/** Loads cloudflare:sockets and returns the workerd adapter. */
export async function loadWorkerdTransport(): Promise<TransportFactory> {
  if (loaded === undefined) {
    const load = (m: string): Promise<{ connect: CfConnect }> => import(m);
    loaded = workerdTransport((await load('cloudflare:sockets')).connect);
  }
  return loaded;
}
