import assert from 'node:assert/strict';
import { test } from 'node:test';
import { foldForFamily, hash32 } from './hash.js';

// Reference values computed with a throwaway Python script written from include/linux/hash.h:
// ((v * 0x61C88647) mod 2^32) >> (32 - bits), using Python's arbitrary-precision integers.
const VECTORS: [number, number, number][] = [
  [0, 8, 0],
  [1, 8, 97],
  [0x0a000001, 8, 39],
  [0xffffffff, 8, 158],
  [0xc0a80101, 10, 547],
  [12345, 32, 1590900175],
  [0x7f000001 + 443, 8, 208],
];

test('hash_32 matches independently computed vectors with multiplier 0x61C88647 (spec §1 sh)', () => {
  for (const [v, bits, want] of VECTORS) assert.equal(hash32(v, bits), want, `hash_32(0x${v.toString(16)}, ${bits})`);
});

test('address fold: IPv4 service reads the first word, IPv6 XORs the four words (spec §1 sh)', () => {
  assert.equal(foldForFamily(4, new Uint8Array([10, 0, 0, 1])), 0x0a000001);
  const v6 = new Uint8Array([0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
  assert.equal(foldForFamily(6, v6), (0x20010db8 ^ 1) >>> 0);
  assert.equal(foldForFamily(4, v6), 0x20010db8);
  assert.equal(foldForFamily(6, new Uint8Array([192, 168, 1, 1])), 0xc0a80101);
});
