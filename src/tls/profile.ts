// TLS profile messages (RFC 3080 §3.1): <ready/> from the initiator, <proceed/> or <error>
// from the listener, carried piggybacked in <start>/<profile> or as MSG/RPY on the channel.
// Portable: no node: imports.
import { parseMgmt, MgmtSyntaxError } from '../session/mgmt.js';
import { SaxesParser } from 'saxes';

/** The TLS profile URI (RFC 3080 §3.1). */
export const TLS_URI = 'http://iana.org/beep/TLS';
/** Initiator's request to begin TLS. */
export const READY_XML = '<ready />';
/** Listener's go-ahead. */
export const PROCEED_XML = '<proceed />';

/** Parses a TLS profile element: 'ready', 'proceed', or an error with its code. */
export function parseTlsElement(xml: string): { kind: 'ready' | 'proceed' } | { kind: 'error'; code: number; text: string } {
  const trimmed = xml.trim();
  let root = '';
  const p = new SaxesParser();
  let failed: Error | undefined;
  p.on('error', (e) => {
    failed ??= e;
  });
  p.on('opentag', (t) => {
    if (root === '') root = t.name;
  });
  try {
    p.write(trimmed).close();
  } catch (e) {
    failed ??= e as Error;
  }
  if (failed !== undefined) throw new MgmtSyntaxError(`TLS profile: malformed XML: ${failed.message}`);
  if (root === 'ready' || root === 'proceed') return { kind: root };
  if (root === 'error') {
    const e = parseMgmt(trimmed);
    if (e.kind === 'error') return { kind: 'error', code: e.code, text: e.text };
  }
  throw new MgmtSyntaxError(`TLS profile: unexpected <${root}>`, 501);
}
