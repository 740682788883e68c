import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseIp } from '../../core/net/addr.js';
import { SeededRandom } from '../../core/random.js';
import {
  PP2_SIGNATURE, decodeProxyHeader, encodeProxyV1, encodeProxyV2, type ProxyAddresses,
} from './proxy-protocol.js';

const v4: ProxyAddresses = { transport: 'tcp', src: parseIp('192.0.2.1')!, srcPort: 56324, dst: parseIp('198.51.100.7')!, dstPort: 443 };
const v6: ProxyAddresses = { transport: 'tcp', src: parseIp('2001:db8::1')!, srcPort: 1, dst: parseIp('2001:db8::2')!, dstPort: 65535 };

describe('PROXY protocol v1', () => {
  it('encodes the example of the spec (proxy-protocol.txt §2.1)', () => {
    assert.equal(encodeProxyV1(v4).toString(), 'PROXY TCP4 192.0.2.1 198.51.100.7 56324 443\r\n');
    assert.equal(encodeProxyV1(v6).toString(), 'PROXY TCP6 2001:db8::1 2001:db8::2 1 65535\r\n');
    assert.equal(encodeProxyV1(undefined).toString(), 'PROXY UNKNOWN\r\n');
  });

  it('round-trips and reports the header length, leaving the payload', () => {
    const buf = Buffer.concat([encodeProxyV1(v4), Buffer.from('GET / HTTP/1.0\r\n')]);
    const r = decodeProxyHeader(buf);
    assert.equal(r.status, 'ok');
    if (r.status !== 'ok') return;
    assert.equal(r.length, 45);
    assert.equal(r.header.addresses?.srcPort, 56324);
    assert.deepEqual([...r.header.addresses!.src.bytes], [192, 0, 2, 1]);
  });

  const bad: [string, string][] = [
    ['PROXY TCP4 1.2.3.4 5.6.7.8 1 2\n', 'bare LF'],
    ['PROXY TCP4 1.2.3.4  5.6.7.8 1 2\r\n', 'double space'],
    ['PROXY TCP4 1.2.3 5.6.7.8 1 2\r\n', 'short address'],
    ['PROXY TCP4 01.2.3.4 5.6.7.8 1 2\r\n', 'octal-looking octet'],
    ['PROXY TCP4 1.2.3.4 5.6.7.8 65536 2\r\n', 'port out of range'],
    ['PROXY TCP4 1.2.3.4 5.6.7.8 01 2\r\n', 'port with leading zero'],
    ['PROXY TCP4 ::1 ::2 1 2\r\n', 'family mismatch'],
    ['PROXY UDP4 1.2.3.4 5.6.7.8 1 2\r\n', 'unknown protocol'],
    ['PROXY TCP4 1.2.3.4 5.6.7.8 1 2 3\r\n', 'extra field'],
    ['proxy TCP4 1.2.3.4 5.6.7.8 1 2\r\n', 'lower-case signature'],
    [`PROXY UNKNOWN ${'x'.repeat(100)}\r\n`, 'longer than 107 bytes'],
  ];
  for (const [text, why] of bad) {
    it(`rejects ${why}`, () => assert.equal(decodeProxyHeader(Buffer.from(text)).status, 'invalid'));
  }

  it('asks for more bytes on every strict prefix of a valid header', () => {
    const h = encodeProxyV1(v6);
    for (let i = 1; i < h.length; i++) assert.equal(decodeProxyHeader(h.subarray(0, i)).status, 'incomplete', `prefix ${i}`);
  });
});

describe('PROXY protocol v2', () => {
  it('encodes TCP over IPv4 byte for byte (proxy-protocol.txt §2.2)', () => {
    const h = encodeProxyV2(v4);
    assert.deepEqual([...h.subarray(0, 12)], [...PP2_SIGNATURE]);
    assert.deepEqual([...h.subarray(12)], [0x21, 0x11, 0, 12, 192, 0, 2, 1, 198, 51, 100, 7, 0xdc, 0x04, 0x01, 0xbb]);
  });

  it('encodes UDP over IPv6 as DGRAM (0x22) and LOCAL without addresses', () => {
    const h = encodeProxyV2({ ...v6, transport: 'udp' });
    assert.equal(h[13], 0x22);
    assert.equal(h.readUInt16BE(14), 36);
    const local = encodeProxyV2(undefined);
    assert.deepEqual([...local.subarray(12)], [0x20, 0x00, 0, 0]);
  });

  it('round-trips addresses and TLVs', () => {
    const h = encodeProxyV2({ ...v6, transport: 'udp' }, [{ type: 0x04, value: Buffer.from('abc') }]);
    const r = decodeProxyHeader(Buffer.concat([h, Buffer.from('payload')]));
    assert.equal(r.status, 'ok');
    if (r.status !== 'ok') return;
    assert.equal(r.length, h.length);
    assert.equal(r.header.addresses?.transport, 'udp');
    assert.equal(r.header.addresses?.dstPort, 65535);
    assert.equal(r.header.tlvs[0].value.toString(), 'abc');
    const l = decodeProxyHeader(encodeProxyV2(undefined));
    assert.ok(l.status === 'ok' && l.header.command === 'local' && l.header.addresses === undefined);
  });

  it('rejects bad version, command, family, short length, broken TLVs and oversize headers', () => {
    const base = encodeProxyV2(v4);
    const mut = (i: number, v: number) => { const b = Buffer.from(base); b[i] = v; return b; };
    assert.equal(decodeProxyHeader(mut(12, 0x11)).status, 'invalid'); // version 1 in binary form
    assert.equal(decodeProxyHeader(mut(12, 0x22)).status, 'invalid'); // command 2
    assert.equal(decodeProxyHeader(mut(13, 0x41)).status, 'invalid'); // family 4
    assert.equal(decodeProxyHeader(mut(13, 0x13)).status, 'invalid'); // transport 3
    assert.equal(decodeProxyHeader(mut(15, 11)).status, 'invalid'); // shorter than the address block
    const tlv = Buffer.concat([base, Buffer.from([0x04, 0x00, 0x05, 0x61])]);
    tlv.writeUInt16BE(12 + 4, 14);
    assert.equal(decodeProxyHeader(tlv).status, 'invalid'); // TLV claims 5 bytes, has 1
    const big = Buffer.from(base); big.writeUInt16BE(4000, 14);
    assert.equal(decodeProxyHeader(big).status, 'invalid');
    assert.equal(decodeProxyHeader(mut(3, 0x0b)).status, 'invalid'); // signature
  });

  it('asks for more bytes on every strict prefix', () => {
    const h = encodeProxyV2(v6, [{ type: 1, value: Buffer.from('h2') }]);
    for (let i = 1; i < h.length; i++) assert.equal(decodeProxyHeader(h.subarray(0, i)).status, 'incomplete', `prefix ${i}`);
  });
});

describe('PROXY decoders under fuzzing', () => {
  it('never throw, and every ok verdict re-encodes to the same addresses (20k mutated inputs)', () => {
    const rng = new SeededRandom(12345);
    const seeds = [encodeProxyV1(v4), encodeProxyV1(v6), encodeProxyV2(v4), encodeProxyV2({ ...v6, transport: 'udp' }, [{ type: 5, value: Buffer.from('xyz') }])];
    let ok = 0;
    for (let i = 0; i < 20_000; i++) {
      const src = seeds[rng.nextU32() % seeds.length];
      const b = Buffer.from(src);
      const flips = 1 + (rng.nextU32() % 4);
      for (let f = 0; f < flips; f++) b[rng.nextU32() % b.length] = rng.nextU32() & 0xff;
      const cut = rng.nextU32() % 3 === 0 ? b.subarray(0, rng.nextU32() % (b.length + 1)) : b;
      const r = decodeProxyHeader(cut);
      if (r.status === 'ok') {
        ok++;
        assert.ok(r.length <= cut.length);
        const a = r.header.addresses;
        if (a && r.header.version === 2) {
          const again = decodeProxyHeader(encodeProxyV2(a));
          assert.ok(again.status === 'ok' && again.header.addresses?.srcPort === a.srcPort);
        }
        if (a && r.header.version === 1) {
          // Hex digits may differ in case; the addresses must survive a re-encode.
          const again = decodeProxyHeader(encodeProxyV1(a));
          assert.ok(again.status === 'ok');
          assert.deepEqual(again.header.addresses, a);
        }
      }
    }
    assert.ok(ok > 0, 'some mutations stay valid');
  });

  it('never throw on random bytes', () => {
    const rng = new SeededRandom(99);
    for (let i = 0; i < 5000; i++) {
      const n = rng.nextU32() % 300;
      const b = Buffer.alloc(n);
      for (let j = 0; j < n; j++) b[j] = rng.nextU32() & 0xff;
      if (n > 0 && rng.nextU32() % 2 === 0) b[0] = rng.nextU32() % 2 ? 0x50 : 0x0d;
      const r = decodeProxyHeader(b);
      assert.ok(r.status === 'ok' || r.status === 'invalid' || r.status === 'incomplete');
    }
  });
});
