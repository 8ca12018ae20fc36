// The seam every runtime plugs into (DESIGN.md "Transports"): a Connection reads and writes
// octets through a Transport and never learns which socket API is underneath. Adapters:
// node.ts (node:net/node:tls: Node, Bun), deno.ts, workerd.ts, web-streams.ts (any runtime
// with a ReadableStream/WritableStream pair), websocket.ts and ws-node.ts (BEEP over
// WebSocket, on message.ts); select.ts picks one per runtime.
import type { SessionIO } from '../session/session.js';

/** One end of a transport. */
export interface TransportAddress {
  /** Host name or IP address. */
  host: string;
  /** Port (0 when the transport has none). */
  port: number;
}

/** Where a transport delivers what happens on it (a session, or a TUNNEL relay). */
export interface TransportSink {
  /**
   * Octets from the peer; the chunk is never reused by the transport. `more`: further chunks
   * are likely in this run (a message transport's messages of one read), so replies and window
   * updates may wait for the end of the run.
   */
  data(chunk: Uint8Array, more?: boolean): void;
  /** Writes may go on after write() returned false. */
  drain(): void;
  /** The transport is gone (`err` set when it failed); called once. */
  closed(err?: Error): void;
}

/** What a TLS upgrade established. */
export interface TlsInfo {
  /** Negotiated protocol ('TLSv1.3', …), when the runtime tells. */
  protocol?: string | undefined;
  /** The peer's certificate, when it sent one and the runtime exposes it. */
  peerCertificate?: PeerCertificateInfo;
  /**
   * The peer's certificate was verified: it chains to a trusted CA (and, on the initiator side,
   * names the host). False when the check failed but the handshake went on (rejectUnauthorized
   * false, or a listener that asks for client certificates without requiring them) or when the
   * peer sent no certificate (PyVortex vortex.tls.verify_cert).
   */
  verified: boolean;
  /** Why `verified` is false, as the runtime says it (node:tls: 'SELF_SIGNED_CERT_IN_CHAIN', …). */
  verifyError?: string | undefined;
}

/** A peer certificate as far as a runtime exposes it. */
export interface PeerCertificateInfo {
  /** Subject fields (CN, O, …). */
  subject: Record<string, string | string[]>;
  /** Issuer fields. */
  issuer: Record<string, string | string[]>;
  /** Certificate DER, when available. */
  raw?: Uint8Array | undefined;
  /** SHA-256 fingerprint, colon-separated hex. */
  fingerprint256?: string;
  /** Validity start (runtime's text form). */
  validFrom?: string;
  /** Validity end (runtime's text form). */
  validTo?: string;
}

/** Initiator side of an in-place TLS upgrade (PEM strings, never paths: no file system here). */
export interface TlsClientUpgrade {
  /** SNI name; unset for an IP address. */
  serverName?: string | undefined;
  /** Identity the certificate is checked against (the host the user connected to). */
  host: string;
  /** Trusted CA certificates (PEM); unset: the platform's store. */
  ca?: string[];
  /** Client certificate (PEM). */
  cert?: string;
  /** Client key (PEM). */
  key?: string;
  /** Verify the listener's certificate. */
  rejectUnauthorized: boolean;
}

/** Listener side of an in-place TLS upgrade. */
export interface TlsServerUpgrade {
  /** Certificate chain (PEM). */
  cert: string;
  /** Private key (PEM). */
  key: string;
  /** CA certificates that verify client certificates (PEM); set: a client certificate is asked for. */
  ca?: string;
}

/**
 * A bidirectional byte stream (TCP, TLS over TCP, a WebSocket, a stream pair). Writes are
 * queued and handed to the runtime at the end of the current microtask run; input is
 * delivered to one sink at a time.
 */
export interface Transport extends SessionIO {
  /** Name of the adapter ('node', 'deno', 'workerd', 'web-streams', …), for diagnostics. */
  readonly kind: string;
  /** The peer's address, when known. */
  readonly remote: TransportAddress | undefined;
  /** Our address, when known. */
  readonly local: TransportAddress | undefined;
  /** True when upgradeTls can take the listener side (Deno and workerd cannot). */
  readonly canAcceptTls: boolean;
  /** True once the transport is closed or failed. */
  readonly closed: boolean;
  /** Delivers events to `sink` from now on (replacing the previous one); undefined detaches. */
  attach(sink: TransportSink | undefined): void;
  /** Hands queued writes to the runtime now. */
  flush(): void;
  /** Writes may go on (write() returned false before). */
  readonly full: boolean;
  /** The outbound budget is full (true) or drained (false): stop or resume reading. */
  pauseInput(paused: boolean): void;
  /** The application stops (true) or resumes (false) reading. */
  block(on: boolean): void;
  /** True while the application blocked reading. */
  readonly blocked: boolean;
  /**
   * Stops delivering input after the current chunk until hold(false): a tuning reset is about
   * to replace the session, and no octet meant for the next one may reach the old one.
   */
  hold(on: boolean): void;
  /** Resolves once connected (at once for an accepted transport); never rejects: a failure closes the transport. */
  opened(): Promise<void>;
  /** Drops the connection at once, pending writes discarded. */
  abort(): void;
  /** Resets the connection (RST where the runtime can), pending writes discarded. */
  reset(): void;
  /** Half-closes after pending writes. */
  end(): void;
  /**
   * Replaces the byte stream with TLS over it, in place. Writes queued before the call go out
   * first (the <proceed/> reply); input is held from the call until `secured` has run, so the
   * caller resets the session there before any decrypted octet is delivered. Rejects if the
   * handshake fails (the transport is then closed). Absent where the runtime cannot.
   */
  upgradeTls?:
    | ((side: TlsClientUpgrade | (TlsServerUpgrade & { server: true }), secured: (info: TlsInfo) => void) => Promise<TlsInfo>)
    | undefined;
}

/** Opens transports to a host and port, and (where the runtime can) listens. */
export interface TransportFactory {
  /** Name of the runtime adapter. */
  readonly kind: string;
  /** Starts a connection; failures arrive as closed(err) on the transport. */
  connect(host: string, port: number): Transport;
  /** Listens on host:port; rejects where the runtime cannot listen or the address is taken. */
  listen?(host: string, port: number, accepted: (t: Transport) => void, onError: (e: Error) => void): Promise<TransportServer>;
  /** True when an in-place listener-side TLS upgrade is available. */
  readonly serverTls: boolean;
}

/** A listening endpoint. */
export interface TransportServer {
  /** The port bound (the real one when 0 was asked). */
  readonly port: number;
  /** Stops listening. */
  close(): Promise<void>;
}
