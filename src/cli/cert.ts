// `beepwire cert`: a test CA and a leaf certificate signed by it, as PEM files (node-forge).
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as certs from '../tls/certs.js';
import { Output } from './common.js';

/** Options of `beepwire cert`. */
export interface CertCommandOptions {
  /** Directory for ca.pem, ca-key.pem, cert.pem, key.pem. */
  out: string;
  /** Leaf common name. */
  cn: string;
  /** DNS names of the leaf. */
  dns: string[];
  /** IP addresses of the leaf. */
  ip: string[];
  /** Validity in days. */
  days: number;
  /** JSON instead of text. */
  json: boolean;
}

/** Writes the CA and leaf; resolves with the exit code. */
export function cert(o: CertCommandOptions): number {
  const out = new Output(o.json);
  mkdirSync(o.out, { recursive: true });
  const ca = certs.generateCa({ commonName: `${o.cn} test CA`, days: o.days });
  const leaf = certs.generateLeaf(ca, { commonName: o.cn, dnsNames: o.dns.length > 0 ? o.dns : [o.cn], ipAddresses: o.ip, days: o.days });
  const files = { ca: join(o.out, 'ca.pem'), caKey: join(o.out, 'ca-key.pem'), cert: join(o.out, 'cert.pem'), key: join(o.out, 'key.pem') };
  writeFileSync(files.ca, ca.cert);
  writeFileSync(files.caKey, ca.key, { mode: 0o600 });
  writeFileSync(files.cert, leaf.cert);
  writeFileSync(files.key, leaf.key, { mode: 0o600 });
  out.event(`wrote ${Object.values(files).join(', ')}; leaf SHA-256 ${certs.fingerprint256(leaf.cert)}`, {
    event: 'cert',
    ...files,
    fingerprint256: certs.fingerprint256(leaf.cert),
  });
  return 0;
}
