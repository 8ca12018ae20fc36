// TUNNEL profile messages (RFC 3620 §3): nested <tunnel> elements naming the route, outermost
// hop first; <ok /> or <error> in reply. Portable: no node: imports.
import { SaxesParser } from 'saxes';
import { MgmtSyntaxError, parseMgmt, xmlEscape } from '../session/mgmt.js';

/** The TUNNEL profile URI (RFC 3620 appendix A). */
export const TUNNEL_URI = 'http://iana.org/beep/TUNNEL';
/** Positive reply to a tunnel request. */
export const OK_XML = '<ok />';
/** Deepest route accepted from a peer: a bound on hostile nesting. */
export const MAX_HOPS = 16;

/** One hop of a route (RFC 3620 §3 attributes). */
export interface TunnelHop {
  /** Fully qualified domain name of the next hop. */
  fqdn?: string;
  /** IPv4 address of the next hop. */
  ip4?: string;
  /** IPv6 address of the next hop. */
  ip6?: string;
  /** TCP port of the next hop (1..65535). */
  port?: number;
  /** SRV service and protocol, e.g. `_beep._tcp`. */
  srv?: string;
  /** Profile URI the final hop resolves to a service (innermost element only). */
  profile?: string;
  /** Opaque endpoint name the final hop resolves (innermost element only). */
  endpoint?: string;
}

/**
 * A parsed route element (RFC 3620 §4). With `inner`, `hop` is the BEEP peer to ask next and
 * `inner` the element to send it. Without: an empty hop means "the session ends here", a host
 * and port a plain TCP service to relay to, profile/endpoint a name the receiver resolves.
 */
export interface TunnelSpec {
  /** This element's attributes (empty for the bare <tunnel />). */
  hop: TunnelHop;
  /** The child element, forwarded to the next hop. */
  inner?: TunnelSpec;
}

const ATTRS = ['fqdn', 'ip4', 'ip6', 'port', 'srv', 'profile', 'endpoint'] as const;

/** Checks a hop against RFC 3620 §3's allowed attribute combinations; returns why not, or undefined. */
export function hopProblem(h: TunnelHop, innermost: boolean): string | undefined {
  const set = ATTRS.filter((a) => h[a] !== undefined)
    .sort()
    .join('+');
  if (h.port !== undefined && !(Number.isInteger(h.port) && h.port >= 1 && h.port <= 65535)) return `port ${h.port} is not 1..65535`;
  const allowed = ['', 'fqdn+port', 'fqdn+srv', 'fqdn+port+srv', 'ip4+port', 'ip6+port'];
  if (innermost) allowed.push('profile', 'endpoint');
  return allowed.includes(set)
    ? undefined
    : `attributes ${set || '(none)'} are not an allowed combination${innermost ? '' : ' for an outer element'}`;
}

/** Parses a <tunnel> element (the start piggyback or a MSG); throws MgmtSyntaxError (500/501) when malformed. */
export function parseTunnel(xml: string): TunnelSpec {
  if (xml.length > 16384) throw new MgmtSyntaxError('TUNNEL: element longer than 16384 characters', 500);
  const p = new SaxesParser({ xmlns: false });
  const stack: TunnelSpec[] = [];
  let root: TunnelSpec | undefined;
  let failed: Error | undefined;
  let done = false;
  p.on('error', (e) => {
    failed ??= e;
  });
  p.on('doctype', () => {
    failed ??= new MgmtSyntaxError('TUNNEL: DOCTYPE is not allowed', 500);
  });
  p.on('opentag', (t) => {
    if (t.name !== 'tunnel') {
      failed ??= new MgmtSyntaxError(`TUNNEL: unexpected <${t.name}>`, 501);
      return;
    }
    const parent = stack[stack.length - 1];
    if (done || (parent !== undefined && parent.inner !== undefined)) {
      failed ??= new MgmtSyntaxError('TUNNEL: a <tunnel> holds at most one <tunnel>', 501);
      return;
    }
    if (stack.length >= MAX_HOPS) {
      failed ??= new MgmtSyntaxError(`TUNNEL: more than ${MAX_HOPS} hops`, 501);
      return;
    }
    const hop: TunnelHop = {};
    for (const [k, v] of Object.entries(t.attributes)) {
      const value = String(v);
      if (k === 'port') {
        if (!/^[0-9]{1,5}$/.test(value)) {
          failed ??= new MgmtSyntaxError(`TUNNEL: bad port '${value}'`, 501);
          return;
        }
        hop.port = Number(value);
      } else if ((ATTRS as readonly string[]).includes(k)) hop[k as Exclude<(typeof ATTRS)[number], 'port'>] = value;
      else {
        failed ??= new MgmtSyntaxError(`TUNNEL: unknown attribute ${k}`, 501);
        return;
      }
    }
    const spec: TunnelSpec = { hop };
    if (parent !== undefined) parent.inner = spec;
    else root = spec;
    stack.push(spec);
  });
  p.on('closetag', () => {
    stack.pop();
    if (stack.length === 0) done = true;
  });
  p.on('text', (t) => {
    if (t.trim() !== '') failed ??= new MgmtSyntaxError('TUNNEL: text inside <tunnel>', 501);
  });
  try {
    p.write(xml.trim()).close();
  } catch (e) {
    failed ??= e as Error;
  }
  if (failed !== undefined)
    throw failed instanceof MgmtSyntaxError ? failed : new MgmtSyntaxError(`TUNNEL: malformed XML: ${failed.message}`, 500);
  if (root === undefined) throw new MgmtSyntaxError('TUNNEL: no <tunnel> element', 500);
  for (let s: TunnelSpec | undefined = root; s !== undefined; s = s.inner) {
    const why = hopProblem(s.hop, s.inner === undefined);
    if (why !== undefined) throw new MgmtSyntaxError(`TUNNEL: ${why}`, 501);
  }
  return root;
}

/** Serializes a route (attributes in RFC order, single quotes, as LibVortex writes them). */
export function tunnelXml(spec: TunnelSpec): string {
  const attrs = ATTRS.filter((a) => spec.hop[a] !== undefined)
    .map((a) => ` ${a}='${xmlEscape(String(spec.hop[a]))}'`)
    .join('');
  return spec.inner === undefined ? `<tunnel${attrs} />` : `<tunnel${attrs}>${tunnelXml(spec.inner)}</tunnel>`;
}

/** Parses a reply: ok, or the <error> with its code; throws MgmtSyntaxError otherwise. */
export function parseTunnelReply(xml: string): { ok: true } | { ok: false; code: number; text: string } {
  const e = parseMgmt(xml.trim());
  if (e.kind === 'ok') return { ok: true };
  if (e.kind === 'error') return { ok: false, code: e.code, text: e.text };
  throw new MgmtSyntaxError(`TUNNEL: expected <ok /> or <error>, got <${e.kind}>`, 501);
}
