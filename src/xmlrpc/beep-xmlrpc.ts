// XML-RPC over BEEP (RFC 3529; LibVortex vortex_xml_rpc): a channel is booted for a resource
// with <bootmsg resource='...'/> -> <bootrpy />, then each MSG is a methodCall answered by an
// RPY methodResponse. No node: imports.
import { registerProfile, type Ctx } from '../api/ctx.js';
import type { Connection } from '../api/connection.js';
import type { Channel } from '../api/channel.js';
import type { Frame } from '../api/frame.js';
import { BeepError, thrownText } from '../errors.js';
import { parseXmlTree } from '../util/xml-tree.js';
import { xmlEscape } from '../session/mgmt.js';
import { callHandler, reportHandlerFault, errorElement, detach, sizeOption } from '../sasl/guard.js';
import {
  FAULT,
  XmlRpcFault,
  XmlRpcSyntaxError,
  methodCallXml,
  methodResponseXml,
  parseMethodCall,
  parseMethodResponse,
  type MethodCall,
  type XmlRpcValue,
} from './values.js';

export { XmlRpcDouble, XmlRpcFault, FAULT, type XmlRpcValue, type MethodCall } from './values.js';

/** The profile URI LibVortex registers. */
export const XMLRPC_URI = 'http://iana.org/beep/xmlrpc';
/** The URI RFC 3529 §2 names; served too, and offered second by bootChannel. */
export const XMLRPC_TRANSIENT_URI = 'http://iana.org/beep/transient/xmlrpc';

const XML_HEADERS = { headers: { 'Content-Type': 'text/xml' } };
const BOOTRPY = '<bootrpy />';

/** What a method handler learns about the call. */
export interface CallInfo {
  /** The connection. */
  conn: Connection;
  /** The XML-RPC channel. */
  channel: Channel;
  /** The resource the channel was booted for. */
  resource: string;
}

/** A method implementation: returns the result, or throws an XmlRpcFault. */
export type MethodHandler = (params: XmlRpcValue[], info: CallInfo) => XmlRpcValue | Promise<XmlRpcValue>;

/** Listener-side options (LibVortex vortex_xml_rpc_accept_negotiation). */
export interface AcceptXmlRpcOptions {
  /** Methods by name (LibVortex's service_dispatch, as a table). */
  methods: Record<string, MethodHandler>;
  /** Accept a channel for `resource` (default: every resource). */
  acceptResource?: (resource: string, conn: Connection, serverName: string | undefined) => boolean | Promise<boolean>;
  /**
   * Largest methodCall accepted, in octets (default 1 MiB), enforced as the channel's message
   * limit: a bigger one ends the session (BEEP_ERR_MESSAGE_TOO_LARGE) before it is buffered or
   * parsed (parsing costs about 150 ms and 36 times the size in memory per MiB).
   */
  maxCallSize?: number;
}

/** Default maxCallSize. */
export const XMLRPC_MAX_CALL = 1 << 20;
/** Default bootChannel maxResponseSize (the parser's own bound). */
export const XMLRPC_MAX_RESPONSE = 16 << 20;

/** Reads <bootmsg resource='...'/>; returns the resource or a refusal. */
function bootResource(xml: string): string | { code: number; text: string } {
  let root: ReturnType<typeof parseXmlTree>;
  try {
    root = parseXmlTree(xml.trim(), { maxLength: 4096, maxDepth: 2 }, (why) => new XmlRpcSyntaxError(why));
  } catch (e) {
    return { code: 500, text: `XML-RPC boot: ${(e as Error).message}` };
  }
  if (root.name !== 'bootmsg' || root.children.length > 0) return { code: 501, text: 'XML-RPC boot: expected <bootmsg resource=.../>' };
  const resource = root.attrs.resource;
  if (resource === undefined || resource === '') return { code: 501, text: 'XML-RPC boot: <bootmsg> lacks resource' };
  return resource;
}

/** Answers one methodCall with a methodResponse (a fault for anything that goes wrong). */
async function answer(opts: AcceptXmlRpcOptions, info: CallInfo, f: Frame): Promise<void> {
  let result: XmlRpcValue | XmlRpcFault;
  try {
    const call: MethodCall = parseMethodCall(f.text);
    const handler = Object.hasOwn(opts.methods, call.method) ? opts.methods[call.method] : undefined;
    if (handler === undefined) throw new XmlRpcFault(FAULT.methodNotFound, `method ${call.method} not found`);
    result = await handler(call.params, info);
  } catch (e) {
    result =
      e instanceof XmlRpcFault
        ? e
        : e instanceof XmlRpcSyntaxError
          ? new XmlRpcFault(e.faultCode, e.message)
          : new XmlRpcFault(FAULT.internal, thrownText(e));
  }
  let xml: string;
  try {
    xml = methodResponseXml(result);
  } catch (e) {
    xml = methodResponseXml(new XmlRpcFault(FAULT.internal, `result cannot be sent: ${(e as Error).message}`));
  }
  info.channel.sendRpy(xml, undefined, f.msgNo, XML_HEADERS);
}

/** Serves XML-RPC on a listener context under both profile URIs. */
export function acceptXmlRpc(ctx: Ctx, opts: AcceptXmlRpcOptions): boolean {
  const maxCall = sizeOption('maxCallSize', opts.maxCallSize, XMLRPC_MAX_CALL);
  const resources = new WeakMap<Connection, Map<number, string>>();
  const booted = (conn: Connection): Map<number, string> => {
    let m = resources.get(conn);
    if (m === undefined) resources.set(conn, (m = new Map()));
    return m;
  };
  const decide = async (
    conn: Connection,
    serverName: string | undefined,
    xml: string,
  ): Promise<string | { code: number; text: string }> => {
    const r = bootResource(xml);
    if (typeof r !== 'string') return r;
    let ok = true;
    try {
      ok =
        opts.acceptResource === undefined || (await callHandler('XML-RPC acceptResource', () => opts.acceptResource!(r, conn, serverName)));
    } catch (e) {
      reportHandlerFault(ctx, e, conn);
      ok = false;
    }
    return ok ? r : { code: 550, text: `resource ${r} is not served here` };
  };
  for (const uri of [XMLRPC_URI, XMLRPC_TRANSIENT_URI]) {
    registerProfile(ctx, uri, {
      // The bootmsg is piggybacked in the start (what LibVortex does) or sent as the first MSG.
      start: async (i) => {
        // maxMessage: bounded before any call on the channel is buffered.
        if (i.content === undefined) return { maxMessage: maxCall };
        const r = await decide(i.conn, i.serverName ?? i.conn.serverName, i.content);
        if (typeof r !== 'string') return r;
        booted(i.conn).set(i.channelNum, r);
        return { content: BOOTRPY, maxMessage: maxCall };
      },
      frameReceived: (conn, channel, f) => {
        if (f.type !== 'MSG') return;
        const resource = booted(conn).get(channel.number);
        if (resource !== undefined) {
          detach(ctx, conn, answer(opts, { conn, channel, resource }, f));
          return;
        }
        // Channel sends never throw (a failure is recorded on the connection): safe after the session ended.
        detach(
          ctx,
          conn,
          decide(conn, conn.serverName, f.text).then((r) => {
            if (typeof r === 'string') {
              booted(conn).set(channel.number, r);
              channel.sendRpy(BOOTRPY, undefined, f.msgNo, XML_HEADERS);
            } else
              channel.sendErr(errorElement(r.code, r.text), undefined, f.msgNo, { headers: { 'Content-Type': 'application/beep+xml' } });
          }),
        );
      },
      close: (n, conn) => {
        booted(conn).delete(n);
        return true;
      },
      closed: (n, conn) => {
        booted(conn).delete(n);
      }, // a tuning reset drops channels too
    });
  }
  return true;
}

/**
 * Opens an XML-RPC channel for `resource` (LibVortex vortex_xml_rpc_boot_channel_sync):
 * resolves the channel, or null with the reason in conn.popChannelError().
 */
export async function bootChannel(
  conn: Connection,
  opts: { resource?: string; serverName?: string; maxResponseSize?: number } = {},
): Promise<Channel | null> {
  const limit = sizeOption('maxResponseSize', opts.maxResponseSize, XMLRPC_MAX_RESPONSE);
  const content = `<bootmsg resource='${xmlEscape(opts.resource ?? '/')}' />`;
  const ch = await conn.openChannel(0, [XMLRPC_URI, XMLRPC_TRANSIENT_URI], { content, serverName: opts.serverName, maxMessage: limit });
  if (ch === null) return null;
  let reply: string;
  try {
    reply = ch.startReply ?? (await ch.request(content, { ...XML_HEADERS, timeout: conn.ctx.options.startTimeout ?? 30_000 })).text;
  } catch (e) {
    conn.pushError(e); // resolves null, as documented: a fire-and-forget caller gets no rejection
    if (ch.isOk()) await ch.close();
    return null;
  }
  if (reply.trim() !== BOOTRPY && reply.trim() !== '<bootrpy/>') {
    conn.pushError(new BeepError(`XML-RPC boot refused: ${reply.slice(0, 200)}`, 'BEEP_ERR_XMLRPC'));
    await ch.close();
    return null;
  }
  return ch;
}

/** Calls `method` on a booted channel: resolves the result, rejects with XmlRpcFault for a fault. */
export async function invoke(channel: Channel, method: string, params: XmlRpcValue[] = []): Promise<XmlRpcValue> {
  const reply = await channel.request(methodCallXml(method, params), XML_HEADERS);
  if (reply.type !== 'RPY')
    throw new BeepError(`XML-RPC: ${reply.type} in answer to ${method}: ${reply.text.slice(0, 200)}`, 'BEEP_ERR_XMLRPC');
  const result = parseMethodResponse(reply.text);
  if (result instanceof XmlRpcFault) throw result;
  return result;
}
