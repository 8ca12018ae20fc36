// Cloudflare workerd adapter: `connect()` from cloudflare:sockets, opened with
// secureTransport 'starttls' so that socket.startTls() can upgrade it in place. Workers cannot
// listen: createListener says so. cloudflare:sockets is imported lazily through a computed
// specifier, so bundles for other runtimes never reference it.
//
// TLS (measured on workerd 1.20261117.1, see docs/tls-sasl.md "TLS under workerd"): startTls() verifies the
// listener's certificate against the trust store of the network service the Worker's
// globalOutbound names (its tlsOptions.trustedCertificates), for every compatibility date and
// flag, with or without plaintext exchanged first, and checks it against the hostname given to
// connect() (an IP SAN for an IP address). It proceeds only once both stream locks are released
// and no read is pending (else its `opened` never settles): WebStreamsTransport hands the
// streams over in that state. A failed handshake rejects `opened` with only "internal error;
// reference = ..."; the cause (UnknownIssuer, BadSignature, not valid for name) is in workerd's log.
import { BeepError } from '../errors.js';
import { isIpAddress } from '../util/ip.js';
import type { Transport, TransportFactory } from './transport.js';
import { WebStreamsTransport } from './web-streams.js';

/** The part of a cloudflare:sockets Socket we use. */
export interface CfSocket {
  /** Octets from the peer. */
  readonly readable: ReadableStream<Uint8Array>;
  /** Octets to the peer. */
  readonly writable: WritableStream<Uint8Array>;
  /** Settles once the connection is up (rejects when it cannot be made, or a TLS handshake fails). */
  readonly opened: Promise<{
    /** The peer's address, when workerd tells. */
    remoteAddress?: string;
    /** Our address, when workerd tells. */
    localAddress?: string;
  }>;
  /** Closes both directions. */
  close(): Promise<void>;
  /** Upgrades the connection to TLS in place and returns the encrypted socket (needs secureTransport 'starttls'). */
  startTls(options?: { expectedServerHostname?: string }): CfSocket;
}

/** cloudflare:sockets' connect. */
export type CfConnect = (
  address: { hostname: string; port: number },
  o: { secureTransport: 'starttls' | 'off' | 'on'; allowHalfOpen?: boolean },
) => CfSocket;

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
      const t = new WebStreamsTransport(
        sock.opened.then(() => sock),
        {
          kind: 'workerd',
          remote: { host, port },
          close: () => {
            void sock.close().catch(() => {});
          },
          upgradeTls: async (side) => {
            if ('server' in side) throw new BeepError('workerd cannot accept TLS', 'BEEP_ERR_TLS');
            if (side.ca !== undefined || side.cert !== undefined || side.key !== undefined || !side.rejectUnauthorized) {
              // workerd verifies against its own trust store (configured per service), nothing else.
              throw new BeepError(
                'workerd startTls takes no ca/cert/key and always verifies: configure trusted certificates in workerd',
                'BEEP_ERR_TLS',
              );
            }
            // workerd checks the certificate against the host connected to. Another name (a
            // serverName that is not that host) goes as expectedServerHostname, which local workerd
            // honours but logs as unsupported, and which Cloudflare's runtime may refuse (TypeError).
            const name = side.serverName !== undefined && side.serverName !== host ? side.serverName : undefined;
            try {
              sock = name === undefined ? sock.startTls() : sock.startTls({ expectedServerHostname: name });
            } catch (e) {
              throw new BeepError(
                `workerd refused startTls${name === undefined ? '' : ` with serverName ${name} (not the host connected to, ${host}): connect to the name the certificate carries, or leave serverName unset`}: ${(e as Error)?.message ?? String(e)}`,
                'BEEP_ERR_TLS',
                { cause: e },
              );
            }
            try {
              await sock.opened;
            } catch (e) {
              throw new BeepError(
                `TLS handshake with ${host}:${port} failed under workerd (${(e as Error)?.message ?? String(e)}); workerd's log gives the reason next to wdErrId = that reference: ` +
                  `UnknownIssuer or BadSignature: the certificate does not chain to a CA in tlsOptions.trustedCertificates of the network service the Worker's globalOutbound names; ` +
                  `"not valid for name": the certificate does not carry ${name ?? host}${name === undefined && isIpAddress(host) ? ' as an IP address SAN' : ''}`,
                'BEEP_ERR_TLS',
                { cause: e },
              );
            }
            // workerd verified the chain and the name, or `opened` rejected (see the top of this file).
            return { readable: sock.readable, writable: sock.writable, info: { verified: true } };
          },
        },
      );
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
