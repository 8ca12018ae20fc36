// TUNNEL profile (RFC 3620; LibVortex vortex_tunnel): a listener that ends a route (tuning
// reset, new greetings on the same connection) or relays it to the next hop as raw octets,
// and an initiator that builds a BEEP session through a chain of proxies. Runs over any
// transport (transport/relay.ts copies between two).
import { BeepError, BeepReplyError } from '../errors.js';
import { within } from '../util/within.js';
import { registerProfile, type Ctx, type TuningStart } from '../api/ctx.js';
import { Connection } from '../api/connection.js';
import { ConnectionSlot } from '../api/slot.js';
import type { Transport } from '../transport/transport.js';
import { runtimeTransport } from '../transport/select.js';
import { openTransport, relay } from '../transport/relay.js';
import type { StartDecision } from '../session/management.js';
import { MgmtSyntaxError } from '../session/mgmt.js';
import { base64Text } from '../util/base64.js';
import { callHandler, HandlerFault, reportHandlerFault } from '../sasl/guard.js';
import { TUNNEL_URI, OK_XML, parseTunnel, parseTunnelReply, tunnelXml, hopProblem, type TunnelHop, type TunnelSpec } from './profile.js';

export { TUNNEL_URI, type TunnelHop, type TunnelSpec } from './profile.js';

/** Where a resolver sends a profile/endpoint/srv hop. */
export interface HopAddress {
  /** Host name or address. */
  host: string;
  /** TCP port. */
  port: number;
}

/** Listener-side policy (LibVortex vortex_tunnel_accept_negotiation). */
export interface AcceptTunnelOptions {
  /** Accept a route that ends here (`<tunnel />`); default accept. */
  acceptEndpoint?: (conn: Connection) => boolean | Promise<boolean>;
  /**
   * Allow relaying this connection to `hop`. Default: refuse (537), because a listener that
   * relays anywhere is an open proxy (RFC 3620 §7); pass a policy to act as a proxy.
   */
  acceptRelay?: (conn: Connection, hop: TunnelHop) => boolean | Promise<boolean>;
  /** Resolves a profile, endpoint or srv hop to an address; undefined refuses it (550). */
  resolve?: (hop: TunnelHop) => HopAddress | undefined | Promise<HopAddress | undefined>;
  /** Milliseconds to reach the next hop and hear its answer (default: the context's connectTimeout, else 10,000). */
  timeout?: number;
}

/** Thrown inside a start decision to refuse it with a reply code. */
class Refusal extends Error {
  constructor(
    readonly code: number,
    text: string,
  ) {
    super(text);
  }
}

/** Largest message accepted on a TUNNEL channel we opened: its answer is <ok /> or an <error>. */
export const TUNNEL_MAX_MESSAGE = 16384;

/** A refusal for whatever went wrong deciding a start; an application policy fault is reported (451). */
function refuse(conn: Connection, e: unknown): StartDecision {
  if (e instanceof Refusal) return { accept: false, code: e.code, text: e.message };
  if (e instanceof MgmtSyntaxError) return { accept: false, code: e.replyCode, text: e.message };
  if (e instanceof HandlerFault) {
    reportHandlerFault(conn.ctx, e, conn);
    return { accept: false, code: 451, text: 'TUNNEL policy failed' }; // RFC 3080 §8: local error in processing
  }
  return { accept: false, code: 450, text: `next hop failed: ${(e as Error)?.message ?? String(e)}` };
}

/** Address of a host hop, or undefined for hops a resolver must place. */
function direct(h: TunnelHop): HopAddress | undefined {
  const host = h.ip4 ?? h.ip6 ?? (h.srv === undefined ? h.fqdn : undefined);
  return host !== undefined && h.port !== undefined ? { host, port: h.port } : undefined;
}

/** The route a connection's session was built through (set at both ends of a tunnel). */
const TUNNEL_STATE = new ConnectionSlot<TunnelSpec>('tunnel');

/** Ends a Connection object whose transport now belongs to a relay or a new session. */
function handOver(conn: Connection): Transport {
  return conn.releaseTransport(new BeepError('session handed over to a TUNNEL relay', 'BEEP_ERR_TUNNELLED'));
}

/**
 * Relays a listener's connection to the next hop. The relay still counts as the listener's
 * connection until it ends (maxConnections), and one idle for idleTimeout (listener default)
 * is cut like an idle session.
 */
function relayTo(conn: Connection, next: Transport): void {
  const l = conn.listener;
  const mine = handOver(conn); // the session's end removes conn from the listener: counted again below
  l?.connections.add(conn);
  relay(mine, next, conn.ctx.options.idleTimeout ?? 600_000, () => {
    l?.connections.delete(conn);
  });
}

/** Endpoint: after <ok /> the initiator greets first; its first octets start the new session. */
function endHere(conn: Connection): void {
  // An initiator that never greets through the tunnel is dropped like one that never greets.
  // Waiting for it keeps our greeting from reaching a relaying proxy in the same read as the
  // <ok /> reply (LibVortex's proxies read them with one BEEP parser).
  conn.resetOnPeerGreeting(conn.ctx.options.greetingTimeout ?? 10_000, () => conn.set(TUNNEL_STATE, { hop: {} }));
}

/** Decides a TUNNEL start on a listener: end the route here, or reach the next hop and relay. */
async function decide(conn: Connection, xml: string, o: AcceptTunnelOptions): Promise<StartDecision> {
  const timeout = o.timeout ?? conn.ctx.options.connectTimeout ?? 10_000;
  try {
    const spec = parseTunnel(xml);
    const h = spec.hop;
    if (spec.inner === undefined && direct(h) === undefined && h.profile === undefined && h.endpoint === undefined && h.srv === undefined) {
      if (o.acceptEndpoint && !(await callHandler('TUNNEL acceptEndpoint', () => o.acceptEndpoint!(conn))))
        throw new Refusal(537, 'TUNNEL endpoint refused by policy');
      return { accept: true, uri: TUNNEL_URI, content: OK_XML, onReplySent: () => endHere(conn) };
    }
    if (!o.acceptRelay || !(await callHandler('TUNNEL acceptRelay', () => o.acceptRelay!(conn, h))))
      throw new Refusal(537, 'relaying is not allowed here');
    const resolved = direct(h) ?? (o.resolve === undefined ? undefined : await callHandler('TUNNEL resolve', () => o.resolve!(h)));
    if (resolved === undefined) throw new Refusal(550, 'cannot resolve the next hop');
    // profile/endpoint hops end at the resolved BEEP peer; a host hop without inner is plain TCP.
    const forward = spec.inner ?? (direct(h) === undefined ? { hop: {} } : undefined);
    let next: Transport;
    if (forward === undefined) {
      const factory = conn.ctx.options.transport ?? (await runtimeTransport());
      next = await within(timeout, 'connect to the next hop', openTransport(factory, resolved));
    } else {
      const hopConn = await Connection.connect(conn.ctx, resolved.host, resolved.port, {
        connectTimeout: timeout,
        greetingTimeout: timeout,
      });
      if (!hopConn.isOk())
        throw new Refusal(450, `next hop ${resolved.host}:${resolved.port} unreachable: ${hopConn.popChannelError()?.[1] ?? ''}`);
      const answer = await within(timeout, 'next hop TUNNEL answer', ask(hopConn, tunnelXml(forward))).catch((e: unknown) => {
        hopConn.shutdown();
        throw e;
      });
      if (!answer.ok) {
        hopConn.shutdown();
        throw new Refusal(answer.code, `next hop: ${answer.text}`);
      }
      next = handOver(hopConn);
    }
    // If this session dies before <ok /> is out, the next hop's socket has no relay to join.
    let relayed = false;
    conn.setOnClose(() => {
      if (!relayed) next.abort();
    });
    if (!conn.isOk()) next.abort();
    return {
      accept: true,
      uri: TUNNEL_URI,
      content: OK_XML,
      onReplySent: () => {
        relayed = true;
        relayTo(conn, next);
      },
    };
  } catch (e) {
    return refuse(conn, e);
  }
}

/**
 * Sends a tunnel element on a new TUNNEL channel and reads the answer (piggybacked or RPY).
 * SEQ frames are off from here on, as in LibVortex: once the far side answers <ok />, any
 * octet of this session would land in the next one.
 */
async function ask(conn: Connection, xml: string): Promise<{ ok: true } | { ok: false; code: number; text: string }> {
  conn.seqFrames = false;
  const ch = await conn.openChannel(0, TUNNEL_URI, { content: xml, tuning: true, maxMessage: TUNNEL_MAX_MESSAGE });
  if (ch === null) {
    const [code, text] = conn.popChannelError() ?? [554, 'TUNNEL start refused'];
    return { ok: false, code: code || 554, text };
  }
  const reply = ch.startReply ?? (await ch.request(xml)).text;
  const answer = parseTunnelReply(reply);
  if (answer.ok) conn.suspendWrites();
  return answer;
}

/** Enables the TUNNEL profile on a listener context (LibVortex vortex_tunnel_accept_negotiation). */
export function acceptTunnel(ctx: Ctx, opts: AcceptTunnelOptions = {}): boolean {
  const start: TuningStart = (conn, _req, offer) => {
    if (offer.content === undefined) return { accept: false, code: 501, text: 'TUNNEL: the start must carry the <tunnel> element' };
    let xml: string;
    try {
      xml = offer.encoding === 'base64' ? base64Text(offer.content) : offer.content;
    } catch {
      return { accept: false, code: 501, text: 'TUNNEL: the piggyback is not base64' };
    }
    return decide(conn, xml, opts);
  };
  registerProfile(ctx, TUNNEL_URI, { tuningStart: start }); // advertised in greetings
  return true;
}

/**
 * Builds the element a route sends to its first hop: `hops` in travel order, the last one the
 * BEEP peer the session is for (or a profile/endpoint hop its predecessor resolves).
 */
export function routeSpec(hops: TunnelHop[]): TunnelSpec {
  if (hops.length < 2) throw new RangeError('a route needs a proxy and a destination');
  const last = hops[hops.length - 1]!; // at least two hops
  const named = last.profile !== undefined || last.endpoint !== undefined;
  let spec: TunnelSpec = named ? { hop: last } : { hop: last, inner: { hop: {} } };
  for (let i = hops.length - 2; i >= 1; i--) spec = { hop: hops[i]!, inner: spec };
  for (let s: TunnelSpec | undefined = spec; s !== undefined; s = s.inner) {
    const why = hopProblem(s.hop, s.inner === undefined);
    if (why !== undefined) throw new RangeError(`TUNNEL route: ${why}`);
  }
  return spec;
}

/**
 * Connects through proxies (LibVortex vortex_tunnel_new): opens a TUNNEL channel on the first
 * hop with the rest of the route, and on <ok /> runs a new session over the same socket.
 * Like Connection.connect it never rejects for network trouble: check isOk() and
 * popChannelError() (a refusal carries the proxy's reply code).
 */
export async function connect(ctx: Ctx, hops: TunnelHop[], opts: { timeout?: number } = {}): Promise<Connection> {
  const spec = routeSpec(hops);
  const first = direct(hops[0]!); // routeSpec checked there are at least two hops
  if (first === undefined) throw new RangeError('the first hop needs a host and a port');
  const timeout = opts.timeout ?? ctx.options.connectTimeout ?? 10_000;
  const conn = await Connection.connect(ctx, first.host, first.port, { connectTimeout: timeout, greetingTimeout: timeout });
  if (!conn.isOk()) return conn;
  try {
    const answer = await within(timeout, 'TUNNEL set-up', ask(conn, tunnelXml(spec)));
    if (!answer.ok) throw new BeepReplyError(answer.code, answer.text);
    conn.set(TUNNEL_STATE, spec);
    conn.tuningReset();
    await within(timeout, 'greeting through the TUNNEL', conn.ready);
  } catch (e) {
    conn.shutdown(e instanceof Error ? e : new BeepError(String(e)));
  }
  return conn;
}

/** True when the connection's session was built through a TUNNEL route. */
export function isTunnelled(conn: Connection): boolean {
  return conn.has(TUNNEL_STATE);
}
