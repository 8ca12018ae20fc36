// XML-RPC documents: the forms LibVortex writes (golden strings from vortex_xml_rpc_types.c's
// printf formats), round trips, and hostile input turned into syntax errors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  XmlRpcDouble,
  XmlRpcFault,
  XmlRpcSyntaxError,
  FAULT,
  methodCallXml,
  methodResponseXml,
  parseMethodCall,
  parseMethodResponse,
  type XmlRpcValue,
} from './values.js';

test('XML-RPC: a LibVortex methodCall (i4, double %g, CDATA string, struct, boolean) parses', () => {
  const xml =
    '<?xml version="1.0"?><methodCall><methodName>get_struct</methodName><params>' +
    '<param><value><struct><member><name>count</name><value><i4>3</i4></value></member><member><name>fraction</name><value><double>10.2</double></value></member><member><name>status</name><value><boolean>0</boolean></value></member></struct></value></param>' +
    '<param><value><string><![CDATA[a <b> & c]]></string></value></param>' +
    '<param><value><double>1e+06</double></value></param>' +
    '</params></methodCall>';
  assert.deepEqual(parseMethodCall(xml), { method: 'get_struct', params: [{ count: 3, fraction: 10.2, status: false }, 'a <b> & c', 1e6] });
  assert.deepEqual(parseMethodCall('<methodCall><methodName>get_the_string</methodName><params></params></methodCall>'), {
    method: 'get_the_string',
    params: [],
  });
  assert.deepEqual(parseMethodCall('<methodCall><methodName>x</methodName></methodCall>'), { method: 'x', params: [] });
});

test("XML-RPC: responses are written in LibVortex's form and read back", () => {
  assert.equal(
    methodResponseXml(7),
    '<?xml version="1.0"?><methodResponse><params><param><value><i4>7</i4></value></param></params></methodResponse>',
  );
  assert.equal(
    methodResponseXml(false),
    '<?xml version="1.0"?><methodResponse><params><param><value><boolean>0</boolean></value></param></params></methodResponse>',
  );
  assert.equal(
    methodResponseXml(new XmlRpcDouble(15)),
    '<?xml version="1.0"?><methodResponse><params><param><value><double>15</double></value></param></params></methodResponse>',
  );
  assert.equal(
    methodResponseXml(new XmlRpcFault(-32601, 'no such method')),
    '<?xml version="1.0"?><methodResponse><fault><value><struct><member><name>faultCode</name><value><i4>-32601</i4></value></member><member><name>faultString</name><value><string>no such method</string></value></member></struct></value></fault></methodResponse>',
  );
  // LibVortex's own fault form (int, CDATA).
  const f = parseMethodResponse(
    '<?xml version="1.0"?><methodResponse><fault><value><struct><member><name>faultCode</name><value><int>4</int></value></member><member><name>faultString</name><value><string><![CDATA[Too many parameters.]]></string></value></member></struct></value></fault></methodResponse>',
  );
  assert.ok(f instanceof XmlRpcFault);
  assert.equal(f.faultCode, 4);
  assert.equal(f.faultString, 'Too many parameters.');
});

test('XML-RPC: every type round-trips through a call', () => {
  const params: XmlRpcValue[] = [
    0,
    -2147483648,
    2147483647,
    1.5,
    2 ** 40,
    -0.000001,
    true,
    false,
    '',
    'plain',
    '<&\'">',
    'ünïcödé',
    new Date(Date.UTC(1998, 6, 17, 14, 8, 55)),
    new Uint8Array([0, 1, 254, 255]),
    null,
    [],
    [1, 'two', [3]],
    {},
    { a: { b: { c: [1, { d: 'deep' }] } } },
  ];
  const back = parseMethodCall(methodCallXml('aritmetic-operations/basic/sum', params));
  assert.equal(back.method, 'aritmetic-operations/basic/sum');
  assert.deepEqual(back.params, params);
  assert.deepEqual(parseMethodCall(methodCallXml('d', [new XmlRpcDouble(3)])).params, [3]);
  assert.match(methodCallXml('d', [new XmlRpcDouble(3)]), /<double>3<\/double>/);
  assert.match(methodCallXml('d', [1e300]), /<double>1E300<\/double>/);
});

test('XML-RPC: a struct member named __proto__ stays a plain member', () => {
  const v = parseMethodCall(
    '<methodCall><methodName>m</methodName><params><param><value><struct><member><name>__proto__</name><value><i4>1</i4></value></member></struct></value></param></params></methodCall>',
  ).params[0] as Record<string, unknown>;
  assert.equal(Object.getPrototypeOf(v), Object.prototype);
  assert.deepEqual(Object.keys(v), ['__proto__']);
});

test('XML-RPC: malformed or hostile documents are syntax errors with fault codes', () => {
  const bad: Array<[string, number]> = [
    ['<methodCall>', FAULT.parse],
    ['<!DOCTYPE m [<!ENTITY x "y">]><methodCall><methodName>m</methodName></methodCall>', FAULT.parse],
    ['<methodResponse/>', FAULT.invalid],
    ['<methodCall><params/></methodCall>', FAULT.invalid],
    [
      '<methodCall><methodName>m</methodName><params><param><value><i4>2147483648</i4></value></param></params></methodCall>',
      FAULT.invalid,
    ],
    ['<methodCall><methodName>m</methodName><params><param><value><i4>1.5</i4></value></param></params></methodCall>', FAULT.invalid],
    [
      '<methodCall><methodName>m</methodName><params><param><value><double>NaN</double></value></param></params></methodCall>',
      FAULT.invalid,
    ],
    [
      '<methodCall><methodName>m</methodName><params><param><value><boolean>true</boolean></value></param></params></methodCall>',
      FAULT.invalid,
    ],
    [
      '<methodCall><methodName>m</methodName><params><param><value><base64>!!</base64></value></param></params></methodCall>',
      FAULT.invalid,
    ],
    ['<methodCall><methodName>m</methodName><params><param><value><blob>1</blob></value></param></params></methodCall>', FAULT.invalid],
    [
      '<methodCall><methodName>m</methodName><params><param><value><i4>1</i4><i4>2</i4></value></param></params></methodCall>',
      FAULT.invalid,
    ],
    [
      '<methodCall><methodName>m</methodName><params><param><value><struct><member><value><i4>1</i4></value></member></struct></value></param></params></methodCall>',
      FAULT.invalid,
    ],
    [
      '<methodCall><methodName>m</methodName><params><param><value><array><i4>1</i4></array></value></param></params></methodCall>',
      FAULT.invalid,
    ],
  ];
  for (const [xml, code] of bad) {
    assert.throws(
      () => parseMethodCall(xml),
      (e: unknown) => e instanceof XmlRpcSyntaxError && e.faultCode === code,
      xml,
    );
  }
  const deep = `<methodCall><methodName>m</methodName><params><param>${'<value><array><data>'.repeat(100)}${'</data></array></value>'.repeat(100)}</param></params></methodCall>`;
  assert.throws(() => parseMethodCall(deep), /nested too deeply/);
  assert.throws(() => parseMethodResponse('<methodResponse><fault><value><i4>1</i4></value></fault></methodResponse>'), XmlRpcSyntaxError);
  assert.throws(() => methodCallXml('bad name', []), RangeError);
  assert.throws(() => methodCallXml('m', [Infinity]), RangeError);
});
