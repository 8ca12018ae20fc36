// XML-RPC messages (the XML-RPC specification, as RFC 3529 carries them over BEEP): values,
// methodCall and methodResponse, both ways. Portable: no node: imports.
import { parseXmlTree, type XmlNode } from '../util/xml-tree.js';
import { fromBase64, toBase64 } from '../util/base64.js';
import { xmlEscape } from '../session/mgmt.js';

/** A double that happens to be integral; plain integral numbers are sent as <i4>. */
export class XmlRpcDouble {
  /** Wraps a number to be sent as <double>. */
  constructor(
    /** The number sent as <double>. */
    readonly value: number,
  ) {}
}

/** Values XML-RPC carries: int/double (number), boolean, string, dateTime (Date), base64 (Uint8Array), array, struct, nil. */
export type XmlRpcValue =
  | number
  | XmlRpcDouble
  | boolean
  | string
  | Date
  | Uint8Array
  | null
  | XmlRpcValue[]
  | {
      /** A struct member, by name. */
      [member: string]: XmlRpcValue;
    };

/** A fault response (faultCode, faultString). */
export class XmlRpcFault extends Error {
  /** Creates a fault. */
  constructor(
    /** The fault's <faultCode> (see FAULT for the conventional ones). */
    readonly faultCode: number,
    /** The fault's <faultString>: what went wrong, for people. */
    readonly faultString: string,
  ) {
    super(`XML-RPC fault ${faultCode}: ${faultString}`);
    this.name = 'XmlRpcFault';
  }
}

/** Fault codes of the XML-RPC fault code interoperability convention. */
export const FAULT = {
  /** The document is not well-formed XML. */
  parse: -32700,
  /** Well-formed, but not a valid XML-RPC request. */
  invalid: -32600,
  /** No handler serves the method called. */
  methodNotFound: -32601,
  /** The method's parameters are invalid. */
  params: -32602,
  /** The server failed (a handler threw, or its result could not be sent). */
  internal: -32603,
} as const;

/** A malformed XML-RPC document: reported to the peer as a fault (-32700 / -32600). */
export class XmlRpcSyntaxError extends Error {
  /** Creates the error with the fault code it maps to. */
  constructor(
    message: string,
    readonly faultCode: number = FAULT.invalid,
  ) {
    super(message);
    this.name = 'XmlRpcSyntaxError';
  }
}

/** A parsed methodCall. */
export interface MethodCall {
  /** methodName. */
  method: string;
  /** Positional parameters. */
  params: XmlRpcValue[];
}

const BOUNDS = { maxLength: 16 << 20, maxDepth: 128 };

const bad = (why: string): XmlRpcSyntaxError => new XmlRpcSyntaxError(why);

/** Formats a Date as XML-RPC's dateTime.iso8601 (UTC, no zone: YYYYMMDDTHH:MM:SS). */
function isoDate(d: Date): string {
  const p = (n: number, w = 2): string => String(n).padStart(w, '0');
  return `${p(d.getUTCFullYear(), 4)}${p(d.getUTCMonth() + 1)}${p(d.getUTCDate())}T${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())}`;
}

/** Writes one <value>. */
export function valueXml(v: XmlRpcValue): string {
  if (v === null) return '<value><none /></value>'; // LibVortex's form of nil
  if (v instanceof XmlRpcDouble) return `<value><double>${formatDouble(v.value)}</double></value>`;
  switch (typeof v) {
    case 'number':
      return Number.isInteger(v) && v >= -2147483648 && v <= 2147483647
        ? `<value><i4>${v}</i4></value>`
        : `<value><double>${formatDouble(v)}</double></value>`;
    case 'boolean':
      return `<value><boolean>${v ? 1 : 0}</boolean></value>`;
    case 'string':
      return `<value><string>${xmlEscape(v)}</string></value>`;
    default:
      break;
  }
  if (v instanceof Date) return `<value><dateTime.iso8601>${isoDate(v)}</dateTime.iso8601></value>`;
  if (v instanceof Uint8Array) return `<value><base64>${toBase64(v)}</base64></value>`;
  if (Array.isArray(v)) return `<value><array><data>${v.map(valueXml).join('')}</data></array></value>`;
  if (typeof v === 'object') {
    return `<value><struct>${Object.entries(v)
      .map(([k, m]) => `<member><name>${xmlEscape(k)}</name>${valueXml(m)}</member>`)
      .join('')}</struct></value>`;
  }
  throw new TypeError(`not an XML-RPC value: ${typeof v}`);
}

/** Shortest text that reads back as the same double; XML-RPC has no infinities or NaN. */
function formatDouble(x: number): string {
  if (!Number.isFinite(x)) throw new RangeError(`XML-RPC cannot carry ${x}`);
  return String(x).replace(/e\+?/, 'E');
}

/** Writes a methodCall document. */
export function methodCallXml(method: string, params: XmlRpcValue[]): string {
  if (!/^[A-Za-z0-9_.:/-]+$/.test(method)) throw new RangeError(`bad XML-RPC method name '${method}'`);
  return `<?xml version="1.0"?><methodCall><methodName>${method}</methodName><params>${params.map((p) => `<param>${valueXml(p)}</param>`).join('')}</params></methodCall>`;
}

/** Writes a methodResponse carrying a value, or a fault. */
export function methodResponseXml(result: XmlRpcValue | XmlRpcFault): string {
  if (result instanceof XmlRpcFault) {
    return `<?xml version="1.0"?><methodResponse><fault>${valueXml({ faultCode: result.faultCode, faultString: result.faultString })}</fault></methodResponse>`;
  }
  return `<?xml version="1.0"?><methodResponse><params><param>${valueXml(result)}</param></params></methodResponse>`;
}

/** Reads one <value> element. */
export function readValue(n: XmlNode): XmlRpcValue {
  if (n.name !== 'value') throw bad(`expected <value>, found <${n.name}>`);
  const t = n.children[0];
  if (t === undefined) return n.text; // untyped value: a string
  if (n.children.length > 1 || n.text.trim() !== '') throw bad('a <value> holds one typed element');
  const text = t.text;
  const leaf = (): void => {
    if (t.children.length > 0) throw bad(`<${t.name}> holds no elements`);
  };
  switch (t.name) {
    case 'i4':
    case 'int': {
      leaf();
      const s = text.trim();
      if (!/^[+-]?[0-9]{1,10}$/.test(s) || Number(s) < -2147483648 || Number(s) > 2147483647) throw bad(`bad <${t.name}> '${s}'`);
      return Number(s);
    }
    case 'double': {
      leaf();
      const s = text.trim();
      // One way to match each input (no backtracking blow-up on long digit runs), and a length
      // bound: a double needs at most a few dozen characters (17 significant digits).
      if (s.length > 512 || !/^[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?$/.test(s) || !Number.isFinite(Number(s)))
        throw bad(`bad <double> '${s.slice(0, 40)}'`);
      return Number(s);
    }
    case 'boolean': {
      leaf();
      const s = text.trim();
      if (s !== '0' && s !== '1') throw bad(`bad <boolean> '${s}'`);
      return s === '1';
    }
    case 'string':
      leaf();
      return text;
    case 'base64': {
      leaf();
      try {
        return fromBase64(text);
      } catch {
        throw bad('bad <base64>');
      }
    }
    case 'dateTime.iso8601': {
      leaf();
      const m = /^(\d{4})-?(\d{2})-?(\d{2})T(\d{2}):?(\d{2}):?(\d{2})/.exec(text.trim());
      if (m === null) throw bad(`bad <dateTime.iso8601> '${text.trim()}'`);
      // The six groups are not optional: a match has them all.
      return new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6])));
    }
    case 'none':
    case 'nil':
      leaf();
      return null;
    case 'array': {
      const data = t.children[0];
      if (t.children.length !== 1 || data === undefined || data.name !== 'data') throw bad('<array> holds one <data>');
      return data.children.map(readValue);
    }
    case 'struct': {
      const out: { [member: string]: XmlRpcValue } = {};
      for (const m of t.children) {
        const name = m.children[0],
          value = m.children[1];
        if (m.name !== 'member' || m.children.length !== 2 || name === undefined || value === undefined || name.name !== 'name')
          throw bad('a <struct> holds <member><name/><value/></member> items');
        // defineProperty: a member called __proto__ must stay data, not reach the prototype.
        Object.defineProperty(out, name.text, { value: readValue(value), enumerable: true, writable: true, configurable: true });
      }
      return out;
    }
    default:
      throw bad(`unknown XML-RPC type <${t.name}>`);
  }
}

/**
 * Refuses a DTD before any parsing: XML-RPC has no use for one, and entity declarations are
 * how a small document expands into a large one. (The tree parser refuses DOCTYPE too; this
 * check costs one scan instead of a parse.)
 */
function refuseDtd(xml: string, what: string): void {
  if (/<!(DOCTYPE|ENTITY)/i.test(xml)) throw new XmlRpcSyntaxError(`${what}: DOCTYPE and entity declarations are not allowed`, FAULT.parse);
}

/** Parses a methodCall document. */
export function parseMethodCall(xml: string): MethodCall {
  refuseDtd(xml, 'methodCall');
  const root = parseXmlTree(xml, BOUNDS, (why) => new XmlRpcSyntaxError(`methodCall: ${why}`, FAULT.parse));
  if (root.name !== 'methodCall') throw bad(`expected <methodCall>, found <${root.name}>`);
  const nameNode = root.children.find((c) => c.name === 'methodName');
  const method = nameNode?.text.trim();
  if (!method) throw bad('<methodCall> lacks <methodName>');
  const params = root.children.find((c) => c.name === 'params');
  return {
    method,
    params: (params?.children ?? []).map((p) => {
      const value = p.children[0];
      if (p.name !== 'param' || p.children.length !== 1 || value === undefined) throw bad('<params> holds <param><value/></param> items');
      return readValue(value);
    }),
  };
}

/** Parses a methodResponse: the value, or an XmlRpcFault (returned, not thrown). */
export function parseMethodResponse(xml: string): XmlRpcValue | XmlRpcFault {
  refuseDtd(xml, 'methodResponse');
  const root = parseXmlTree(xml, BOUNDS, (why) => new XmlRpcSyntaxError(`methodResponse: ${why}`, FAULT.parse));
  const body = root.children[0];
  if (root.name !== 'methodResponse' || root.children.length !== 1 || body === undefined)
    throw bad('expected <methodResponse> with <params> or <fault>');
  if (body.name === 'fault') {
    const faultValue = body.children.length === 1 ? body.children[0] : undefined;
    const f = faultValue === undefined ? undefined : readValue(faultValue);
    if (
      f === null ||
      typeof f !== 'object' ||
      Array.isArray(f) ||
      f instanceof Date ||
      f instanceof Uint8Array ||
      f instanceof XmlRpcDouble ||
      typeof f.faultCode !== 'number' ||
      typeof f.faultString !== 'string'
    )
      throw bad('<fault> needs a struct of faultCode and faultString');
    return new XmlRpcFault(f.faultCode, f.faultString);
  }
  const param = body.children.length === 1 ? body.children[0] : undefined;
  const value = param?.children.length === 1 ? param.children[0] : undefined;
  if (body.name !== 'params' || param === undefined || param.name !== 'param' || value === undefined) {
    throw bad('<methodResponse> needs one <param>');
  }
  return readValue(value);
}
