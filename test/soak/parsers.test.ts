// Bounded random-input soak of the XML parsers a peer reaches: channel 0 (parseMgmt), SASL
// <blob> (parseBlob), TUNNEL (parseTunnel), TLS (parseTlsElement), XML-RPC (parseMethodCall,
// parseMethodResponse). Inputs: valid documents, the same mutated, structural splices, random
// text. Only the documented typed error may escape each parser; outcomes are counted.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseMgmt, MgmtSyntaxError } from '../../src/session/mgmt.js';
import { parseBlob } from '../../src/sasl/blob.js';
import { parseTunnel } from '../../src/tunnel/profile.js';
import { parseTlsElement } from '../../src/tls/profile.js';
import { parseMethodCall, parseMethodResponse, XmlRpcSyntaxError } from '../../src/xmlrpc/values.js';
import { Rng, mutateText, seed } from './rand.js';

const BUDGET_MS = 1200;
const MAX_ITER = 20_000;

const MGMT = [
  `<greeting><profile uri='http://a/b'/><profile uri="http://c"/></greeting>`,
  `<greeting features='x' localize='en'/>`,
  `<start number='1' serverName='h'><profile uri='http://a'><![CDATA[<ready/>]]></profile><profile uri='b' encoding='base64'>aGk=</profile></start>`,
  `<start number="2147483647"><profile uri='u'/></start>`,
  `<close number='0' code='200' xml:lang='en'>bye</close>`,
  `<ok />`,
  `<error code='550'>no &amp; never</error>`,
  `<profile uri='http://x'>content</profile>`,
];
const BLOBS = [
  `<blob>aGVsbG8=</blob>`,
  `<blob status='complete'/>`,
  `<blob status="abort" />`,
  `<error code='535'>failed</error>`,
  `<blob>${'QUFB'.repeat(50)}</blob>`,
];
const TUNNELS = [
  `<tunnel />`,
  `<tunnel fqdn='a.example' port='10288'><tunnel ip4='10.0.0.1' port='604'><tunnel/></tunnel></tunnel>`,
  `<tunnel ip6='::1' port='1'><tunnel profile='http://x'/></tunnel>`,
  `<tunnel endpoint='e'/>`,
  `<tunnel fqdn='x' srv='_beep._tcp'><tunnel/></tunnel>`,
];
const TLS = [`<ready />`, `<ready version='1'/>`, `<proceed/>`, `<error code='421'>no</error>`];
const CALLS = [
  `<?xml version="1.0"?><methodCall><methodName>a.b</methodName><params><param><value><i4>42</i4></value></param><param><value><string>s &amp; t</string></value></param></params></methodCall>`,
  `<methodCall><methodName>m</methodName><params><param><value><struct><member><name>k</name><value><array><data><value><double>1.5E3</double></value><value><boolean>1</boolean></value><value><base64>aGk=</base64></value><value><dateTime.iso8601>20261129T05:00:00</dateTime.iso8601></value><value><none/></value></data></array></value></member></struct></value></param></params></methodCall>`,
  `<methodCall><methodName>x</methodName></methodCall>`,
];
const RESPONSES = [
  `<?xml version="1.0"?><methodResponse><params><param><value><struct><member><name>__proto__</name><value>v</value></member></struct></value></param></params></methodResponse>`,
  `<methodResponse><fault><value><struct><member><name>faultCode</name><value><int>4</int></value></member><member><name>faultString</name><value><string>no</string></value></member></struct></value></fault></methodResponse>`,
];

const SPLICES = [
  '<!DOCTYPE x [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;&a;">]>',
  '&b;',
  '<a>'.repeat(200),
  '</a>',
  "<x y='1' y='2'/>",
  '\u0000',
  '\ud800',
  '<?pi x?>',
  '<!-- c -->',
  ']]>',
  '&#xD800;',
];

function input(r: Rng, corpus: readonly string[]): { kind: string; text: string } {
  const base = r.pick(corpus);
  const k = r.int(10);
  if (k < 2) return { kind: 'valid', text: base };
  if (k < 7) return { kind: 'mutated', text: mutateText(r, base, 4) };
  if (k < 9) {
    const at = r.int(base.length + 1);
    return { kind: 'spliced', text: base.slice(0, at) + r.pick(SPLICES) + base.slice(at) };
  }
  return { kind: 'random', text: Buffer.from(r.bytes(r.int(200))).toString(r.chance(0.5) ? 'latin1' : 'utf8') };
}

function soak(
  name: string,
  corpus: readonly string[],
  parse: (s: string) => unknown,
  allowed: (e: unknown) => boolean,
  fallback: number,
): void {
  test(`soak: ${name}: only its typed error escapes (<= ${BUDGET_MS} ms, seeded)`, (t) => {
    const s0 = seed(fallback);
    const r = new Rng(s0);
    const counts = new Map<string, number>();
    const bad: string[] = [];
    const t0 = Date.now();
    let iter = 0;
    while (iter < MAX_ITER && Date.now() - t0 < BUDGET_MS) {
      iter++;
      const c = input(r, corpus);
      let outcome: string;
      try {
        parse(c.text);
        outcome = 'parsed';
      } catch (e) {
        if (allowed(e)) outcome = 'typed error';
        else {
          outcome = 'ESCAPED';
          if (bad.length < 5) bad.push(`${(e as Error)?.name}: ${(e as Error)?.message} <- ${JSON.stringify(c.text.slice(0, 160))}`);
        }
      }
      const key = `${c.kind} -> ${outcome}`;
      counts.set(key, (counts.get(key) ?? 0) + 1);
    }
    t.diagnostic(
      `seed ${s0}, ${iter} inputs in ${Date.now() - t0} ms: ${[...counts]
        .sort()
        .map(([k, n]) => `${k} ${n}`)
        .join(', ')}`,
    );
    const escaped = [...counts].filter(([k]) => k.endsWith('ESCAPED')).reduce((n, [, v]) => n + v, 0);
    const validFailed = counts.get('valid -> typed error') ?? 0;
    assert.equal(escaped, 0, `${escaped} untyped errors escaped; first: ${bad[0]}`);
    assert.equal(validFailed, 0, `${validFailed} valid inputs were refused`);
  });
}

const isMgmt = (e: unknown): boolean => e instanceof MgmtSyntaxError;
soak('parseMgmt (channel 0)', MGMT, (s) => parseMgmt(s), isMgmt, 101);
soak('parseBlob (SASL)', BLOBS, (s) => parseBlob(s), isMgmt, 202);
soak('parseTunnel (TUNNEL)', TUNNELS, (s) => parseTunnel(s), isMgmt, 303);
soak('parseTlsElement (TLS)', TLS, (s) => parseTlsElement(s), isMgmt, 404);
soak(
  'parseMethodCall (XML-RPC)',
  CALLS,
  (s) => parseMethodCall(s),
  (e) => e instanceof XmlRpcSyntaxError,
  505,
);
soak(
  'parseMethodResponse (XML-RPC)',
  RESPONSES,
  (s) => parseMethodResponse(s),
  (e) => e instanceof XmlRpcSyntaxError,
  606,
);
