// RFC 3080 §2.2: every BEEP message is a MIME entity. A payload that starts with CRLF has an
// empty header block (LibVortex always sends that); defaults are application/octet-stream
// and binary transfer encoding. No node: imports.

/** A parsed message payload. */
export interface MimeEntity {
  /** Header fields in order, names as sent. */
  headers: Array<[string, string]>;
  /** Content-Type value (default application/octet-stream). */
  contentType: string;
  /** Content-Transfer-Encoding value (default binary). */
  transferEncoding: string;
  /** Octets after the header block (a view, not a copy). */
  body: Uint8Array;
  /** False when the payload had no valid header block and is all body. */
  hasHeaderBlock: boolean;
}

/** RFC 3080 §2.2 default content type. */
export const DEFAULT_CONTENT_TYPE = 'application/octet-stream';
/** RFC 3080 §2.2 default transfer encoding. */
export const DEFAULT_TRANSFER_ENCODING = 'binary';

const latin1 = (b: Uint8Array, from: number, to: number): string => {
  let s = '';
  for (let i = from; i < to; i++) s += String.fromCharCode(b[i]!); // callers keep to <= b.length
  return s;
};

/**
 * Splits a payload into MIME headers and body. Without a valid header block (no empty line
 * within `maxHeaderBytes`, or a line that is not `name: value`) the whole payload is body,
 * as peers with automatic MIME off send it.
 */
export function parseMime(payload: Uint8Array, maxHeaderBytes = 8192): MimeEntity {
  const raw = (): MimeEntity => ({
    headers: [],
    contentType: DEFAULT_CONTENT_TYPE,
    transferEncoding: DEFAULT_TRANSFER_ENCODING,
    body: payload,
    hasHeaderBlock: false,
  });
  // Empty header block: CRLF, or a bare LF as LibVortex also accepts.
  const empty = payload.length >= 2 && payload[0] === 13 && payload[1] === 10 ? 2 : payload.length >= 1 && payload[0] === 10 ? 1 : 0;
  if (empty > 0) {
    return {
      headers: [],
      contentType: DEFAULT_CONTENT_TYPE,
      transferEncoding: DEFAULT_TRANSFER_ENCODING,
      body: payload.subarray(empty),
      hasHeaderBlock: true,
    };
  }
  const limit = Math.min(payload.length, maxHeaderBytes);
  const headers: Array<[string, string]> = [];
  let p = 0;
  for (;;) {
    let e = p;
    while (e + 1 < limit && !(payload[e] === 13 && payload[e + 1] === 10)) e++;
    if (e + 1 >= limit) return raw(); // no CRLF: not a header block
    if (e === p) {
      p = e + 2;
      break;
    } // empty line ends the block
    const line = latin1(payload, p, e);
    if ((line[0] === ' ' || line[0] === '\t') && headers.length > 0) {
      headers[headers.length - 1]![1] += ` ${line.trim()}`; // folded continuation (RFC 2822 §2.2.3)
    } else {
      const colon = line.indexOf(':');
      if (colon <= 0 || !/^[!-9;-~]+$/.test(line.slice(0, colon))) return raw();
      headers.push([line.slice(0, colon), line.slice(colon + 1).trim()]);
    }
    p = e + 2;
  }
  const get = (name: string): string | undefined => headers.find(([k]) => k.toLowerCase() === name)?.[1];
  return {
    headers,
    contentType: get('content-type') ?? DEFAULT_CONTENT_TYPE,
    transferEncoding: get('content-transfer-encoding') ?? DEFAULT_TRANSFER_ENCODING,
    body: payload.subarray(p),
    hasHeaderBlock: true,
  };
}

const CRLF = new Uint8Array([13, 10]);
const enc = new TextEncoder();

/** The header block for `headers`, ending with the empty line (just CRLF when none). */
export function mimeHeaderBytes(headers?: Array<[string, string]> | Record<string, string>): Uint8Array {
  if (headers === undefined) return CRLF; // every message without headers: no allocation
  const list = Array.isArray(headers) ? headers : Object.entries(headers);
  if (list.length === 0) return CRLF;
  let text = '';
  for (const [k, v] of list) {
    if (!/^[!-9;-~]+$/.test(k)) throw new TypeError(`invalid MIME header name ${JSON.stringify(k)}`);
    if (/[\r\n]/.test(v)) throw new TypeError(`MIME header ${k} contains CR or LF`);
    text += `${k}: ${v}\r\n`;
  }
  return enc.encode(`${text}\r\n`);
}
