// A session refused at the greeting (RFC 3080 §2.3.1.1: the listener answers the implicit
// greeting MSG with ERR) without building a session: when the process is at capacity there
// is no codec slot to spare, and a refused stranger should cost nothing but these octets.
import { errorXml, MGMT_CONTENT_TYPE } from './mgmt.js';

const enc = new TextEncoder();

/** The complete wire bytes of a greeting refusal: `ERR 0 0 . 0 <size>` with an <error> element. */
export function greetingRefusal(code: number, text: string): Uint8Array {
  const payload = enc.encode(`Content-Type: ${MGMT_CONTENT_TYPE}\r\n\r\n${errorXml({ code, text })}`);
  const head = enc.encode(`ERR 0 0 . 0 ${payload.length}\r\n`);
  const out = new Uint8Array(head.length + payload.length + 5);
  out.set(head, 0);
  out.set(payload, head.length);
  out.set(enc.encode('END\r\n'), head.length + payload.length);
  return out;
}
