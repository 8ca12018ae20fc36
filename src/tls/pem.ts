// Certificates and keys are given as PEM text or as a path to a PEM file. Files are read
// through transport/files.ts where the runtime has a file system (Node, Bun, Deno); elsewhere
// (workerd, a browser) only PEM text is accepted.
import { readTextFile } from '../transport/files.js';

/** A certificate or key: a PEM string, or a path to a PEM file. */
export type PemOrPath = string;

/** The PEM text of `v` (read from the file when `v` is a path). */
export async function readPem(v: PemOrPath): Promise<string> {
  if (typeof v !== 'string') throw new TypeError('a certificate or key must be a PEM string or a path');
  return v.includes('-----BEGIN') ? v : readTextFile(v);
}
