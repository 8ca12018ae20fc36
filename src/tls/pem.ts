// Certificates and keys are given as PEM text or as a path to a PEM file. Files are read with
// node:fs where a runtime has it (Node, Bun, Deno), loaded lazily so the TLS module stays
// portable; elsewhere (workerd, a browser) only PEM text is accepted.

/** A certificate or key: a PEM string, or a path to a PEM file. */
export type PemOrPath = string;

/** The PEM text of `v` (read from the file when `v` is a path). */
export async function readPem(v: PemOrPath): Promise<string> {
  if (typeof v !== 'string') throw new TypeError('a certificate or key must be a PEM string or a path');
  if (v.includes('-----BEGIN')) return v;
  const load = (m: string): Promise<{ readFile(p: string, enc: 'utf8'): Promise<string> }> => import(m);
  let fs;
  try { fs = await load('node:fs/promises'); } catch {
    throw new TypeError(`"${v.slice(0, 64)}" is not PEM text, and this runtime has no file system to read it from`);
  }
  return fs.readFile(v, 'utf8');
}
