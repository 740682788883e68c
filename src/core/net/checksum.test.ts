import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  applyDelta, applyDeltaPartial, checksum, crc32c, delta16, deltaBytes, fold16, ipv4HeaderChecksum, pseudoSum4, pseudoSum6,
  sctpChecksum, sum16,
} from './checksum.js';
import { fromHex } from '../packet/testing.js';
import { GOLDEN } from '../packet/golden-frames.js';

// Deterministic PRNG for property checks (xorshift32).
function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => { s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0; return s; };
}

test('RFC 1071 §3 numerical example: 00 01 f2 03 f4 f5 f6 f7 sums to 0xddf2, checksum 0x220d', () => {
  const b = fromHex('0001f203f4f5f6f7');
  assert.equal(fold16(sum16(b, 0, 8)), 0xddf2);
  assert.equal(checksum(b, 0, 8), 0x220d);
});

test('sum16 pads an odd trailing byte with zero and honours offset/length', () => {
  const b = fromHex('ff0102030405');
  assert.equal(sum16(b, 1, 1), 0x0100);
  assert.equal(sum16(b, 1, 3), 0x0102 + 0x0300);
  assert.equal(sum16(b, 0, 0, 7), 7);
});

test('sum16 over 64 KiB of 0xff does not lose carries', () => {
  const b = new Uint8Array(65536).fill(0xff);
  assert.equal(fold16(sum16(b, 0, b.length)), 0xffff);
  assert.equal(checksum(b, 0, b.length), 0);
});

test('RFC 1624 §4 example: m 0x5555 -> 0x3285 with HC 0xdd2f gives 0x0000 (eqn. 3), not 0xffff', () => {
  assert.equal(applyDelta(0xdd2f, delta16(0x5555, 0x3285)), 0x0000);
});

test('incremental updates equal full recomputation (RFC 1624) for random headers and address changes', () => {
  const r = rng(42);
  for (let n = 0; n < 2000; n++) {
    const b = new Uint8Array(40);
    for (let i = 0; i < 40; i++) b[i] = r() & 0xff;
    b[10] = 0; b[11] = 0;
    const c0 = checksum(b, 0, 40);
    b[10] = c0 >>> 8; b[11] = c0 & 0xff;
    const na = new Uint8Array(16);
    for (let i = 0; i < 16; i++) na[i] = r() & 0xff;
    const at = 12 + 2 * (r() % 7); // the 16 bytes stay inside the 40-byte header
    const d = deltaBytes(b, at, na, 0, 16);
    const inc = applyDelta(c0, d);
    for (let i = 0; i < 16; i++) b[at + i] = na[i];
    b[10] = 0; b[11] = 0;
    const full = checksum(b, 0, 40);
    // Both are valid ones'-complement encodings; RFC 1624 eqn. 3 never yields -0 unless the sum is 0.
    assert.ok(inc === full || (inc ^ full) === 0xffff, `n=${n}: ${inc} vs ${full}`);
  }
});

test('applyDeltaPartial moves an uncomplemented pseudo-header seed', () => {
  // seed = fold(pseudo sum) for 1.2.3.4 -> 5.6.7.8, proto 6, len 20; replacing dst by 9.9.9.9
  const a = fromHex('0102030405060708'), n = fromHex('09090909');
  const seed = fold16(pseudoSum4(a, 0, 4, 6, 20));
  const moved = applyDeltaPartial(seed, deltaBytes(a, 4, n, 0, 4));
  const b = fromHex('0102030409090909');
  assert.equal(moved, fold16(pseudoSum4(b, 0, 4, 6, 20)));
});

test('pseudo-header sums reproduce the TCP/UDP checksums scapy computed (golden in_A, in_B, in_E, in_F)', () => {
  for (const [name, fam] of [['in_A', 4], ['in_B', 4], ['in_E', 6], ['in_F', 6]] as const) {
    const f = fromHex(GOLDEN[name]);
    const ip = 14;
    const l4 = fam === 4 ? ip + 20 : ip + 40;
    const proto = fam === 4 ? f[ip + 9] : f[ip + 6];
    const n = f.length - l4;
    const csumOff = l4 + (proto === 6 ? 16 : 6);
    const want = (f[csumOff] << 8) | f[csumOff + 1];
    f[csumOff] = 0; f[csumOff + 1] = 0;
    const seed = fam === 4 ? pseudoSum4(f, ip + 12, ip + 16, proto, n) : pseudoSum6(f, ip + 8, ip + 24, proto, n);
    assert.equal(checksum(f, l4, n, seed), want, name);
  }
});

test('ipv4HeaderChecksum recomputes the golden header checksum', () => {
  const f = fromHex(GOLDEN.in_A);
  const want = (f[24] << 8) | f[25];
  f[24] = 0x12; f[25] = 0x34;
  ipv4HeaderChecksum(f, 14, 20);
  assert.equal((f[24] << 8) | f[25], want);
});

test('CRC32c check value of "123456789" is 0xe3069283 (RFC 3720 B.4)', () => {
  const b = new TextEncoder().encode('123456789');
  assert.equal(crc32c(b, 0, b.length), 0xe3069283);
});

test('sctpChecksum reproduces the CRC scapy stored in golden in_D (little-endian on the wire)', () => {
  const f = fromHex(GOLDEN.in_D);
  const l4 = 34;
  const want = Array.from(f.subarray(l4 + 8, l4 + 12));
  sctpChecksum(f, l4, f.length - l4);
  assert.deepEqual(Array.from(f.subarray(l4 + 8, l4 + 12)), want);
});
