import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatRealServerId, formatServiceId, parseRealServerId, parseServiceId } from './ids.js';

test('service ids parse strictly and format canonically', () => {
  const ok: ReadonlyArray<[string, string]> = [
    ['tcp:10.0.0.1:80', 'tcp:10.0.0.1:80'],
    ['udp:[2001:db8::1]:53', 'udp:[2001:db8::1]:53'],
    ['udp:[2001:DB8:0:0::1]:53', 'udp:[2001:db8::1]:53'],
    ['sctp:192.0.2.1:5060', 'sctp:192.0.2.1:5060'],
    ['tcp:10.0.0.1:0', 'tcp:10.0.0.1:0'],
    ['fwm:7', 'fwm:7'],
    ['fwm6:7', 'fwm6:7'],
    ['fwm:4294967295', 'fwm:4294967295'],
  ];
  for (const [text, canon] of ok) {
    const k = parseServiceId(text);
    assert.ok(k, text);
    assert.equal(formatServiceId(k), canon);
  }
  const k = parseServiceId('fwm6:7')!;
  assert.deepEqual(k, { kind: 'fwmark', fwmark: 7, family: 6 });
  for (const bad of ['', 'tcp:', 'tcp:10.0.0.1', 'tcp:10.0.0.1:', 'tcp:10.0.0.1:65536', 'tcp:10.0.0.01:80', 'TCP:10.0.0.1:80',
    'udp:2001:db8::1:53', 'udp:[2001:db8::1]', 'udp:[fe80::1%eth0]:53', 'tcp:host:80', 'fwm:0', 'fwm:-1', 'fwm:07', 'fwm:0x7',
    'fwm:4294967296', 'fwm4:7', 'fwm6:', ' tcp:10.0.0.1:80', 'tcp:10.0.0.1:80 ', 'tcp:[10.0.0.1]:80', 'icmp:10.0.0.1:0']) {
    assert.equal(parseServiceId(bad), undefined, bad);
  }
});

test('real server ids parse strictly and format canonically', () => {
  assert.equal(formatRealServerId(parseRealServerId('10.0.0.2:80')!), '10.0.0.2:80');
  assert.equal(formatRealServerId(parseRealServerId('[2001:0db8::0002]:80')!), '[2001:db8::2]:80');
  for (const bad of ['10.0.0.2', '10.0.0.2:', '[2001:db8::2]', '2001:db8::2:80', '10.0.0.2:080', 'a.b.c.d:80', '[10.0.0.2]:80']) {
    assert.equal(parseRealServerId(bad), undefined, bad);
  }
});
