// TUNNEL element parsing and writing (RFC 3620 §3), including the forms LibVortex sends.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseTunnel, tunnelXml, parseTunnelReply, MAX_HOPS } from './profile.js';
import { MgmtSyntaxError } from '../session/mgmt.js';

test('TUNNEL: LibVortex two-hop request and the bare endpoint request', () => {
  // What vortex_tunnel_settings_add_hop builds for test_13, as axl dumps it.
  const spec = parseTunnel("<tunnel ip4='127.0.0.1' port='44110'><tunnel /></tunnel>");
  assert.deepEqual(spec, { hop: { ip4: '127.0.0.1', port: 44110 }, inner: { hop: {} } });
  assert.deepEqual(parseTunnel('<tunnel />'), { hop: {} });
  assert.deepEqual(parseTunnel(' <tunnel\tfqdn="proxy.example.com" srv="_beep._tcp">\r\n <tunnel endpoint="app"/> </tunnel> '), {
    hop: { fqdn: 'proxy.example.com', srv: '_beep._tcp' },
    inner: { hop: { endpoint: 'app' } },
  });
});

test('TUNNEL: written with single quotes in RFC attribute order, and read back', () => {
  const spec = { hop: { port: 10288, fqdn: 'a.example' }, inner: { hop: { ip6: '::1', port: 604 }, inner: { hop: {} } } };
  const xml = tunnelXml(spec);
  assert.equal(xml, "<tunnel fqdn='a.example' port='10288'><tunnel ip6='::1' port='604'><tunnel /></tunnel></tunnel>");
  assert.deepEqual(parseTunnel(xml), {
    hop: { fqdn: 'a.example', port: 10288 },
    inner: { hop: { ip6: '::1', port: 604 }, inner: { hop: {} } },
  });
});

test('TUNNEL: hostile or malformed elements are refused with 500/501', () => {
  const bad: Array<[string, number]> = [
    ['<tunnel', 500],
    ['', 500],
    ['<start />', 501],
    ["<tunnel ip4='1.2.3.4'><tunnel /></tunnel>", 501], // ip4 without port
    ["<tunnel ip4='1.2.3.4' port='0'><tunnel /></tunnel>", 501],
    ["<tunnel ip4='1.2.3.4' port='65536'><tunnel /></tunnel>", 501],
    ["<tunnel ip4='1.2.3.4' port='1x'><tunnel /></tunnel>", 501],
    ["<tunnel profile='urn:x'><tunnel /></tunnel>", 501], // profile only on the innermost
    ["<tunnel ip4='1.2.3.4' port='1' fqdn='x'><tunnel /></tunnel>", 501],
    ["<tunnel colour='red' />", 501],
    ["<tunnel ip4='1.2.3.4' port='1'><tunnel /><tunnel /></tunnel>", 501],
    ["<tunnel ip4='1.2.3.4' port='1'>text<tunnel /></tunnel>", 501],
    ['<tunnel /><tunnel />', 500],
    ["<tunnel ip4='1.2.3.4' port='1'><tunnel /></tunnel><tunnel />", 500],
    ["<!DOCTYPE x [<!ENTITY a 'b'>]><tunnel />", 500],
  ];
  for (const [xml, code] of bad) {
    assert.throws(
      () => parseTunnel(xml),
      (e: unknown) => e instanceof MgmtSyntaxError && e.replyCode === code,
      xml,
    );
  }
  const deep = `${"<tunnel ip4='1.2.3.4' port='1'>".repeat(MAX_HOPS)}<tunnel />${'</tunnel>'.repeat(MAX_HOPS)}`;
  assert.throws(() => parseTunnel(deep), /more than 16 hops/);
});

test('TUNNEL replies: ok, error with code, anything else refused', () => {
  assert.deepEqual(parseTunnelReply('<ok />'), { ok: true });
  assert.deepEqual(parseTunnelReply("<error code='450'>failed to connect to the next hop</error>"), {
    ok: false,
    code: 450,
    text: 'failed to connect to the next hop',
  });
  assert.throws(() => parseTunnelReply('<greeting />'), MgmtSyntaxError);
});
