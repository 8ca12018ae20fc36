// IP literal detection without node:net (TLS sends SNI only for host names, RFC 6066 §3).

const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;

/** True when `host` is an IPv4 or IPv6 address literal rather than a name. */
export function isIpAddress(host: string): boolean {
  if (IPV4.test(host)) return true;
  // IPv6: hex groups and colons (possibly with an embedded IPv4 tail or a zone id); a name never has a colon.
  return host.includes(':') && /^[0-9a-fA-F:.]+(%[\w.-]+)?$/.test(host);
}
