import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatIp, parseIp } from '../../../core/net/addr.js';
import { decodeSockaddr, encodeSockaddr, ipv4SockaddrKey, writeIpv4Sockaddr } from './sockaddr.js';

function decoded(u8: Uint8Array, off: number): { ip: string; family: number; port: number } | undefined {
  const d = decodeSockaddr(u8, off);
  return d && { ip: formatIp(d.addr), family: d.addr.family, port: d.port };
}

describe('sockaddr encoding', () => {
  it('lays out sockaddr_in: family in host order, port and address in network order', () => {
    const b = encodeSockaddr(parseIp('198.18.0.7')!, 8080);
    assert.deepEqual([...b], [2, 0, 0x1f, 0x90, 198, 18, 0, 7, 0, 0, 0, 0, 0, 0, 0, 0]);
    assert.deepEqual(decoded(b, 0), { ip: '198.18.0.7', family: 4, port: 8080 });
  });

  it('lays out sockaddr_in6 (28 bytes, address at 8) and formats it canonically', () => {
    const b = encodeSockaddr(parseIp('2001:db8::1')!, 443);
    assert.equal(b.length, 28);
    assert.deepEqual([...b.subarray(0, 4)], [10, 0, 1, 0xbb]);
    assert.deepEqual(decoded(b, 0), { ip: '2001:db8::1', family: 6, port: 443 });
  });

  it('shows an IPv4-mapped IPv6 peer as IPv4, at any offset', () => {
    const mapped = encodeSockaddr(parseIp('::ffff:10.1.2.3')!, 5);
    const at = new Uint8Array(40);
    at.set(mapped, 7);
    assert.deepEqual(decoded(at, 7), { ip: '10.1.2.3', family: 4, port: 5 });
    // Only ::ffff:0:0/96 is mapped: ::1 and ::a.b.c.d (compatible, not mapped) stay IPv6.
    assert.deepEqual(decoded(encodeSockaddr(parseIp('::1')!, 5), 0), { ip: '::1', family: 6, port: 5 });
    assert.deepEqual(decoded(encodeSockaddr(parseIp('::fffe:10.1.2.3')!, 5), 0)?.family, 6);
  });

  it('gives one address object per IPv4 value, whether it came plain or mapped, and never shares the buffer it read', () => {
    const buf = encodeSockaddr(parseIp('198.18.3.4')!, 1000);
    const a = decodeSockaddr(buf, 0)!.addr;
    const b = decodeSockaddr(encodeSockaddr(parseIp('198.18.3.4')!, 2000), 0)!.addr;
    const mapped = decodeSockaddr(encodeSockaddr(parseIp('::ffff:198.18.3.4')!, 3000), 0)!.addr;
    assert.equal(a, b);
    assert.equal(a, mapped);
    assert.notEqual(decodeSockaddr(encodeSockaddr(parseIp('198.18.3.5')!, 1000), 0)!.addr, a);
    buf.fill(0);
    assert.equal(formatIp(a), '198.18.3.4', 'a copy of the bytes, not a view of the receive buffer');
  });

  it('an IPv4 sockaddr as one number and back (the native UDP key and reply address)', () => {
    const sa = encodeSockaddr(parseIp('255.18.0.7')!, 65535);
    const key = ipv4SockaddrKey(sa, 0);
    assert.equal(key, 0xff120007 * 65536 + 65535);
    const out = new Uint8Array(20).fill(0xaa);
    assert.equal(writeIpv4Sockaddr(out, 2, key), 16);
    assert.deepEqual([...out.subarray(2, 18)], [...sa]);
    assert.equal(ipv4SockaddrKey(encodeSockaddr(parseIp('2001:db8::1')!, 1), 0), -1);
  });

  it('answers undefined for other families (AF_UNIX)', () => {
    assert.equal(decodeSockaddr(new Uint8Array([1, 0, 0, 0]), 0), undefined);
  });
});
