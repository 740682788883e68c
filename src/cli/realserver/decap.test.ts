import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decapGue, decapIpip } from './decap.js';

// A 28-byte IPv4/UDP packet 198.18.5.7 -> 198.18.1.100 (header checksum not checked by the decapsulator).
const INNER4 = Buffer.from('4500001c0000400040110000c6120507c61201640035003500080000', 'hex');
// A 40-byte IPv6 header with no payload.
const INNER6 = Buffer.concat([Buffer.from('6000000000003b40', 'hex'), Buffer.alloc(32)]);

test('decapGue version 0, proto 4: inner IPv4 packet after the 4-byte header (spec §3.3 GUE)', () => {
  const msg = Buffer.concat([Buffer.from([0x00, 4, 0, 0]), INNER4]);
  assert.deepEqual(decapGue(msg), { start: 4, end: 32 });
});

test('decapGue skips hlen*4 bytes of options (remcsum private flags: hlen 2)', () => {
  const msg = Buffer.concat([Buffer.from([0x02, 4, 0x00, 0x01]), Buffer.alloc(8), INNER4]);
  assert.deepEqual(decapGue(msg), { start: 12, end: 40 });
});

test('decapGue proto 41 carries IPv6; trailing bytes beyond the IPv4 total length are trimmed', () => {
  assert.deepEqual(decapGue(Buffer.concat([Buffer.from([0, 41, 0, 0]), INNER6])), { start: 4, end: 44 });
  assert.deepEqual(decapGue(Buffer.concat([Buffer.from([0, 4, 0, 0]), INNER4, Buffer.alloc(6)])), { start: 4, end: 32 });
});

test('decapGue version 1 is the IP packet itself', () => {
  assert.deepEqual(decapGue(INNER4), { start: 0, end: 28 });
});

test('decapGue drops control messages, unknown protocols, short and inconsistent packets', () => {
  assert.deepEqual(decapGue(Buffer.concat([Buffer.from([0x20, 4, 0, 0]), INNER4])), { drop: 'gue-control' });
  assert.deepEqual(decapGue(Buffer.concat([Buffer.from([0x00, 47, 0, 0]), INNER4])), { drop: 'gue-proto' });
  assert.deepEqual(decapGue(Buffer.from([0x00, 4])), { drop: 'short' });
  assert.deepEqual(decapGue(Buffer.from([0x80, 4, 0, 0])), { drop: 'gue-version' });
  assert.deepEqual(decapGue(Buffer.concat([Buffer.from([0, 41, 0, 0]), INNER4])), { drop: 'inner-bad' });
  assert.deepEqual(decapGue(Buffer.concat([Buffer.from([0, 4, 0, 0]), INNER4.subarray(0, 24)])), { drop: 'inner-bad' });
});

test('decapIpip strips an outer IPv4 header of IHL*4 bytes, options included', () => {
  const outer = Buffer.from('45000030000040004004000001020304c6120b0b', 'hex');
  assert.deepEqual(decapIpip(Buffer.concat([outer, INNER4])), { start: 20, end: 48 });
  const withOpts = Buffer.from('46000034000040004004000001020304c6120b0b01010100', 'hex');
  assert.deepEqual(decapIpip(Buffer.concat([withOpts, INNER4])), { start: 24, end: 52 });
  const sixin4 = Buffer.from('45000044000040004029000001020304c6120b0b', 'hex');
  assert.deepEqual(decapIpip(Buffer.concat([sixin4, INNER6])), { start: 20, end: 60 });
  assert.deepEqual(decapIpip(Buffer.from('45000030000040004011000001020304c6120b0b', 'hex')), { drop: 'outer-proto' });
});

test('decapIpip honours the received length, not the buffer size', () => {
  const pkt = Buffer.alloc(2048);
  Buffer.concat([Buffer.from('45000030000040004004000001020304c6120b0b', 'hex'), INNER4]).copy(pkt);
  assert.deepEqual(decapIpip(pkt, 48), { start: 20, end: 48 });
  assert.deepEqual(decapIpip(pkt, 40), { drop: 'inner-bad' });
});
