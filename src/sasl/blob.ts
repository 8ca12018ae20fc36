// The SASL profile's <blob> element (RFC 3080 §4.1): base64 data with a status of
// continue (default), complete or abort. Portable: no node: imports.
import { SaxesParser } from 'saxes';
import { MgmtSyntaxError, xmlEscape } from '../session/mgmt.js';
import { toBase64, fromBase64 } from './crypto.js';

/** A parsed <blob>. */
export interface Blob {
  /** continue, complete or abort. */
  status: 'continue' | 'complete' | 'abort';
  /** Decoded data; undefined when the element is empty. */
  data: Uint8Array | undefined;
}

/** Builds `<blob status='...'>base64</blob>` (status omitted when continue). */
export function blobXml(status: Blob['status'], data?: Uint8Array): string {
  const st = status === 'continue' ? '' : ` status='${xmlEscape(status)}'`; // the one escaper, even for a fixed set
  return data === undefined || data.length === 0 ? `<blob${st} />` : `<blob${st}>${toBase64(data)}</blob>`;
}

/** Parses a <blob> or, for errors, returns the <error> code and text. */
export function parseBlob(xml: string): Blob | { error: number; text: string } {
  const p = new SaxesParser();
  let root = '',
    status = 'continue',
    code = '',
    text = '';
  let failed: Error | undefined;
  p.on('error', (e) => {
    failed ??= e;
  });
  p.on('doctype', () => {
    failed ??= new Error('DOCTYPE not allowed');
  });
  p.on('opentag', (t) => {
    if (root !== '') {
      failed ??= new Error(`unexpected <${t.name}>`);
      return;
    }
    root = t.name;
    status = (t.attributes as Record<string, string>).status ?? 'continue';
    code = (t.attributes as Record<string, string>).code ?? '';
  });
  p.on('text', (t) => {
    text += t;
  });
  p.on('cdata', (t) => {
    text += t;
  });
  try {
    p.write(xml.trim()).close();
  } catch (e) {
    failed ??= e as Error;
  }
  if (failed !== undefined) throw new MgmtSyntaxError(`SASL: malformed XML: ${failed.message}`);
  if (root === 'error') return { error: /^[0-9]{3}$/.test(code) ? Number(code) : 550, text: text.trim() };
  if (root !== 'blob') throw new MgmtSyntaxError(`SASL: expected <blob>, got <${root}>`, 501);
  if (status !== 'continue' && status !== 'complete' && status !== 'abort') throw new MgmtSyntaxError(`SASL: bad status '${status}'`, 501);
  const t = text.trim();
  let data: Uint8Array | undefined;
  try {
    data = t === '' ? undefined : fromBase64(t);
  } catch {
    throw new MgmtSyntaxError('SASL: blob is not base64', 501);
  }
  return { status, data };
}
