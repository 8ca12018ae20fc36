/**
 * Certificate tooling on node-forge: a CA and leaf certificates for tests and `npm start --tls`.
 * node-forge is used for X.509 building and inspection only, never as a TLS engine.
 * @module beepwire/certs
 */
import forge from 'node-forge';

/** A PEM certificate and its private key. */
export interface CertPair {
  /** Certificate, PEM. */
  cert: string;
  /** Private key, PEM. */
  key: string;
}

/** Options of a generated certificate. */
export interface CertOptions {
  /** Subject common name. */
  commonName: string;
  /** DNS names (subjectAltName); defaults to the common name. */
  dnsNames?: string[];
  /** IP addresses (subjectAltName). */
  ipAddresses?: string[];
  /** Validity in days (default 365). */
  days?: number;
  /** RSA modulus bits (default 2048). */
  bits?: number;
}

function serial(): string {
  return forge.util.bytesToHex(forge.random.getBytesSync(16)).replace(/^[89a-f]/, '1');
}

function build(o: CertOptions, issuer: CertPair | undefined, isCa: boolean, clientAuth: boolean): CertPair {
  // node-forge uses the platform's native RSA key generation when it has one.
  const keys = forge.pki.rsa.generateKeyPair({ bits: o.bits ?? 2048, e: 0x10001 });
  const cert = forge.pki.createCertificate();
  cert.publicKey = keys.publicKey;
  cert.serialNumber = serial();
  cert.validity.notBefore = new Date(Date.now() - 60_000);
  cert.validity.notAfter = new Date(Date.now() + (o.days ?? 365) * 86_400_000);
  const subject = [
    { name: 'commonName', value: o.commonName },
    { name: 'organizationName', value: 'beepwire test' },
  ];
  cert.setSubject(subject);
  const issuerCert = issuer ? forge.pki.certificateFromPem(issuer.cert) : undefined;
  cert.setIssuer(issuerCert ? issuerCert.subject.attributes : subject);
  const ext: object[] = [{ name: 'basicConstraints', cA: isCa, critical: true }];
  if (isCa) ext.push({ name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true });
  else {
    ext.push({ name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true });
    ext.push({ name: 'extKeyUsage', serverAuth: true, clientAuth });
    const alt = [
      ...(o.dnsNames ?? [o.commonName]).map((value) => ({ type: 2, value })),
      ...(o.ipAddresses ?? []).map((ip) => ({ type: 7, ip })),
    ];
    ext.push({ name: 'subjectAltName', altNames: alt });
  }
  ext.push({ name: 'subjectKeyIdentifier' });
  cert.setExtensions(ext);
  const signKey = issuer ? forge.pki.privateKeyFromPem(issuer.key) : keys.privateKey;
  cert.sign(signKey, forge.md.sha256.create());
  return { cert: forge.pki.certificateToPem(cert), key: forge.pki.privateKeyToPem(keys.privateKey) };
}

/** A self-signed certificate authority. */
export function generateCa(o: CertOptions = { commonName: 'beepwire test CA' }): CertPair {
  return build(o, undefined, true, false);
}

/** A leaf certificate signed by `ca` (usable for server and, with clientAuth, client auth). */
export function generateLeaf(ca: CertPair, o: CertOptions, clientAuth = true): CertPair {
  return build(o, ca, false, clientAuth);
}

/** SHA-256 fingerprint of a PEM certificate, as colon-separated upper-case hex (like node:tls). */
export function fingerprint256(pem: string): string {
  const der = forge.asn1.toDer(forge.pki.certificateToAsn1(forge.pki.certificateFromPem(pem))).getBytes();
  const hex = forge.md.sha256.create().update(der).digest().toHex().toUpperCase();
  return hex.match(/../g)!.join(':');
}

/** Subject common name of a PEM certificate. */
export function commonName(pem: string): string | undefined {
  const v = forge.pki.certificateFromPem(pem).subject.getField('CN')?.value;
  return typeof v === 'string' ? v : undefined;
}
