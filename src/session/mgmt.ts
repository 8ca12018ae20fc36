// Channel 0 management messages (RFC 3080 §2.3.1): parsing with saxes (a strict, well-kept
// XML parser; both quote styles, entities, CDATA) and canonical builders. No node: imports.
import { parseXmlTree, type XmlNode } from '../util/xml-tree.js';
import { MgmtSyntaxError } from '../errors.js';

/** Content type of every channel 0 message (RFC 3080 §2.3.1). */
export const MGMT_CONTENT_TYPE = 'application/beep+xml';

/** A profile offered in <start> or chosen in the reply. */
export interface ProfileOffer {
  /** Profile URI. */
  uri: string;
  /** Piggybacked content, if any (still base64 when encoding is base64). */
  content?: string;
  /** Encoding of the content. */
  encoding: 'none' | 'base64';
}

/** A parsed channel 0 element. */
export type Mgmt =
  | { kind: 'greeting'; profiles: string[]; features?: string; localize?: string }
  | { kind: 'start'; number: number; serverName?: string; profiles: ProfileOffer[] }
  | { kind: 'profile'; uri: string; content?: string; encoding: 'none' | 'base64' }
  | { kind: 'close'; number: number; code: number; lang?: string; text: string }
  | { kind: 'ok' }
  | { kind: 'error'; code: number; lang?: string; text: string };

// MgmtSyntaxError lives with the other error classes; importers of this module keep finding it here.
export { MgmtSyntaxError } from '../errors.js';

type Node = XmlNode;

/** Parses a channel 0 message into an element tree (at most 8 levels deep). */
function tree(xml: string, maxLength: number): Node {
  return parseXmlTree(
    xml,
    { maxLength, maxDepth: 8 },
    (why) => new MgmtSyntaxError(why.startsWith('longer') ? `channel 0 message ${why}` : why),
  );
}

function intAttr(n: Node, name: string, min: number, max: number): number {
  const v = n.attrs[name];
  if (v === undefined) throw new MgmtSyntaxError(`<${n.name}> lacks ${name}`, 501);
  if (!/^[0-9]{1,10}$/.test(v) || Number(v) < min || Number(v) > max)
    throw new MgmtSyntaxError(`<${n.name}> ${name}='${v}' out of range`, 501);
  return Number(v);
}

function code(n: Node): number {
  const v = n.attrs.code;
  if (v === undefined || !/^[1-5][0-9][0-9]$/.test(v)) throw new MgmtSyntaxError(`<${n.name}> needs a three-digit code`, 501);
  return Number(v);
}

function offer(n: Node): ProfileOffer {
  const uri = n.attrs.uri;
  if (!uri) throw new MgmtSyntaxError('<profile> lacks uri', 501);
  const encoding = n.attrs.encoding ?? 'none';
  if (encoding !== 'none' && encoding !== 'base64') throw new MgmtSyntaxError(`<profile> encoding='${encoding}'`, 501);
  const content = n.text.trim() === '' ? undefined : n.text;
  return content === undefined ? { uri, encoding } : { uri, content, encoding };
}

/** Parses a channel 0 element (RFC 3080 §2.3.1); throws MgmtSyntaxError. */
export function parseMgmt(xml: string, limits: { maxLength?: number } = {}): Mgmt {
  const n = tree(xml, limits.maxLength ?? 65536);
  const lang = n.attrs['xml:lang'];
  switch (n.name) {
    case 'greeting': {
      const profiles = n.children
        .filter((c) => c.name === 'profile')
        .map((c) => {
          if (!c.attrs.uri) throw new MgmtSyntaxError('<profile> lacks uri', 501);
          return c.attrs.uri;
        });
      return {
        kind: 'greeting',
        profiles,
        ...(n.attrs.features ? { features: n.attrs.features } : {}),
        ...(n.attrs.localize ? { localize: n.attrs.localize } : {}),
      };
    }
    case 'start': {
      const profiles = n.children.filter((c) => c.name === 'profile').map(offer);
      if (profiles.length === 0) throw new MgmtSyntaxError('<start> offers no profile', 501);
      const number = intAttr(n, 'number', 1, 2147483647);
      return { kind: 'start', number, profiles, ...(n.attrs.serverName !== undefined ? { serverName: n.attrs.serverName } : {}) };
    }
    case 'profile':
      return { kind: 'profile', ...offer(n) };
    case 'close':
      return { kind: 'close', number: intAttr(n, 'number', 0, 2147483647), code: code(n), text: n.text.trim(), ...(lang ? { lang } : {}) };
    case 'ok':
      return { kind: 'ok' };
    case 'error':
      return { kind: 'error', code: code(n), text: n.text.trim(), ...(lang ? { lang } : {}) };
    default:
      throw new MgmtSyntaxError(`unknown element <${n.name}>`);
  }
}

/** Escapes text for an attribute value in single quotes or element content. */
export function xmlEscape(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/'/g, '&apos;').replace(/"/g, '&quot;');
}

const attr = (name: string, v: string | number | undefined): string => (v === undefined ? '' : ` ${name}='${xmlEscape(String(v))}'`);
const body = (content: string): string => (content.includes(']]>') ? xmlEscape(content) : `<![CDATA[${content}]]>`);

/** <greeting> (RFC 3080 §2.3.1.1). */
export function greetingXml(g: { profiles: string[]; features?: string; localize?: string }): string {
  const inner = g.profiles.map((p) => `<profile${attr('uri', p)} />`).join('');
  return inner === ''
    ? `<greeting${attr('features', g.features)}${attr('localize', g.localize)} />`
    : `<greeting${attr('features', g.features)}${attr('localize', g.localize)}>${inner}</greeting>`;
}

/** <profile> as offered in <start> or chosen in its reply. */
export function profileXml(p: { uri: string; content?: string; encoding?: 'none' | 'base64' }): string {
  const enc = p.encoding === 'base64' ? attr('encoding', 'base64') : '';
  return p.content === undefined
    ? `<profile${attr('uri', p.uri)}${enc} />`
    : `<profile${attr('uri', p.uri)}${enc}>${body(p.content)}</profile>`;
}

/** <start> (RFC 3080 §2.3.1.2). */
export function startXml(s: {
  number: number;
  serverName?: string;
  profiles: Array<{ uri: string; content?: string; encoding?: 'none' | 'base64' }>;
}): string {
  return `<start${attr('number', s.number)}${attr('serverName', s.serverName)}>${s.profiles.map(profileXml).join('')}</start>`;
}

/** <close> (RFC 3080 §2.3.1.3). */
export function closeXml(c: { number: number; code: number; lang?: string; text?: string }): string {
  const head = `<close${attr('number', c.number)}${attr('code', c.code)}${attr('xml:lang', c.lang)}`;
  return c.text ? `${head}>${xmlEscape(c.text)}</close>` : `${head} />`;
}

/** <ok/> */
export const OK_XML = '<ok />';

/** <error> (RFC 3080 §2.3.1.5). */
export function errorXml(e: { code: number; lang?: string; text?: string }): string {
  const head = `<error${attr('code', e.code)}${attr('xml:lang', e.lang)}`;
  return e.text ? `${head}>${xmlEscape(e.text)}</error>` : `${head} />`;
}
