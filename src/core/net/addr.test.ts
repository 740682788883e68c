import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isIP } from 'node:net';
import {
  isLoopback, addrFold, applyMask, formatEndpoint, formatIp, formatIpv6Full, inPrefix, ipEquals, ipv4FromU32, ipv4ToU32, maskPrefixLength,
  parseEndpoint, parseIp, parseIpv4, parseIpv6, parsePort, prefixMask, parsePrefix, sameEndpoint,
} from './addr.js';

const hex = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');

test('IPv4 strict parsing accepts plain dotted quads', () => {
  for (const [t, h] of [['0.0.0.0', '00000000'], ['255.255.255.255', 'ffffffff'], ['198.18.0.1', 'c6120001'], ['10.0.0.10', '0a00000a']]) {
    const a = parseIpv4(t);
    assert.ok(a, t);
    assert.equal(a.family, 4);
    assert.equal(hex(a.bytes), h);
  }
});

test('IPv4 strict parsing rejects everything inet_aton would bend (empty parts, hex, exponents, octal zeros, short forms)', () => {
  for (const t of ['1..2.3', '0x10.1.1.1', '1e2.0.0.1', '01.2.3.4', '1.2.3.04', '00.0.0.0', '256.1.1.1', '1.2.3', '1.2.3.4.5', '1.2.3.4.',
    '.1.2.3.4', '1.2.3.-4', '+1.2.3.4', ' 1.2.3.4', '1.2.3.4 ', '1.2.3.4\n', '1.2.3.a', '1.2.3.4/32', '1.2.3.4:80', '',
    '4294967295', '0x7f000001', '1.2.3.1000', '١.٢.٣.٤', '1.2.3.٤', '1.2.3.4%eth0']) {
    assert.equal(parseIpv4(t), undefined, JSON.stringify(t));
    assert.equal(parseIp(t), undefined, JSON.stringify(t));
  }
});

test('IPv6 parsing accepts full, compressed and IPv4-suffixed forms, any case', () => {
  const cases: [string, string][] = [
    ['::', '00000000000000000000000000000000'],
    ['::1', '00000000000000000000000000000001'],
    ['1::', '00010000000000000000000000000000'],
    ['2001:db8::1', '20010db8000000000000000000000001'],
    ['2001:0DB8:0000:0000:0000:0000:0000:0001', '20010db8000000000000000000000001'],
    ['1:2:3:4:5:6:7::', '00010002000300040005000600070000'],
    ['::2:3:4:5:6:7:8', '00000002000300040005000600070008'],
    ['::ffff:192.0.2.128', '00000000000000000000ffffc0000280'],
    ['1:2:3:4:5:6:1.2.3.4', '00010002000300040005000601020304'],
    ['64:ff9b::198.18.0.1', '0064ff9b0000000000000000c6120001'],
  ];
  for (const [t, h] of cases) {
    const a = parseIpv6(t);
    assert.ok(a, t);
    assert.equal(hex(a.bytes), h, t);
    assert.equal(hex(parseIp(t)!.bytes), h, t);
  }
});

test('IPv6 parsing rejects malformed text: double ::, too many/few groups, long groups, zones, brackets, bad IPv4 tails', () => {
  for (const t of ['', ':', ':::', '1::2::3', '1:2:3:4:5:6:7:8:9', '1:2:3:4:5:6:7', '1:2:3:4:5:6:7:8::', '::1:2:3:4:5:6:7:8',
    '12345::', 'g::1', '1:', ':1', '1::2:', ':1::2', 'fe80::1%eth0', '[::1]', '::1.2.3', '::1.2.3.04', '::256.1.1.1',
    '1.2.3.4::', '::1.2.3.4:5', '1:2:3:4:5:1.2.3.4', '1:2:3:4:5:6:7:1.2.3.4', ' ::1', '::1 ', '::0x1', '::-1', '2001:db8::/64',
    'ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.2555']) {
    assert.equal(parseIpv6(t), undefined, JSON.stringify(t));
    assert.equal(parseIp(t), undefined, JSON.stringify(t));
  }
});

test('canonical IPv6 text follows RFC 5952: lowercase, no leading zeros, longest (first) zero run, never a single group', () => {
  const cases: [string, string][] = [
    ['2001:0DB8:0000:0000:0000:0000:0000:0001', '2001:db8::1'],
    ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'], // §4.2.3: first of equal runs
    ['2001:0:0:1:0:0:0:1', '2001:0:0:1::1'], // §4.2.3: longest run
    ['2001:db8:0:1:1:1:1:1', '2001:db8:0:1:1:1:1:1'], // §4.2.2: a single 0 is not compressed
    ['0:0:0:0:0:0:0:0', '::'],
    ['0:0:0:0:0:0:0:1', '::1'],
    ['1:0:0:0:0:0:0:0', '1::'],
    ['2001:DB8::A:B', '2001:db8::a:b'],
    ['::ffff:c000:0280', '::ffff:192.0.2.128'], // §5: IPv4-mapped keeps the dotted quad
    ['fe80:0:0:0:200:5eff:fe00:5301', 'fe80::200:5eff:fe00:5301'],
  ];
  for (const [t, want] of cases) assert.equal(formatIp(parseIp(t)!), want, t);
  assert.equal(formatIpv6Full(parseIp('2001:db8::1')!), '2001:0db8:0000:0000:0000:0000:0000:0001');
});

test('endpoints and ports: [v6]:port and v4:port, strict decimal ports 0..65535', () => {
  assert.deepEqual(parseEndpoint('198.18.1.100:80')?.port, 80);
  assert.equal(formatEndpoint(parseEndpoint('198.18.1.100:80')!.addr, 80), '198.18.1.100:80');
  const e6 = parseEndpoint('[2001:DB8::1]:443');
  assert.ok(e6);
  assert.equal(formatEndpoint(e6.addr, e6.port), '[2001:db8::1]:443');
  for (const t of ['198.18.1.100', '198.18.1.100:', '198.18.1.100:65536', '198.18.1.100:080', '198.18.1.100:-1', '2001:db8::1:80',
    '[2001:db8::1]', '[2001:db8::1]80', '[198.18.1.100]:80', '1..2.3:80', '[::1]:0x50', '198.18.1.100:8 0']) {
    assert.equal(parseEndpoint(t), undefined, t);
  }
  assert.equal(parsePort('0'), 0);
  assert.equal(parsePort('65535'), 65535);
  for (const t of ['', '00', '65536', '1e3', '+1', ' 1', '0x10']) assert.equal(parsePort(t), undefined, t);
});

test('masks, prefixes, integer folds', () => {
  assert.equal(hex(prefixMask(4, 24).bytes), 'ffffff00');
  assert.equal(hex(prefixMask(4, 0).bytes), '00000000');
  assert.equal(hex(prefixMask(6, 65).bytes), 'ffffffffffffffff8000000000000000');
  assert.equal(maskPrefixLength(parseIp('255.255.240.0')!), 20);
  assert.equal(maskPrefixLength(parseIp('255.0.255.0')!), undefined);
  assert.equal(formatIp(applyMask(parseIp('198.18.3.77')!, prefixMask(4, 16))), '198.18.0.0');
  assert.ok(inPrefix(parseIp('198.19.255.1')!, parseIp('198.18.0.0')!, 15));
  assert.ok(!inPrefix(parseIp('198.20.0.1')!, parseIp('198.18.0.0')!, 15));
  assert.ok(!inPrefix(parseIp('::1')!, parseIp('198.18.0.0')!, 0));
  assert.equal(ipv4ToU32(parseIp('255.1.2.3')!), 0xff010203);
  assert.equal(formatIp(ipv4FromU32(0xc6120001)), '198.18.0.1');
  assert.equal(addrFold(parseIp('198.18.0.1')!), 0xc6120001);
  // IPv6 fold: XOR of the four 32-bit words
  assert.equal(addrFold(parseIp('1:2:3:4:5:6:7:8')!), (0x00010002 ^ 0x00030004 ^ 0x00050006 ^ 0x00070008) >>> 0);
  assert.ok(ipEquals(parseIp('::ffff:1.2.3.4')!, parseIp('::FFFF:102:304')!));
  assert.ok(!ipEquals(parseIp('1.2.3.4')!, parseIp('::ffff:1.2.3.4')!));
});

// xorshift32: deterministic fuzzing.
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => { s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0; return s; };
}

test('round trip: format(parse(format(a))) is stable and parse(format(a)) == a for 20k random addresses', () => {
  const r = rng(7);
  for (let n = 0; n < 20000; n++) {
    const v6 = (r() & 1) === 1;
    const b = new Uint8Array(v6 ? 16 : 4);
    for (let i = 0; i < b.length; i += 2) {
      // plenty of zero groups so that every compression case occurs
      const z = (r() & 3) !== 0;
      b[i] = z ? 0 : r() & 0xff; b[i + 1] = z ? 0 : r() & 0xff;
    }
    if (v6 && (r() & 15) === 0) { b.fill(0, 0, 10); b[10] = 0xff; b[11] = 0xff; }
    const a = { family: v6 ? 6 as const : 4 as const, bytes: b };
    const t = formatIp(a);
    const back = parseIp(t);
    assert.ok(back && ipEquals(back, a), `${t} (${hex(b)})`);
    assert.equal(formatIp(back), t);
    assert.equal(isIP(t), v6 ? 6 : 4, t); // node's own parser agrees the text is an address
  }
});

test('mutated address text: whatever parses is what node:net accepts, and canonicalises stably (20k cases)', () => {
  const r = rng(99);
  const seeds = ['198.18.0.1', '2001:db8::1', '::ffff:1.2.3.4', '1:2:3:4:5:6:7:8', '::', 'fe80::200:5eff:fe00:5301', '10.0.0.255'];
  const alphabet = '0123456789abcdefABCDEF:.x%[] ';
  for (let n = 0; n < 20000; n++) {
    let t = seeds[r() % seeds.length];
    for (let k = 1 + (r() % 3); k > 0; k--) {
      const i = r() % (t.length + 1);
      const c = alphabet[r() % alphabet.length];
      const op = r() % 3;
      t = op === 0 ? t.slice(0, i) + c + t.slice(i) : op === 1 ? t.slice(0, i) + t.slice(i + 1) : t.slice(0, i) + c + t.slice(i + 1);
    }
    const a = parseIp(t);
    // node accepts zone ids ("%eth0"); tsvs does not.
    if (!t.includes('%')) assert.equal(a !== undefined, isIP(t) !== 0, JSON.stringify(t));
    if (a) {
      const c = formatIp(a);
      assert.ok(ipEquals(parseIp(c)!, a), t);
      assert.equal(formatIp(parseIp(c)!), c);
    }
  }
});

test('parsePrefix accepts ip/len and bare addresses, and refuses bad lengths and addresses', () => {
  assert.deepEqual(parsePrefix('10.0.0.0/8')?.prefixLen, 8);
  assert.deepEqual(parsePrefix('2001:db8::/32')?.prefixLen, 32);
  assert.equal(parsePrefix('10.0.0.1')?.prefixLen, 32);
  assert.equal(parsePrefix('::1')?.prefixLen, 128);
  for (const bad of ['10.0.0.0/33', '::/129', '10.0.0.0/08', '10.0.0.0/', '10.0.0.0/-1', '1..2.3/8', '10.0.0.0/8/8', '/8']) {
    assert.equal(parsePrefix(bad), undefined, bad);
  }
});

test('loopback: 127.0.0.0/8 and ::1 only', () => {
  for (const a of ['127.0.0.1', '127.255.0.9', '::1']) assert.equal(isLoopback(parseIp(a)!), true, a);
  for (const a of ['128.0.0.1', '0.0.0.0', '::', '::2', '::ffff:127.0.0.1', '10.127.0.1']) assert.equal(isLoopback(parseIp(a)!), false, a);
});

test('sameEndpoint compares endpoints, not their spelling', () => {
  assert.equal(sameEndpoint('[::1]:80', '[0:0::1]:80'), true);
  assert.equal(sameEndpoint('[2001:db8::1]:443', '[2001:0db8:0:0:0:0:0:1]:443'), true);
  assert.equal(sameEndpoint('127.0.0.1:80', '127.0.0.1:81'), false);
  assert.equal(sameEndpoint('127.0.0.1:80', '127.0.0.2:80'), false);
  assert.equal(sameEndpoint('127.0.0.1:80', 'localhost:80'), false, 'a text that is no endpoint matches nothing');
});
