// Base64 without Buffer (Deno, Bun, workerd and browsers all have atob/btoa). One place for
// the codec loader, SASL blobs and piggybacked profile content.

/** Base64 of bytes. */
export function toBase64(b: Uint8Array): string {
  let s = '';
  for (const byte of b) s += String.fromCharCode(byte);
  return btoa(s);
}

/** Bytes of base64 text (whitespace ignored); throws TypeError on malformed input. */
export function fromBase64(s: string): Uint8Array {
  const clean = s.replace(/\s+/g, '');
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(clean) || clean.length % 4 !== 0) throw new TypeError('malformed base64');
  const bin = atob(clean);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

/** UTF-8 text carried as base64 (piggybacked profile content with encoding='base64'). */
export function base64Text(s: string): string {
  return new TextDecoder().decode(fromBase64(s));
}
